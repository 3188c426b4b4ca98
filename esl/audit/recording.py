"""Recording which price a rendered content shows, when the pipeline plans it.

The pipeline records every content it plans (once per content hash is enough; later
records of the same hash are ignored), in its own transaction: `record_label_contents`
for a planning chunk, `record_label_content` for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from esl.db.audit_models import LabelContentRow
from esl.db.models import core_table
from esl.db.repositories import in_chunks
from pricing import ResolvedPrice
from rendering.content import LabelContent, content_to_dict

__all__ = ["PlannedContent", "record_label_content", "record_label_contents"]

_TABLE = core_table(LabelContentRow)


@dataclass(frozen=True, slots=True)
class PlannedContent:
    """An image's content hash (bytes, or its hex form as the pipeline stores it), the
    content it shows and the resolved price behind it."""

    content_hash: bytes | str
    content: LabelContent
    resolved: ResolvedPrice

    @property
    def digest(self) -> str:
        digest = self.content_hash
        return digest.hex() if isinstance(digest, bytes) else digest


def record_label_content(
    session: Session,
    *,
    content_hash: bytes | str,
    content: LabelContent,
    resolved: ResolvedPrice,
    at: datetime,
) -> bool:
    """Remember that the image `content_hash` shows `content`, priced by `resolved`.

    `content_hash` is rendering.encoding.content_hash of the rendered planes. True when
    the hash was new.
    """
    return bool(
        record_label_contents(session, [PlannedContent(content_hash, content, resolved)], at=at)
    )


def record_label_contents(
    session: Session, planned: Sequence[PlannedContent], *, at: datetime
) -> int:
    """Record every content whose hash is not recorded yet; the number recorded."""
    wanted = {item.digest: item for item in planned}
    ordered = sorted(wanted)
    known: set[str] = set()
    for chunk in in_chunks(ordered):
        known.update(
            session.scalars(select(_TABLE.c.content_hash).where(_TABLE.c.content_hash.in_(chunk)))
        )
    rows = [_row(digest, wanted[digest], at) for digest in ordered if digest not in known]
    if rows:
        session.execute(insert(_TABLE), rows)
    return len(rows)


def _row(digest: str, item: PlannedContent, at: datetime) -> dict[str, Any]:
    resolved, content = item.resolved, item.content
    promotion = resolved.promotion
    return {
        "content_hash": digest,
        "content": content_to_dict(content),
        "sku": resolved.sku,
        "store": resolved.store,
        "currency": resolved.currency,
        "price": resolved.price.amount,
        "regular_price": resolved.regular_price.amount,
        "prior_price": content.prior_price,
        "promotion_id": promotion.id if promotion else None,
        "promotion_kind": promotion.kind.value if promotion else None,
        "price_rule_id": resolved.price_rule_id,
        "price_scope": resolved.price_scope.value,
        "price_fingerprint": resolved.fingerprint,
        "resolved_at": resolved.at,
        "recorded_at": at,
    }
