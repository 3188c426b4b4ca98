"""Label templates by name: `standard` (the built-in layout of each size class) or one the
pricing team uploaded. A binding names one; planning draws the label with it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.template_models import LabelTemplateRow
from esl.errors import InvalidItemError, NotFoundError
from rendering.display_models import DisplayModel
from rendering.errors import TemplateError
from rendering.templates import TEMPLATE_KEYS, Template, default_template, template_from_dict

__all__ = [
    "STANDARD",
    "TemplateMismatchError",
    "load_templates",
    "require_template",
    "save_template",
    "template_for",
]

STANDARD = "standard"


class TemplateMismatchError(TemplateError):
    """A template drawn for one size class, bound to a label of another."""


def save_template(
    session: Session, *, name: str, definition: Mapping[str, Any], by: str, now: datetime
) -> LabelTemplateRow:
    """Store (or replace) template `name`; the version goes up when the layout changes.

    The definition is checked exactly as rendering reads it (regions, boxes, fills); a
    bad one raises `InvalidItemError` with the reason and nothing is stored.
    """
    if name == STANDARD:
        raise InvalidItemError(f"{STANDARD!r} is the built-in template", field="name")
    row = session.get(LabelTemplateRow, name)
    version = 1 if row is None else row.version
    layout = {key: value for key, value in definition.items() if key not in ("id", "version")}
    if row is not None and row.definition != {**layout, "id": name, "version": version}:
        version += 1
    stored = {**layout, "id": name, "version": version}
    try:
        template = template_from_dict(stored)
    except TemplateError as error:
        raise InvalidItemError(error.message, field="definition") from error
    if row is None:
        row = LabelTemplateRow(name=name)
        session.add(row)
    row.version = version
    row.size_class = template.size_class.value if template.size_class else None
    row.definition = stored
    row.updated_at, row.updated_by = now, by
    session.flush()
    return row


def require_template(session: Session, name: str) -> None:
    """Refuse a binding to a template that does not exist."""
    if name != STANDARD and session.get(LabelTemplateRow, name) is None:
        raise NotFoundError("template", name)


def load_templates(session: Session, names: Collection[str]) -> dict[str, Template | TemplateError]:
    """The stored templates among `names` (`standard` needs no loading); a definition
    stored before a check it fails was added, as the error `template_for` raises."""
    wanted = sorted(set(names) - {STANDARD})
    if not wanted:
        return {}
    rows = session.scalars(select(LabelTemplateRow).where(LabelTemplateRow.name.in_(wanted)))
    return {row.name: _stored(row) for row in rows}


def _stored(row: LabelTemplateRow) -> Template | TemplateError:
    try:
        return template_from_dict(_known_keys(row.definition))
    except TemplateError as error:
        # Stored before such a value was refused ("inverted": "false", which bool() read
        # as true): its labels are left unplanned with the reason, not drawn as guessed,
        # and every other label is planned.
        return TemplateError(row.name, f"{error.reason}; put the template again")


def _known_keys(definition: Mapping[str, Any]) -> dict[str, Any]:
    # A definition stored before unknown top-level keys were refused may hold some; they
    # never meant anything, and must not stop its labels from being drawn now.
    return {key: value for key, value in definition.items() if key in TEMPLATE_KEYS}


def template_for(
    name: str, model: DisplayModel, stored: Mapping[str, Template | TemplateError]
) -> Template:
    """The template a label bound to `name` is drawn with; `TemplateError` if there is
    none by that name or it is made for another size of label."""
    if name == STANDARD:
        return default_template(model)
    template = stored.get(name)
    if template is None:
        raise TemplateError(name, "no such template")
    if isinstance(template, TemplateError):
        raise TemplateError(name, template.reason)
    if template.size_class is not None and template.size_class != model.size_class:
        raise TemplateMismatchError(
            name, f"made for {template.size_class.value} labels, not {model.id}"
        )
    return template
