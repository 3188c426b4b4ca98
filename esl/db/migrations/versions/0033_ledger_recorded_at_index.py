"""Ledger recorded-at index: every price writer reads the newest entry recorded.

A price writer reads the instant of its write once the price writers' lock is held and
never writes before the newest ledger entry recorded (`begin_price_write`): a writer that
waited for another, or whose clock is behind another worker's, would otherwise take the
other's entries for ones written ahead and delete them. That read is `max(recorded_at)`,
which the index answers without reading the ledger.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_entries_recorded_at", "ledger_entries", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_recorded_at", table_name="ledger_entries")
