"""Label models: the display models labels may be registered on.

A label is drawn by the renderer (`rendering.display_models.DISPLAY_MODELS`), which
knows each model's size and colours; the `label_models` table only names the ones an
installation uses. A model the renderer does not know, or a size or accent colour other
than the renderer's, would register labels that are never drawn (planning leaves them
blank) or drawn at a size the row does not say: both are refused where they would enter.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from esl.db.models import LabelModelRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import InvalidItemError
from rendering.display_models import DISPLAY_MODELS, DisplayModel

__all__ = ["drawn_label_model", "put_label_model"]


def put_label_model(
    session: Session, model_id: str, *, width: int, height: int, accent_colour: str | None
) -> LabelModelRow:
    """Register a display model the renderer draws, as it draws it (or say it again)."""
    model = _renderers_model(model_id)
    said = (width, height, accent_colour)
    drawn = (model.width, model.height, model.accent)
    if said != drawn:
        raise InvalidItemError(
            f"display model {model_id} is drawn {_described(*drawn)}, not {_described(*said)}",
            field="model",
            width=model.width,
            height=model.height,
            accent_colour=model.accent,
        )
    row = session.get(LabelModelRow, model_id) or LabelModelRow(id=model_id)
    row.width, row.height, row.accent_colour = drawn
    session.add(row)
    return row


def drawn_label_model(session: Session, model_id: str) -> LabelModelRow:
    """The registered label model `model_id`, which the renderer draws as registered;
    `NotFoundError` when it is not registered, `InvalidItemError` for a row the renderer
    cannot draw (one stored before this check)."""
    row = row_or_not_found(session, LabelModelRow, model_id, "label model")
    model = _renderers_model(model_id)
    if (row.width, row.height, row.accent_colour) != (model.width, model.height, model.accent):
        raise InvalidItemError(
            f"label model {model_id} is registered "
            f"{_described(row.width, row.height, row.accent_colour)}, but drawn "
            f"{_described(model.width, model.height, model.accent)}: put it again as drawn",
            field="model",
        )
    return row


def _renderers_model(model_id: str) -> DisplayModel:
    model = DISPLAY_MODELS.get(model_id)
    if model is None:
        raise InvalidItemError(
            f"no display model {model_id!r} the renderer draws "
            f"(known: {', '.join(sorted(DISPLAY_MODELS))})",
            field="model",
        )
    return model


def _described(width: int, height: int, accent_colour: str | None) -> str:
    return f"{width}x{height} with {'no accent' if accent_colour is None else accent_colour}"
