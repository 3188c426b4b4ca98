"""Validity windows `[valid_from, valid_until)`, either end open, always in aware UTC.

The engine takes instants in whatever zone they are written, and keeps them in UTC
(`in_utc`, once, where they enter: an entry, a window, the instant resolved). Python
compares two datetimes that share one tzinfo object by their wall clocks, ignoring
`fold`: in Europe/Warsaw on the October night the clock runs 02:00-03:00 twice, 02:20
CET (fold=1) is 40 minutes after 02:40 CEST, but compares as earlier.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from pricing.errors import EmptyValidityWindowError, InstantOutOfRangeError, NaiveDatetimeError

__all__ = [
    "Windowed",
    "in_utc",
    "keep_window_in_utc",
    "require_aware",
    "require_window",
    "window_contains",
    "windows_overlap",
]


def require_aware(value: datetime, *, field: str) -> None:
    """Refuse a naive datetime: "midnight" means nothing without a zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{field} must be timezone-aware", field=field, value=str(value))


def in_utc(value: datetime, *, field: str) -> datetime:
    """`value` in UTC; a naive one is refused, and so is one that is not in the calendar
    once in UTC (`9999-12-31T23:59:59-01:00`, `0001-01-01T00:00:00+01:00`): every place
    an instant enters calls this, so such a value is a refused input, not an
    OverflowError deep inside. Most instants are UTC already (the database's, the
    clock's): those are returned as they are."""
    if value.tzinfo is UTC:
        return value
    require_aware(value, field=field)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InstantOutOfRangeError(
            f"{field} {value.isoformat()} is outside years 1-9999 in UTC",
            field=field,
            value=value.isoformat(),
        ) from None


def require_window(
    *, item_id: str, valid_from: datetime | None, valid_until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """Both ends aware, and the window not empty: its ends, in UTC."""
    if valid_from is not None:
        valid_from = in_utc(valid_from, field="valid_from")
    if valid_until is not None:
        valid_until = in_utc(valid_until, field="valid_until")
    if valid_from is not None and valid_until is not None and valid_from >= valid_until:
        raise EmptyValidityWindowError(
            f"{item_id}: empty validity window [{valid_from}, {valid_until})",
            item_id=item_id,
            valid_from=valid_from.isoformat(),
            valid_until=valid_until.isoformat(),
        )
    return valid_from, valid_until


class Windowed(Protocol):
    """A frozen dataclass with an id and a validity window (a price rule, a promotion)."""

    @property
    def id(self) -> str: ...
    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...


def keep_window_in_utc(item: Windowed) -> None:
    """Check `item`'s window (`require_window`) and keep its ends in UTC, at construction:
    compared by wall clock in another zone, two instants across a fall-back hour order
    wrongly (Python ignores `fold` within one zone)."""
    valid_from, valid_until = require_window(
        item_id=item.id, valid_from=item.valid_from, valid_until=item.valid_until
    )
    if valid_from is not item.valid_from:
        object.__setattr__(item, "valid_from", valid_from)
    if valid_until is not item.valid_until:
        object.__setattr__(item, "valid_until", valid_until)


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
