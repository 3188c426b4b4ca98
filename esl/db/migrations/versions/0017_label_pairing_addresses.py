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
    # Stored codes were parsed when registered: they parse again.
    addresses = {
        label_id: bare_address(PairingCode.parse(code).address) for label_id, code in coded
    }
    holders: dict[str, list[str]] = {}
    for label_id, address in addresses.items():
        holders.setdefault(address, []).append(label_id)
    shared = {address: ids for address, ids in holders.items() if len(ids) > 1}
    if shared:
        # Checked before any change: SQLite keeps an added column although the revision
        # fails later, and the upgrade could then not be run again.
        named = "; ".join(f"{a}: {', '.join(sorted(ids))}" for a, ids in sorted(shared.items()))
        raise RuntimeError(
            "labels whose pairing codes name one address (one code of each is not what is "
            f"printed on its label): {named}; correct or clear them, then upgrade again"
        )
    op.add_column("labels", sa.Column("pairing_address", sa.String(length=17), nullable=True))
    for label_id, address in addresses.items():
        connection.execute(
            labels.update().where(labels.c.id == label_id).values(pairing_address=address)
        )
    op.create_index("uq_labels_pairing_address", "labels", ["pairing_address"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_labels_pairing_address", table_name="labels")
    op.drop_column("labels", "pairing_address")
