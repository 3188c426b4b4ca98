"""Label templates: the pricing team uploads layouts (JSON, docs/templates.md) by name;
labels are bound to them (`PUT /labels/{id}/binding` with `template`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from sqlalchemy import select

from esl.api.dependencies import (
    Ctx,
    CurrentSession,
    PricingTeam,
    Reader,
)
from esl.api.schemas import TemplateOut
from esl.db.template_models import LabelTemplateRow
from esl.services.templates import save_template

__all__ = ["router"]

router = APIRouter(tags=["labels"])  # every route here is in this section of the API docs
NamePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


@router.get("/templates", response_model=list[TemplateOut])
def list_templates(session: CurrentSession, _: Reader) -> list[LabelTemplateRow]:
    """Label templates uploaded by the pricing team (newest version of each)."""
    return list(session.scalars(select(LabelTemplateRow).order_by(LabelTemplateRow.name)))


@router.put("/templates/{name}", response_model=TemplateOut)
def put_template(
    name: NamePath,
    definition: Annotated[dict[str, Any], Body()],
    ctx: Ctx,
    session: CurrentSession,
    who: PricingTeam,
) -> LabelTemplateRow:
    """Store a layout; labels bound to it are drawn with the new version at the next
    re-plan. A definition rendering would refuse is a 422 with the reason."""
    return save_template(session, name=name, definition=definition, by=who.name, now=ctx.clock())
