"""Instants the API takes: ISO 8601 text with a UTC offset, nothing else.

Pydantic would read `0.5` or `1796280000` as seconds since 1970 and a naive date-time as
local time; both silently mean something the caller did not. The docs promise an offset.
An instant that leaves the calendar in UTC (`9999-12-31T23:59:59-01:00`) is refused here
too, where it enters, instead of failing as an OverflowError wherever it is first used.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from esl.local_times import missing_offset_reason
from pricing.errors import InstantOutOfRangeError
from pricing.windows import in_utc

__all__ = ["Instant", "refuse_numbers", "refuse_outside_the_calendar"]

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
REASON = "an instant is ISO 8601 text with a UTC offset, e.g. 2026-05-01T00:00:00Z, not a number"


def refuse_numbers(value: object) -> object:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        raise ValueError(REASON)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError(REASON)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # pydantic names what is wrong with it
        if parsed.tzinfo is None:
            # No zone is known here to name the offset in (the files name it: `CsvRow`).
            raise ValueError(missing_offset_reason(repr(value), parsed, None))
    return value


def refuse_outside_the_calendar(value: datetime) -> datetime:
    try:
        in_utc(value, field="instant")
    except InstantOutOfRangeError:
        raise ValueError(f"{value.isoformat()} is outside years 1-9999 once in UTC") from None
    return value


Instant = Annotated[
    AwareDatetime, BeforeValidator(refuse_numbers), AfterValidator(refuse_outside_the_calendar)
]
