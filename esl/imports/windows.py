"""Validity windows: half-open [valid_from, valid_until), None meaning unbounded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pricing.windows import windows_overlap

__all__ = ["Window", "first_overlap"]

Window = tuple[datetime | None, datetime | None]


def first_overlap(windows: Iterable[tuple[Window, object]]) -> tuple[object, object] | None:
    """Two tags whose windows overlap, or None; sorting makes this O(n log n) per scope."""
    ordered = sorted(windows, key=lambda item: (item[0][0] is not None, item[0][0] or 0))
    latest_end: Window | None = None
    latest_tag: object = None
    for window, tag in ordered:
        if latest_end is not None and windows_overlap(*latest_end, *window):
            return latest_tag, tag
        if latest_end is None or _ends_later(window[1], latest_end[1]):
            latest_end, latest_tag = window, tag
    return None


def _ends_later(candidate: datetime | None, current: datetime | None) -> bool:
    if current is None:
        return False
    return candidate is None or candidate > current
