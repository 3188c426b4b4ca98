"""Label templates the pricing team uploads: layouts as data, bound to labels by name.

`standard` is not stored: it names the built-in template of each label's size class.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from esl.db.models import Base
from esl.db.types import UtcDateTime

__all__ = ["LabelTemplateRow"]


class LabelTemplateRow(Base):
    __tablename__ = "label_templates"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Bumped when the layout changes: part of every rendered image's cache key, so
    # labels bound to the template are drawn again at the next re-plan.
    version: Mapped[int] = mapped_column(Integer)
    size_class: Mapped[str | None] = mapped_column(String(16))
    # rendering.templates.template_from_dict input, with "id" = name and "version".
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))
