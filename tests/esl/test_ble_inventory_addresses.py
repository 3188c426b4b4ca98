"""One BLE device, one label record: a second label recorded at a device's BLE address is
refused, naming the label already there, through the API as `esl gateway ble associate`
posts it, and by the database itself; migration 0021 stops at records sharing a device."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from esl.cli import app
from esl.db.ble_models import BleLabelInventoryRow
from esl.db.engine import migrations_config, session_factory, upgrade_database
from gateways.ble.store_radio import read_ble_gateway_labels
from tests.support.api import Api
from tests.support.ble_inventory import DEVICE, GATEWAY, associated, post_inventory
from tests.support.database import START, database_url


def test_a_second_label_at_a_devices_address_is_refused_naming_the_first(
    api: Api, tmp_path: Path
) -> None:
    # L-1's device lost its key (two hours without a valid frame) and advertised for
    # association again; the installer scanned the wrong shelf barcode for L-2 and the
    # gateway gave that device L-2's key. Two records for one panel: the controller would
    # send both labels' prices to it, and the exported labels file would stop the gateway.
    api.add_labels({"L-1": "S01", "L-2": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 1)).status_code == 200

    refused = post_inventory(api, associated("L-2", DEVICE.lower() + "/P", 2))

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["problems"] == [
        {
            "label_id": "L-2",
            "reason": f"BLE address {DEVICE} is label L-1's device: label L-2 cannot be "
            "recorded there too (associate L-2 at its own device, or unassociate L-1 first)",
        }
    ]
    with session_factory(api.engine)() as session:
        assert session.get(BleLabelInventoryRow, "L-2") is None

    out = tmp_path / "labels.json"
    exported = CliRunner().invoke(
        app,
        ["gateway", "ble", "export-labels", "--store", "S01", "--gateway", GATEWAY,
         "--out", str(out)],
        env={"ESL_DATABASE_URL": database_url(api.engine)},
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    labels = read_ble_gateway_labels(out, store="S01", gateway=GATEWAY)  # the gateway starts
    assert [(x.label_id, x.address) for x in labels] == [("L-1", DEVICE)]


def test_one_post_naming_one_device_twice_records_neither(api: Api) -> None:
    api.add_labels({"L-1": "S01", "L-2": "S01"})

    refused = post_inventory(api, associated("L-1", DEVICE, 1), associated("L-2", DEVICE, 2))

    assert refused.status_code == 422, refused.text
    reasons = {p["label_id"]: p["reason"] for p in refused.json()["error"]["problems"]}
    assert reasons == {
        "L-2": f"BLE address {DEVICE} is label L-1's device: label L-2 cannot "
        "be recorded there too (associate L-2 at its own device, or unassociate L-1 first)"
    }
    with session_factory(api.engine)() as session:
        assert session.query(BleLabelInventoryRow).count() == 0


def test_a_label_associated_again_at_its_own_device_is_recorded_again(api: Api) -> None:
    api.add_labels({"L-1": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 1)).status_code == 200
    assert post_inventory(api, associated("L-1", DEVICE, 1)).status_code == 200


def _insert_row(
    engine: Engine, label_id: str, address: str, esl_id: int, *, device: str | None = None
) -> None:
    """A label and its inventory row as SQL writes them (`device`: from revision 0021)."""
    columns = ", device_address" if device else ""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO labels (id, store, model, secret_key, registered_at)"
                " VALUES (:id, 'S01', '2.9-bwr', :key, :at)"
            ),
            {"id": label_id, "key": bytes(32), "at": START},
        )
        connection.execute(
            text(
                "INSERT INTO ble_label_inventory (label_id, gateway, address, esl_id, esl_group,"
                f" displays, image_slots, leds, associated_at{columns})"
                f" VALUES (:id, :gateway, :address, :esl_id, 0, '[]', 1, '[]', :at"
                f"{', :device' if device else ''})"
            ),
            {
                "id": label_id,
                "gateway": GATEWAY,
                "address": address,
                "esl_id": esl_id,
                "at": START,
                "device": device,
            },
        )


def test_the_database_keeps_one_record_per_device(seeded: Engine) -> None:
    _insert_row(seeded, "L-1", DEVICE, 1, device=DEVICE)
    with pytest.raises(IntegrityError), session_factory(seeded).begin() as session:
        session.add(
            BleLabelInventoryRow(
                label_id="L-1",
                gateway="S01-ble2",
                address=DEVICE,
                device_address=DEVICE,
                esl_id=1,
                esl_group=0,
                displays=[],
                image_slots=1,
                leds=[],
                associated_at=START,
            )
        )
    with pytest.raises(IntegrityError):
        _insert_row(seeded, "L-2", DEVICE.lower(), 2, device=DEVICE)


def test_records_sharing_a_device_stop_the_upgrade_naming_them(seeded: Engine) -> None:
    command.downgrade(migrations_config(seeded), "0020")
    _insert_row(seeded, "L-1", DEVICE, 1)
    _insert_row(seeded, "L-2", DEVICE.lower() + "/P", 2)
    _insert_row(seeded, "L-3", "C0:FF:EE:00:00:03", 3)

    with pytest.raises(RuntimeError, match=rf"one device .*{DEVICE}: L-1, L-2"):
        upgrade_database(seeded)

    with seeded.begin() as connection:
        connection.execute(text("DELETE FROM ble_label_inventory WHERE label_id = 'L-2'"))
    upgrade_database(seeded)
    with session_factory(seeded)() as session:
        rows = {r.label_id: r.device_address for r in session.query(BleLabelInventoryRow)}
    assert rows == {"L-1": DEVICE, "L-3": "C0:FF:EE:00:00:03"}
