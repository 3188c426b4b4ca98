"""IANA time zones: a store's, and the installation's (`ESL_TIME_ZONE`)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["check_time_zone"]


def check_time_zone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows (`Europe/Lisbon`), else
    `ValueError` naming it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {name!r}: an IANA name such as Europe/Warsaw or Europe/Lisbon"
        ) from error
    return name
