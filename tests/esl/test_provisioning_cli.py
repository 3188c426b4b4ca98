"""`esl import provisioning`: a gateway's provisioning file registers its labels and keys."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import GatewayRow, LabelRow, StoreRow
from firmware_sim.fleet import make_fleet, write_provisioning
from gateways.protocol import LabelFrame, Ping, decode_frame, encode_frame


@pytest.fixture(autouse=True)
def store(cli: CliRunner, tmp_path: Path) -> None:
    """The store the provisioning files name, in the database `cli` upgraded."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}")
    with session_factory(engine).begin() as session:
        session.add(StoreRow(code="S01", name="Oliwa", zone=None))
    engine.dispose()


def _labels(tmp_path: Path) -> dict[str, tuple[str, str, bytes]]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}")
    with session_factory(engine)() as session:
        rows = session.execute(
            select(LabelRow.id, LabelRow.store, LabelRow.gateway, LabelRow.secret_key)
        )
        found = {label: (store, gateway or "", key) for label, store, gateway, key in rows}
        gateways = list(session.scalars(select(GatewayRow.id)))
    engine.dispose()
    return found | {f"gateway:{g}": ("", g, b"") for g in gateways}


def test_a_simulated_gateways_file_registers_labels_whose_frames_verify(
    cli: CliRunner, tmp_path: Path
) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=3)
    path = tmp_path / "S01-gw1.json"
    write_provisioning(path, fleet, store="S01", gateway="gw1")

    result = cli.invoke(app, ["import", "provisioning", str(path), "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "store": "S01",
        "gateway": "gw1",
        "labels": 3,
        "added": 3,
        "moved": [],
        "remodelled": [],
    }
    registered = _labels(tmp_path)
    assert registered["gateway:gw1"] == ("", "gw1", b"")
    for provision in fleet:
        store, gateway, key = registered[provision.label_id]
        assert (store, gateway) == ("S01", "gw1")
        # The controller signs with the registered key; the label verifies with its own.
        frame = encode_frame(LabelFrame(provision.label_id, 1, Ping()), key=key)
        assert decode_frame(frame, key=provision.key, label_id=provision.label_id).sequence == 1
    again = cli.invoke(app, ["import", "provisioning", str(path), "--json"])
    assert json.loads(again.stdout)["added"] == 0


def test_a_file_with_bad_entries_is_refused_whole_with_every_reason(
    cli: CliRunner, tmp_path: Path
) -> None:
    good, short_key, unknown_model = make_fleet(store="S01", gateway="gw1", count=3)
    document = {
        "store": "S01",
        "gateway": "gw1",
        "labels": [
            {"label_id": good.label_id, "model": good.model_id, "key": good.key.hex()},
            {"label_id": short_key.label_id, "model": "2.9-bwr", "key": "abcd"},
            {"label_id": unknown_model.label_id, "model": "99-bw", "key": good.key.hex()},
            {"label_id": good.label_id, "model": good.model_id, "key": good.key.hex()},
        ],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    result = cli.invoke(app, ["import", "provisioning", str(path)])

    assert result.exit_code == 1
    assert "3 of 4 labels are invalid" in result.output
    assert "line 2: a label key has 32 bytes, got 2" in result.output
    assert "line 3:" in result.output
    assert "99-bw" in result.output
    assert "line 4: label S01-gw1-00001 appears twice" in result.output
    assert _labels(tmp_path) == {}  # not even the gateway


def test_a_label_already_registered_with_another_key_is_a_conflict(
    cli: CliRunner, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    write_provisioning(
        first, make_fleet(store="S01", gateway="gw1", count=2), store="S01", gateway="gw1"
    )
    assert cli.invoke(app, ["import", "provisioning", str(first)]).exit_code == 0
    rekeyed = make_fleet(store="S01", gateway="gw1", count=2, secret=b"another site secret")
    second = tmp_path / "second.json"
    write_provisioning(second, rekeyed, store="S01", gateway="gw1")

    result = cli.invoke(app, ["import", "provisioning", str(second)])

    assert result.exit_code == 1
    assert "registered with another key" in result.output


def test_a_label_listed_as_another_model_takes_it_and_the_import_says_so(
    cli: CliRunner, tmp_path: Path
) -> None:
    """A panel swapped at the same address (or a tag whose type changed), and the gateway's
    file says so: before, "0 new" and the label stayed a 2.9-bwr, whose images the
    gateway refused as WRONG_MODEL for ever."""
    fleet = make_fleet(store="S01", gateway="gw1", count=2)
    path = tmp_path / "S01-gw1.json"
    write_provisioning(path, fleet, store="S01", gateway="gw1")
    assert cli.invoke(app, ["import", "provisioning", str(path)]).exit_code == 0
    swapped = [dataclasses.replace(fleet[0], model_id="2.9-bw"), fleet[1]]
    write_provisioning(path, swapped, store="S01", gateway="gw1")

    result = cli.invoke(app, ["import", "provisioning", str(path)])

    assert result.exit_code == 0, result.output
    assert "2 labels, 0 new, 1 of another model now" in result.stdout
    assert f"{fleet[0].label_id} is now a 2.9-bw (was 2.9-bwr)" in result.stdout
    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}")
    with session_factory(engine)() as session:
        models = {row.id: row.model for row in session.execute(select(LabelRow.id, LabelRow.model))}
    engine.dispose()
    assert models == {fleet[0].label_id: "2.9-bw", fleet[1].label_id: "2.9-bwr"}
    again = cli.invoke(app, ["import", "provisioning", str(path), "--json"])
    assert json.loads(again.stdout)["remodelled"] == []


def test_a_gateway_id_no_mqtt_topic_can_carry_registers_nothing(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "S01-gw.1.json"
    write_provisioning(
        path, make_fleet(store="S01", gateway="gw.1", count=2), store="S01", gateway="gw.1"
    )

    result = cli.invoke(app, ["import", "provisioning", str(path)])

    assert result.exit_code == 1
    assert "gateway id 'gw.1' cannot be an MQTT topic level" in result.output
    assert _labels(tmp_path) == {}  # not even the gateway


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ('{"store": "S01", "labels": []}', "'store' and 'gateway' must be non-empty strings"),
        ('{"store": "S09", "gateway": "gw1", "labels": []}', "store S09"),
    ],
)
def test_files_that_are_not_provisioning_files_are_refused(
    cli: CliRunner, tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    result = cli.invoke(app, ["import", "provisioning", str(path)])
    assert result.exit_code == 1
    assert reason in result.output
