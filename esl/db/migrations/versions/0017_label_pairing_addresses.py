"""Labels: pairing_address, the address a label's pairing code names, unique.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateways.ble.pairing_code import PairingCode, bare_address

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("labels", sa.Column("pairing_address", sa.String(length=17), nullable=True))
    labels = sa.table(
        "labels",
        sa.column("id", sa.String()),
        sa.column("pairing_code", sa.String()),
        sa.column("pairing_address", sa.String()),
    )
    connection = op.get_bind()
    coded = connection.execute(
        sa.select(labels.c.id, labels.c.pairing_code).where(labels.c.pairing_code.is_not(None))
    ).all()
    for label_id, code in coded:
        # Stored codes were parsed when registered: they parse again. Two labels naming
        # one address make the index below fail: resolve them by hand first.
        address = bare_address(PairingCode.parse(code).address)
        connection.execute(
            labels.update().where(labels.c.id == label_id).values(pairing_address=address)
        )
    op.create_index("uq_labels_pairing_address", "labels", ["pairing_address"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_labels_pairing_address", table_name="labels")
    op.drop_column("labels", "pairing_address")
