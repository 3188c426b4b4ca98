"""The built-in label templates, one JSON file per display size class (see docs/templates.md)."""
