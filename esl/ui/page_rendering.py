"""Jinja2 templates shipped in the package, rendered with what every page needs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import get_decimal_symbol
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from esl.local_times import shown_instant, shown_time
from esl.settings import Settings
from esl.ui.access import may
from esl.ui.console_sessions import SignedIn
from pricing import round_to_minor_unit
from rendering.locale_zones import locale_time_zone

__all__ = ["TEMPLATES", "page"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# A page rendered without the app's settings (a test's, a report's) prints money as the
# default installation does.
DEFAULT_LOCALE: str = Settings.model_fields["locale"].default
# And shows times on its clock.
DEFAULT_ZONE: str = locale_time_zone(DEFAULT_LOCALE) or "UTC"


@pass_context
def _when(context: Context, value: datetime | None, *, utc: bool = False) -> Markup:
    """Every time a page shows: on the chain's clock (`ESL_TIME_ZONE`, else the locale's;
    the page's `zone`) with its offset, "2031-07-02 06:00 (+02:00)", as a pricing user in
    Warsaw typed it; with `utc`, where the instant itself is the point, the zone named and
    UTC beside it (`esl.local_times.shown_instant`). Before, pages showed UTC only: a
    Warsaw midnight change read 22:00 the day before. The `<time>` element keeps the
    instant for machines, ISO with its offset."""
    if value is None:
        return Markup("—")
    zone = context.get("zone") or DEFAULT_ZONE
    shown = shown_instant(value, zone) if utc else shown_time(value, zone)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(zone))
    return Markup('<time datetime="{}">{}</time>').format(local.isoformat(), shown)


@pass_context
def _money(context: Context, value: Decimal | None, currency: str) -> str:
    """An amount with the engine's decimals of `currency` (KWD 3, HUF 0, PLN 2), as the
    label prints it (docs/pricing.md): a fixed two printed 1.225 and 1.220 KWD alike.
    An amount finer than that (a label's price from before a currency change) is printed
    as it is, never rounded into another price. The decimal sign is the chain's locale's
    (`ESL_LOCALE`), the one its labels print: "3.49" in en_GB, "3,49" in pl_PL; a comma
    whatever the locale made an en_GB reader take 1,225 KWD for a thousand and more.
    No grouping: a sign between thousands could be read as the decimal one."""
    if value is None:
        return "—"
    exact = round_to_minor_unit(value, currency=currency)
    locale = context.get("locale") or DEFAULT_LOCALE
    return f"{exact if exact == value else value:f}".replace(".", get_decimal_symbol(locale))


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.filters["money"] = _money


def page(
    request: Request,
    template: str,
    *,
    user: SignedIn | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    principal = None if user is None else user.principal
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "user": principal,
            "csrf": None if user is None else user.csrf_token,
            "locale": request.app.state.context.settings.locale,
            "zone": request.app.state.context.settings.installation_time_zone or "UTC",
            "may": (lambda capability: principal is not None and may(principal, capability)),
            **values,
        },
        status_code=status_code,
    )
