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

__all__ = ["TEMPLATES", "page"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",")


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
