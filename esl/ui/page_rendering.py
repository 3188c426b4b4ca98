"""Jinja2 templates shipped in the package, rendered with what every page needs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from esl.ui.access import may
from esl.ui.console_sessions import SignedIn
from pricing import round_to_minor_unit

__all__ = ["TEMPLATES", "page"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _money(value: Decimal | None, currency: str) -> str:
    """An amount with the engine's decimals of `currency` (KWD 3, HUF 0, PLN 2), as the
    label prints it (docs/pricing.md): a fixed two printed 1.225 and 1.220 KWD alike.
    An amount finer than that (a label's price from before a currency change) is printed
    as it is, never rounded into another price."""
    if value is None:
        return "—"
    exact = round_to_minor_unit(value, currency=currency)
    return f"{exact if exact == value else value:f}".replace(".", ",")


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
            "may": (lambda capability: principal is not None and may(principal, capability)),
            **values,
        },
        status_code=status_code,
    )
