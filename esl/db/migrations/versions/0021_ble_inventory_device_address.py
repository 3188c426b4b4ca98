"""BLE inventory: device_address, the label's BLE address as one device compares, unique.

Two inventory rows at one BLE address are two label records for one panel: the device
holds the key written last, so the controller sends both labels' prices to it (one of
them refused, unseen) and the exported labels file stops the store gateway. From this
revision the database keeps one row per device; rows that share one stop the upgrade,
named, before anything changes (which record is the device's is for a person to say).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateways.ble.pairing_code import bare_address

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_inventory = sa.table(
    "ble_label_inventory",
    sa.column("label_id", sa.String()),
    sa.column("address", sa.String()),
    sa.column("device_address", sa.String()),
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_inventory.c.label_id, _inventory.c.address)).all()
    devices = {label_id: bare_address(address) for label_id, address in rows}
    holders: dict[str, list[str]] = {}
    for label_id, device in devices.items():
        holders.setdefault(device, []).append(label_id)
    shared = {device: ids for device, ids in holders.items() if len(ids) > 1}
    if shared:
        # Checked before any change: SQLite keeps an added column although the revision
        # fails later, and the upgrade could then not be run again.
        named = "; ".join(f"{d}: {', '.join(sorted(ids))}" for d, ids in sorted(shared.items()))
        raise RuntimeError(
            "BLE inventory rows that put two labels at one device (the device holds the key "
            f"written last): {named}; delete the rows of the labels not on that device "
            "(and associate those labels again), then upgrade again"
        )
    op.add_column(
        "ble_label_inventory", sa.Column("device_address", sa.String(length=17), nullable=True)
    )
    for label_id, device in devices.items():
        connection.execute(
            _inventory.update()
            .where(_inventory.c.label_id == label_id)
            .values(device_address=device)
        )
    with op.batch_alter_table("ble_label_inventory") as batch:
        batch.alter_column("device_address", existing_type=sa.String(length=17), nullable=False)
    op.create_index(
        "uq_ble_inventory_device_address", "ble_label_inventory", ["device_address"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_ble_inventory_device_address", table_name="ble_label_inventory")
    with op.batch_alter_table("ble_label_inventory") as batch:
        batch.drop_column("device_address")
