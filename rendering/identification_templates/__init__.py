"""The identification screens, one JSON template per display size class (docs/templates.md)."""
