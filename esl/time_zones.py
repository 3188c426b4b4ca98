"""IANA time zones: a store's, and the installation's (`ESL_TIME_ZONE`)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

__all__ = ["check_time_zone"]


def check_time_zone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows (`Europe/Lisbon`), else
    `ValueError` naming it.

    Only the IANA names of places count (`zoneinfo.available_timezones`, which leaves out
    `posixrules` and the `posix/` and `right/` copies, the latter counting leap seconds;
    less `localtime`, this machine's own zone under whatever name, and `Factory`, which
    names no place): `ZoneInfo` opens every file of the zone directory, and a store dated
    in one of those dates as no IANA name says.
    """
    if name not in _iana_names():
        raise ValueError(
            f"unknown time zone {name!r}: an IANA name such as Europe/Warsaw or Europe/Lisbon"
        )
    return name


@lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    # Read from the disk (or the tzdata package) once: the names do not change while running.
    return frozenset(available_timezones()) - _NOT_PLACES


_NOT_PLACES = frozenset({"localtime", "Factory"})
