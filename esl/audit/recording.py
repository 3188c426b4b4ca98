"""Recording which price a rendered content shows, when the pipeline plans it.

The pipeline calls `record_label_content` for every content it plans (once per content
hash is enough; later calls for the same hash are ignored), in its own transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.audit_models import LabelContentRow
from pricing import ResolvedPrice
from rendering.content import LabelContent, content_to_dict

__all__ = ["record_label_content"]


def record_label_content(
    session: Session,
    *,
    content_hash: bytes | str,
    content: LabelContent,
    resolved: ResolvedPrice,
    at: datetime,
) -> bool:
    """Remember that the image `content_hash` shows `content`, priced by `resolved`.

    `content_hash` is rendering.encoding.content_hash of the rendered planes (bytes, or
    its hex form as the pipeline stores it). True when the hash was new.
    """
    digest = content_hash.hex() if isinstance(content_hash, bytes) else content_hash
    known = session.scalar(
        select(LabelContentRow.content_hash).where(LabelContentRow.content_hash == digest)
    )
    if known is not None:
        return False
    promotion = resolved.promotion
    session.add(
        LabelContentRow(
            content_hash=digest,
            content=content_to_dict(content),
            sku=resolved.sku,
            store=resolved.store,
            currency=resolved.currency,
            price=resolved.price.amount,
            regular_price=resolved.regular_price.amount,
            prior_price=content.prior_price,
            promotion_id=promotion.id if promotion else None,
            promotion_kind=promotion.kind.value if promotion else None,
            price_rule_id=resolved.price_rule_id,
            price_scope=resolved.price_scope.value,
            price_fingerprint=resolved.fingerprint,
            resolved_at=resolved.at,
            recorded_at=at,
        )
    )
    return True
