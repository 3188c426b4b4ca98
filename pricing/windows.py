"""Validity windows `[valid_from, valid_until)`, either end open, always in aware UTC."""

from __future__ import annotations

from datetime import datetime

from pricing.errors import EmptyValidityWindowError, NaiveDatetimeError

__all__ = ["require_aware", "require_window", "window_contains", "windows_overlap"]


def require_aware(value: datetime, *, field: str) -> None:
    """Refuse a naive datetime: "midnight" means nothing without a zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{field} must be timezone-aware", field=field, value=str(value))


def require_window(
    *, item_id: str, valid_from: datetime | None, valid_until: datetime | None
) -> None:
    """Both ends aware, and the window not empty."""
    if valid_from is not None:
        require_aware(valid_from, field="valid_from")
    if valid_until is not None:
        require_aware(valid_until, field="valid_until")
    if valid_from is not None and valid_until is not None and valid_from >= valid_until:
        raise EmptyValidityWindowError(
            f"{item_id}: empty validity window [{valid_from}, {valid_until})",
            item_id=item_id,
            valid_from=valid_from.isoformat(),
            valid_until=valid_until.isoformat(),
        )


def window_contains(
    valid_from: datetime | None, valid_until: datetime | None, at: datetime
) -> bool:
    return (valid_from is None or valid_from <= at) and (valid_until is None or at < valid_until)


def windows_overlap(
    a_from: datetime | None,
    a_until: datetime | None,
    b_from: datetime | None,
    b_until: datetime | None,
) -> bool:
    """Half-open windows overlap when each starts before the other ends."""
    a_starts_before_b_ends = b_until is None or a_from is None or a_from < b_until
    b_starts_before_a_ends = a_until is None or b_from is None or b_from < a_until
    return a_starts_before_b_ends and b_starts_before_a_ends
