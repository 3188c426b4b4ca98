"""Jinja2 templates shipped in the package, rendered with what every page needs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import get_decimal_symbol
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.templating import Jinja2Templates

from esl.settings import Settings
from esl.ui.access import may
from esl.ui.console_sessions import SignedIn
from pricing import round_to_minor_unit

__all__ = ["TEMPLATES", "page"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# A page rendered without the app's settings (a test's, a report's) prints money as the
# default installation does.
DEFAULT_LOCALE: str = Settings.model_fields["locale"].default


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _local_when(value: datetime, zone: str) -> str:
    """`value` as a clock in `zone` shows it, the zone and its offset then named:
    "2031-07-02 06:00 Europe/Warsaw (+02:00)" (seconds only when there are some)."""
    local = value.astimezone(ZoneInfo(zone))
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
    return f"{shown} {zone} ({local.isoformat(timespec='minutes')[-6:]})"


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
TEMPLATES.env.filters["local_when"] = _local_when
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
            "may": (lambda capability: principal is not None and may(principal, capability)),
            **values,
        },
        status_code=status_code,
    )
