"""Ledger withdrawals: an entry without amounts says the key had no price from then on.

A product delisted and relisted had no entry for the time it was off sale, so the price
in force when a reduction's 30-day window opened was taken to be its last price before
delisting, which was charged nobody in that window. From this revision a key that stops
having an applied price gets an entry with no amount, regular amount or currency
(`pricing.LedgerEntry.withdrawn`); existing rows are all prices and are left as they are.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import ExactDecimal

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_ledger = sa.table("ledger_entries", sa.column("amount", ExactDecimal()))


def upgrade() -> None:
    _set_nullable(True)


def downgrade() -> None:
    # The old schema cannot say "no price": its readers would take the price before a
    # withdrawal to run on. Refused rather than dropped, so no history is lost unseen.
    connection = op.get_bind()
    withdrawn = connection.execute(
        sa.select(sa.func.count()).select_from(_ledger).where(_ledger.c.amount.is_(None))
    ).scalar_one()
    if withdrawn:
        raise RuntimeError(
            f"the ledger holds {withdrawn} withdrawal(s) (entries without a price), which "
            "revision 0021 cannot store; the downgrade would lose when products were off sale"
        )
    _set_nullable(False)


def _set_nullable(nullable: bool) -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.alter_column("amount", existing_type=ExactDecimal(), nullable=nullable)
        batch.alter_column("regular_amount", existing_type=ExactDecimal(), nullable=nullable)
        batch.alter_column("currency", existing_type=sa.String(length=3), nullable=nullable)
