"""What a publication stores, counted: a refused one must leave every count as it was."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import (
    LedgerEntryRow,
    PriceRuleRow,
    PromotionRow,
    PromotionTargetRow,
    PublicationItemRow,
    PublicationRow,
)

__all__ = ["publication_row_counts"]

# Every table a posted, validated or published publication writes to.
_TABLES = (
    PublicationRow,
    PublicationItemRow,
    PromotionRow,
    PromotionTargetRow,
    PriceRuleRow,
    LedgerEntryRow,
)


def publication_row_counts(engine: Engine) -> dict[str, int]:
    """Rows in each table a publication writes to, by table name."""
    with session_factory(engine)() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in _TABLES
        }
