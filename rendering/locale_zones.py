"""The time zone a locale's labels date a promotion's last day in, where neither the
store (`stores.time_zone`) nor the installation (`ESL_TIME_ZONE`) names one.

A locale names a country, not a zone: the zone is knowable only where the country has one
(de_AT: Europe/Vienna, en_IE: Europe/Dublin). A country of several zones (en_US, pt_PT:
Lisbon, Madeira, the Azores) or a locale of no country (`de`) has no locale zone, and no
zone is guessed for it: a label dated in the wrong one tells the shopper a promotion
ended a day early (docs/templates.md `timezone`).
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from babel.core import get_global

__all__ = ["LOCALE_TIMEZONES", "locale_time_zone"]

# Looked up before the country: the supported locales, spelt out, and Germany's, whose
# country has a second zone in CLDR (Büsingen, an exclave) while its labels hang in Berlin.
LOCALE_TIMEZONES = {
    "pl_PL": "Europe/Warsaw",
    "en_GB": "Europe/London",
    "de_DE": "Europe/Berlin",
}


@lru_cache(maxsize=256)
def locale_time_zone(locale: str) -> str | None:
    """The IANA zone `locale`'s labels date in: its `LOCALE_TIMEZONES` entry, else the
    one zone of its country (CLDR, through Babel), else None (a country of several zones,
    no country, an unknown locale, or a zone this machine does not know)."""
    if locale in LOCALE_TIMEZONES:
        return LOCALE_TIMEZONES[locale]
    try:
        territory = Locale.parse(locale).territory
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    zones = get_global("territory_zones").get(territory or "", [])
    if len(zones) != 1 or zones[0] not in available_timezones():
        return None
    return str(zones[0])
