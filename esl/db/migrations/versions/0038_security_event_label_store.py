"""Security events: the store of the label an event names, beside the topic's store.

An answer of one store's label replayed on another store's `up` topic was recorded under
the topic's store alone, with the label's id, sequence and store in it: that store's key
read another store's label, and the label's own store was not told. `label_store` is the
store of the registered label the event names, from which the label's store reads the
event in full and the topic's store reads it without the label (docs/api.md). Rows
written before keep none: which store their label was in when they were written is not
recorded anywhere.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("security_events") as batch:
        batch.add_column(sa.Column("label_store", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("security_events") as batch:
        batch.drop_column("label_store")
