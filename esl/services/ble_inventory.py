"""Record what associating a BLE label learned, and check it against the registration.

A label is registered (with its display model and key) before an access point associates
it. What the label itself reports over the ESL Service must agree with that registration:
a 2.13" label registered as a 2.9" one would be sent images it cannot show, so a
disagreement is refused rather than recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.ble_models import BleLabelInventoryRow
from esl.db.models import LabelModelRow, LabelRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import ConflictError
from gateways.ble.inventory import LabelInventoryRecord

__all__ = ["record_ble_association"]


def record_ble_association(
    session: Session, *, label_id: str, gateway: str, record: LabelInventoryRecord, now: datetime
) -> BleLabelInventoryRow:
    """Store (or refresh, after a re-association) what `record` says of `label_id`."""
    del now  # the record carries the instant of association
    label = row_or_not_found(session, LabelRow, label_id, "label")
    if label.gateway is not None and label.gateway != gateway:
        raise ConflictError(
            f"label {label_id} belongs to gateway {label.gateway}, not {gateway}", field="gateway"
        )
    model = session.get(LabelModelRow, label.model)
    assert model is not None  # a foreign key
    sizes = {(display.width, display.height) for display in record.displays}
    if (model.width, model.height) not in sizes:
        reported = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)) or "no display"
        raise ConflictError(
            f"label {label_id} is registered as {model.id} ({model.width}x{model.height}) "
            f"but reports {reported}",
            field="model",
        )
    address = record.esl_address
    taken = session.scalar(
        select(BleLabelInventoryRow.label_id).where(
            BleLabelInventoryRow.gateway == gateway,
            BleLabelInventoryRow.esl_group == address.group,
            BleLabelInventoryRow.esl_id == address.esl_id,
            BleLabelInventoryRow.label_id != label_id,
        )
    )
    if taken is not None:
        raise ConflictError(
            f"ESL address {address.group}/{address.esl_id} on {gateway} is {taken}'s",
            field="esl_address",
        )
    row = session.get(BleLabelInventoryRow, label_id) or BleLabelInventoryRow(label_id=label_id)
    row.gateway = gateway
    row.address = record.address
    row.esl_id = address.esl_id
    row.esl_group = address.group
    row.displays = [
        {"width": d.width, "height": d.height, "display_type": int(d.display_type)}
        for d in record.displays
    ]
    row.image_slots = record.image_slots
    row.leds = [{"srgb": led.srgb, "colour_bits": led.colour_bits} for led in record.leds]
    row.associated_at = record.associated_at
    session.add(row)
    session.flush()
    return row
