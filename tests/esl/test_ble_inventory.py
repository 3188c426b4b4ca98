"""Associating a BLE label records where it is and what it can do, if it is what was registered."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from esl.db.ble_models import BleLabelInventoryRow
from esl.db.engine import session_factory
from esl.db.models import GatewayRow, LabelModelRow, LabelRow
from esl.errors import ConflictError
from esl.services.ble_inventory import record_ble_association
from gateways.ble.control_point import EslAddress
from gateways.ble.esl_service import DisplayType
from gateways.ble.inventory import LabelInventoryRecord
from tests.gateways.ble.ble_store import (
    address_of,
    associate,
    key_of,
    label_id_of,
    make_store,
)
from tests.support.database import START

GATEWAY = "S01-ble0"


def _register(engine: Engine, label_id: str, *, model: str) -> None:
    with session_factory(engine).begin() as session:
        if session.get(GatewayRow, GATEWAY) is None:
            session.add(GatewayRow(id=GATEWAY, store="S01", transport="ble", name="adapter 0"))
        if session.get(LabelModelRow, "2.13-bwr") is None:
            session.add(LabelModelRow(id="2.13-bwr", width=250, height=122, accent_colour="red"))
        session.flush()
        session.add(
            LabelRow(
                id=label_id,
                store="S01",
                model=model,
                gateway=GATEWAY,
                secret_key=key_of(label_id),
                registered_at=START,
            )
        )


async def _associate(index: int) -> LabelInventoryRecord:
    store = make_store(index, associated=False)
    return await associate(
        store,
        address_of(index),
        esl_address=EslAddress(esl_id=index, group=2),
        label_key=key_of(label_id_of(index)),
    )


async def test_an_associated_label_is_recorded_with_its_address_and_abilities(
    seeded: Engine,
) -> None:
    label_id = label_id_of(1)
    _register(seeded, label_id, model="2.9-bwr")
    record = await _associate(1)
    with session_factory(seeded).begin() as session:
        record_ble_association(
            session, label_id=label_id, gateway=GATEWAY, record=record, now=START
        )
    with session_factory(seeded)() as session:
        row = session.get(BleLabelInventoryRow, label_id)
        assert row is not None
        assert (row.address, row.esl_group, row.esl_id) == (address_of(1), 2, 1)
        assert row.displays == [
            {"width": 296, "height": 128, "display_type": int(DisplayType.RED_BLACK_WHITE)}
        ]
        assert row.image_slots == record.image_slots
        assert row.leds == [{"srgb": True, "colour_bits": 3}]


async def test_a_label_reporting_another_display_than_registered_is_refused(
    seeded: Engine,
) -> None:
    label_id = label_id_of(1)
    _register(seeded, label_id, model="2.13-bwr")  # the box said 2.13", the label is 2.9"
    record = await _associate(1)
    with session_factory(seeded).begin() as session, pytest.raises(ConflictError) as refused:
        record_ble_association(
            session, label_id=label_id, gateway=GATEWAY, record=record, now=START
        )
    assert "reports 296x128" in refused.value.message
    with session_factory(seeded)() as session:
        assert session.get(BleLabelInventoryRow, label_id) is None


async def test_two_labels_cannot_share_an_esl_address_on_one_access_point(seeded: Engine) -> None:
    first, second = label_id_of(1), label_id_of(2)
    _register(seeded, first, model="2.9-bwr")
    _register(seeded, second, model="2.9-bwr")
    record = await _associate(1)
    with session_factory(seeded).begin() as session:
        record_ble_association(session, label_id=first, gateway=GATEWAY, record=record, now=START)
    with session_factory(seeded).begin() as session, pytest.raises(ConflictError):
        record_ble_association(session, label_id=second, gateway=GATEWAY, record=record, now=START)
