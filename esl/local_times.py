"""Why a local time written without its UTC offset is refused, and what to write instead.

The files and the API take instants with an offset only (docs/csv-formats.md). A time
without one is refused; the reason gives the offset that time has on its date in the zone
of the clock it was written on (a file's line: the chain's, or the one store's it names,
`esl.imports.references.ImportReferences.clock_of`), never one fixed offset: Warsaw
is +01:00 in winter and +02:00 in summer, and on the nights the clocks change a time may
not exist (the spring night's 02:30) or come twice (the autumn night's 02:30), which the
reason says rather than picking one.

The console's "Publish at" field (a browser's `datetime-local`, which can hold no offset)
is read on the chain's clock (`local_instant`), and refused in the same words on those
nights: a time no clock shows names no instant, and of a time shown twice the field
cannot say which is meant. And every time the console shows is on that clock too, with
the offset it has then (`shown_time`: "2031-07-02 06:00 (+02:00)"), and where the instant
itself is the point (a refusal, a preview's start) the zone named and UTC beside it
(`shown_instant`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "UnclearLocalTime",
    "local_instant",
    "missing_offset_reason",
    "shown_instant",
    "shown_time",
    "unclear_local_time",
]

_MINUTE = timedelta(minutes=1)


def missing_offset_reason(written: str, value: datetime, zone: str | None) -> str:
    """The reason `written` (what names the text: "valid_from '2027-07-01T00:00:00'"),
    read as the naive `value`, is refused: the offset `value` has in `zone` (an IANA
    name; None: no zone to name one in)."""
    refused = f"{written} has no UTC offset"
    if zone is None:
        return (
            f"{refused}: write the offset local time has on that date (it changes with "
            "summer time), or the instant in UTC with Z"
        )
    unclear = unclear_local_time(value, zone)
    if unclear is not None:
        advice = (
            "write the instant meant with its offset, or in UTC with Z"
            if unclear.skipped
            else "write the one meant"
        )
        return f"{refused}, and {unclear.why}; {advice}"
    return (
        f"{refused}: in {zone} it is {local_instant(value, zone).isoformat()}; write that, "
        "or the instant in UTC with Z"
    )


def local_instant(value: datetime, zone: str) -> datetime:
    """The instant a clock in `zone` shows the naive `value` at, with the offset it has
    then; on the nights the clocks change check `unclear_local_time` first (this answers
    the earlier reading of a time shown twice, and a time no clock shows read with the
    offset before the change)."""
    return value.replace(tzinfo=ZoneInfo(zone), fold=0)


def shown_time(instant: datetime, zone: str) -> str:
    """`instant` as a clock in `zone` shows it, with the offset it has then:
    "2031-07-02 06:00 (+02:00)" in Europe/Warsaw for 04:00 UTC (seconds only when there
    are some). The offset makes the reading one instant on the autumn night too."""
    local = _aware(instant).astimezone(ZoneInfo(zone))
    return f"{_clock_reading(local)} ({_offset(local.utcoffset() or timedelta(0))})"


def shown_instant(instant: datetime, zone: str) -> str:
    """`instant` on a clock in `zone`, the zone named, and in UTC: "2031-07-02 00:00
    Europe/Warsaw (+02:00), that is 2031-07-01 22:00 UTC"; for where the instant itself is
    the point (a refusal saying it passed, the start a preview promises)."""
    local = shown_time(instant, zone)
    utc = _clock_reading(_aware(instant).astimezone(UTC))
    if zone == "UTC":
        return f"{utc} UTC"
    return f"{local[:-9]} {zone} {local[-8:]}, that is {utc} UTC"


def _clock_reading(instant: datetime) -> str:
    # Seconds only when there are some: a whole minute, as typed, reads as typed; one
    # between minutes is not shown as the minute before.
    if instant.second or instant.microsecond:
        return instant.strftime("%Y-%m-%d %H:%M:%S")
    return instant.strftime("%Y-%m-%d %H:%M")


def _aware(instant: datetime) -> datetime:
    # The database's instants are UTC (`esl.db.types.UtcDateTime`); one without its zone
    # is one of those, never a time on the machine's own clock.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


@dataclass(frozen=True)
class UnclearLocalTime:
    """Why a local time names no one instant: `why` says it ("no clock in Europe/Warsaw
    shows it: …", "in Europe/Warsaw it comes twice: …"); `skipped`: no clock shows it (else
    it comes twice)."""

    why: str
    skipped: bool


def unclear_local_time(value: datetime, zone: str) -> UnclearLocalTime | None:
    """Why the naive `value` names no one instant on a clock in `zone` (an IANA name):
    no clock there shows it (the spring night's gap: "no clock in Europe/Warsaw shows it:
    that night the clocks go from 02:00 (+01:00) to 03:00 (+02:00)"), or it comes twice
    (the autumn night: "in Europe/Warsaw it comes twice: …+02:00, then an hour later
    …+01:00"); None when it names one."""
    place = ZoneInfo(zone)
    earlier = value.replace(tzinfo=place, fold=0)
    later = value.replace(tzinfo=place, fold=1)
    before, after = earlier.utcoffset(), later.utcoffset()
    if before == after or before is None or after is None:
        return None
    if _shown(earlier, place) != value:
        start, end = _skipped(earlier, later, place)
        return UnclearLocalTime(
            f"no clock in {zone} shows it: that night the clocks go from "
            f"{start:%H:%M} ({_offset(before)}) to {end:%H:%M} ({_offset(after)})",
            skipped=True,
        )
    first, second = sorted((earlier, later), key=lambda instant: instant.astimezone(UTC))
    return UnclearLocalTime(
        f"in {zone} it comes twice: {first.isoformat()}, then "
        f"{_span(abs(after - before))} later {second.isoformat()}",
        skipped=False,
    )


def _shown(instant: datetime, place: ZoneInfo) -> datetime:
    """What a clock in `place` shows at `instant`, without its zone."""
    return instant.astimezone(UTC).astimezone(place).replace(tzinfo=None)


def _skipped(earlier: datetime, later: datetime, place: ZoneInfo) -> tuple[datetime, datetime]:
    """The local times a clock in `place` jumps from and to in the gap around `earlier`
    (read with the offset before the change) and `later` (with the one after)."""
    low, high = sorted((earlier.astimezone(UTC), later.astimezone(UTC)))
    before = low.astimezone(place).utcoffset()
    change = low
    while change <= high and change.astimezone(place).utcoffset() == before:
        change += _MINUTE
    jumped = change.astimezone(place)
    return (change - _MINUTE).astimezone(place) + _MINUTE, jumped


def _offset(offset: timedelta) -> str:
    minutes = int(offset / _MINUTE)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _span(span: timedelta) -> str:
    minutes = int(span / _MINUTE)
    if minutes == 60:
        return "an hour"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"
