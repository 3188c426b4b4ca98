"""Ledger card_amount: what loyalty-card holders paid, for their card price's prior price.

A loyalty-card price is a price reduction for the card's members (UOKiK's explanations of
art. 4 of the PL act of 9 May 2014): its label shows the lowest price card holders paid in
the 30 days before it, the shelf prices and the earlier card prices alike. An entry kept
only its price (the regular price, for a card offer), so the ledger could not tell what
card holders paid. `card_amount` is the lower price they paid from the entry's instant
on; NULL when they paid `amount`. Rows stored before get NULL: no card price known, so
the card prices of those days count as the shelf price (the prior price of a card price
reads no lower than the shelf charged then).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-08 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import ExactDecimal

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("card_amount", ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("card_amount")
