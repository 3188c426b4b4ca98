"""Durations as operators type them: `30m`, `2h`, `90s`, `1d`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

from pricing.errors import EslError

__all__ = ["DurationError", "parse_duration"]

_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


class DurationError(EslError):
    """Not a duration like `30m`; carries the text refused."""

    code = "bad_duration"


def parse_duration(text: str) -> timedelta:
    cleaned = text.strip().lower()
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise DurationError(f"not a duration: {text!r} (write e.g. 30m, 2h, 1d, 1h30m)", text=text)
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))
