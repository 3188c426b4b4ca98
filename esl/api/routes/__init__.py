"""One router per resource family, all mounted under /api/v1."""
