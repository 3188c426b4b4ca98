"""What the audit needs beyond the pipeline's tables: which price a content hash shows.

The pipeline knows the content hash a label confirmed; `label_contents` traces that hash
back to the label content that was rendered and the store-channel price it came from,
so an audit can say what price a shelf shows without decoding pixels.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from esl.db.models import Base
from esl.db.types import ExactDecimal, UtcDateTime

__all__ = ["LabelContentRow"]


class LabelContentRow(Base):
    """One rendered label content, by the content hash of its image (first recording wins)."""

    __tablename__ = "label_contents"

    content_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    # rendering.content.content_to_dict: re-rendered for the report's "what it shows".
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    sku: Mapped[str] = mapped_column(String(64))
    store: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    regular_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    # The Omnibus prior price printed on the label (None: no reduction announced).
    prior_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    promotion_id: Mapped[str | None] = mapped_column(String(64))
    promotion_kind: Mapped[str | None] = mapped_column(String(32))
    price_rule_id: Mapped[str] = mapped_column(String(96))
    price_scope: Mapped[str] = mapped_column(String(16))
    # ResolvedPrice.fingerprint: equal to the due price's fingerprint = the same label prices.
    price_fingerprint: Mapped[str] = mapped_column(String(32))
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
