"""What association over Bluetooth LE learned about each BLE label.

The ESL Service tells an access point where a label is (its BLE address and the ESL
address it was given) and what it can do (displays, image slots, LEDs). The BLE driver
needs the addresses to reach a label again; staff and the API want the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esl.db.models import Base
from esl.db.types import UtcDateTime

__all__ = ["BleAddressReservationRow", "BleLabelInventoryRow"]


class BleLabelInventoryRow(Base):
    __tablename__ = "ble_label_inventory"
    # One ESL address per label within one access point (the gateway).
    __table_args__ = (
        UniqueConstraint("gateway", "esl_group", "esl_id", name="uq_ble_inventory_esl_address"),
        # One row per device: two labels at one BLE address are two records for one panel.
        Index("uq_ble_inventory_device_address", "device_address", unique=True),
    )

    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(32))
    # `address` as two spellings of one device compare (`bare_address`: upper case, no /P).
    device_address: Mapped[str] = mapped_column(String(17))
    esl_id: Mapped[int] = mapped_column(Integer)
    esl_group: Mapped[int] = mapped_column(Integer)
    # [{"width", "height", "display_type"}], as Display Information lists them.
    displays: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    image_slots: Mapped[int] = mapped_column(Integer)
    # [{"srgb", "colour_bits"}], as LED Information lists them.
    leds: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    associated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BleAddressReservationRow(Base):
    """An ESL address an association kit gave a label, held for that label until the
    association is recorded or the kit expires: two kits for one gateway never hand out
    one address twice (two labels at one address would both show what is sent to it)."""

    __tablename__ = "ble_address_reservations"

    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    esl_group: Mapped[int] = mapped_column(Integer, primary_key=True)
    esl_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
