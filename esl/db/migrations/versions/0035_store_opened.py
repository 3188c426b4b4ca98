"""Store opened: since when each store sells, stored as what it is.

A store's opening was its first store version's instant, so on a new installation every
store loaded from the store file or PUT /api/v1/stores opened at install time, and for 30
days each reduction on its shelves was captioned "the lowest since it went on sale", even
where the chain had imported years of price history for it. `stores.opened` is now the
opening itself: given by the store file or the API, moved back by imported history that
proves the store sold earlier (`esl import history`). Existing stores get their first
version's instant (the epoch for those stored before versions were kept, 0029), or their
earliest imported store-shelf price when that is earlier (a withdrawal charged nothing);
a store without versions keeps NULL: as far as anyone knows it always sold.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_stores = sa.table("stores", sa.column("code", sa.String()), sa.column("opened", UtcDateTime()))
_versions = sa.table(
    "store_versions", sa.column("store", sa.String()), sa.column("valid_from", UtcDateTime())
)
_ledger = sa.table(
    "ledger_entries",
    sa.column("store", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("source", sa.String()),
    sa.column("effective_at", UtcDateTime()),
    sa.column("amount", sa.Numeric()),
)


def upgrade() -> None:
    op.add_column("stores", sa.Column("opened", UtcDateTime(), nullable=True))
    first_version = (
        sa.select(sa.func.min(_versions.c.valid_from))
        .where(_versions.c.store == _stores.c.code)
        .scalar_subquery()
    )
    op.execute(_stores.update().values(opened=first_version))
    # One read of the ledger, once: imported shelf prices before a store's first version
    # prove it sold then.
    earliest_history = (
        sa.select(sa.func.min(_ledger.c.effective_at))
        .where(
            _ledger.c.store == _stores.c.code,
            _ledger.c.channel == "store",
            _ledger.c.source == "history",
            _ledger.c.amount.is_not(None),  # a withdrawal charged nothing
        )
        .scalar_subquery()
    )
    op.execute(
        _stores.update()
        .where(_stores.c.opened.is_not(None), earliest_history < _stores.c.opened)
        .values(opened=earliest_history)
    )


def downgrade() -> None:
    op.drop_column("stores", "opened")
