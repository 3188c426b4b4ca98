"""`esl gateway ble ...` from the command line: it refuses to start half-configured or
with a password file others can read, names what is wrong in a bad labels file;
`export-labels` writes the file from what association recorded; `emulate-labels` serves
labels that a host in another process reaches over HCI and that sign with their keys."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from esl.cli.gateway_ble_cmd import gateway_password
from esl.db.engine import session_factory
from esl.services.ble_inventory import record_ble_association
from firmware_sim.fleet import read_provisioning
from gateways.ble.bumble_client import BumbleCentral, bumble_client_factory, open_bumble_central
from gateways.ble.control_point import EslAddress
from gateways.ble.radio import BleLabelRadio
from gateways.ble.store_radio import BleGatewayLabel, read_ble_gateway_labels
from gateways.protocol import (
    LabelFrame,
    LabelProvision,
    Ping,
    ReasonCode,
    decode_response,
    encode_frame,
)
from tests.fixtures.mosquitto import free_port
from tests.gateways.ble.ble_store import address_of, associate, key_of, label_id_of, make_store
from tests.support.cli_process import ROOT
from tests.support.clock import wall_clock
from tests.support.database import BACKENDS, backend_engine, database_url
from tests.support.pipeline import SKUS, register_and_bind

START = ["gateway", "ble", "--store", "S01", "--gateway", "S01-ble1"]


@pytest.fixture(params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The controller's database with the reference data: SQLite, and PostgreSQL where set."""
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


def _private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_the_gateway_will_not_start_half_configured() -> None:
    missing = CliRunner().invoke(app, ["gateway", "ble", "--store", "S01"])
    assert missing.exit_code == 2
    assert "missing --gateway, --broker" in missing.output
    for extra in (["--hci", "usb:0"], ["--backend", "bumble"]):
        wrong = CliRunner().invoke(app, [*START, "--broker", "mqtt://127.0.0.1:1", *extra])
        assert wrong.exit_code == 2
        assert "--hci goes with --backend bumble" in wrong.output


@pytest.mark.parametrize("backend", ["bleak", "bumble"])
def test_a_bad_labels_file_stops_the_gateway_with_what_is_wrong(
    tmp_path: Path, backend: str
) -> None:
    labels = tmp_path / "S01-ble1-ble.json"
    entry = {"label_id": "L-1", "model": "2.9-bwr", "address": "nowhere", "esl_id": 1}
    labels.write_text(json.dumps({"store": "S01", "gateway": "S01-ble1", "labels": [entry]}))
    # No HCI controller listens there: the file is refused before the adapter is opened.
    hci = ["--hci", f"tcp-client:127.0.0.1:{free_port()}"] if backend == "bumble" else []
    result = CliRunner().invoke(
        app,
        [*START, "--broker", "mqtt://127.0.0.1:1", "--state-dir", str(tmp_path),
         "--backend", backend, *hci],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "1 of 1 labels are invalid (label 1: label L-1: 'nowhere' is not a BLE address)" in (
        result.output
    )
    assert sorted(x.name for x in tmp_path.iterdir()) == [labels.name]  # no state written


def test_the_broker_password_comes_from_a_private_file_only(tmp_path: Path) -> None:
    alone = _private(tmp_path / "alone", "s3cret\n")
    assert gateway_password(alone, username="S01.S01-ble1") == "s3cret"
    credentials = {
        "controller": {"username": "esl-controller", "password": "c"},
        "gateways": [
            {"username": "S01.S01-ap1", "password": "a"},
            {"username": "S01.S01-ble1", "password": "b"},
        ],
    }
    both = _private(tmp_path / "credentials.json", json.dumps(credentials))
    assert gateway_password(both, username="S01.S01-ble1") == "b"
    with pytest.raises(typer.BadParameter, match=r"has no login S01\.S01-ble9"):
        gateway_password(both, username="S01.S01-ble9")
    shared = _private(tmp_path / "shared", "s3cret", mode=0o644)
    with pytest.raises(typer.BadParameter, match="readable by others"):
        gateway_password(shared, username="S01.S01-ble1")
    result = CliRunner().invoke(
        app, [*START, "--broker", "mqtt://127.0.0.1:1", "--credential", str(shared)]
    )
    assert result.exit_code == 2
    assert "readable by others (mode 644)" in result.output


async def test_export_labels_writes_where_association_put_each_label(
    seeded: Engine, tmp_path: Path
) -> None:
    ids = [label_id_of(i) for i in (1, 2, 3)]
    engine = seeded
    with session_factory(engine).begin() as session:
        register_and_bind(
            session,
            [LabelProvision(label_id=i, model_id="2.9-bwr", key=key_of(i)) for i in ids],
            store="S01",
            gateway="S01-ble1",
            skus=SKUS,
            now=wall_clock(),
        )
    store = make_store(2, associated=False)
    for index in (1, 2):  # label 3 is registered but not associated yet
        record = await associate(
            store,
            address_of(index),
            esl_address=EslAddress(esl_id=10 + index),
            label_key=key_of(label_id_of(index)),
        )
        with session_factory(engine).begin() as session:
            record_ble_association(
                session,
                label_id=label_id_of(index),
                gateway="S01-ble1",
                record=record,
                now=wall_clock(),
            )
    url = database_url(engine)
    out = tmp_path / "S01-ble1-ble.json"
    result = CliRunner().invoke(
        app,
        ["gateway", "ble", "export-labels", "--store", "S01", "--gateway", "S01-ble1",
         "--out", str(out)],
        env={"ESL_DATABASE_URL": url},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 BLE labels of S01/S01-ble1" in result.stdout
    assert read_ble_gateway_labels(out, store="S01", gateway="S01-ble1") == [
        BleGatewayLabel(label_id_of(i), model="2.9-bwr", address=address_of(i), esl_id=10 + i)
        for i in (1, 2)
    ]


async def test_emulated_labels_answer_a_host_in_another_process_with_their_own_keys(
    tmp_path: Path,
) -> None:
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-c", "from esl.cli import main; main()", "gateway", "ble",
         "emulate-labels", "--store", "S01", "--gateway", "S01-ble1", "--labels", "2",
         "--port", str(port), "--out-dir", str(tmp_path), "--refresh-s", "0.2"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        central = await _central_when_served(emulator, port)
        try:
            labels = read_ble_gateway_labels(
                tmp_path / "S01-ble1-ble.json", store="S01", gateway="S01-ble1"
            )
            keys = {
                p.label_id: p.key
                for p in read_provisioning(tmp_path / "S01-ble1-provisioning.json")
            }
            radio = BleLabelRadio(
                [label.on_air for label in labels], client_factory=bumble_client_factory(central)
            )
            async with radio:
                answers = {
                    label.label_id: await radio.exchange(
                        label.label_id,
                        encode_frame(
                            LabelFrame(label.label_id, 1, Ping()), key=keys[label.label_id]
                        ),
                    )
                    for label in labels
                }
        finally:
            await central.close()
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    assert stat.S_IMODE(os.stat(tmp_path / "S01-ble1-provisioning.json").st_mode) == 0o600
    assert sorted(keys) == sorted(answers)
    for label_id, answer in answers.items():
        assert decode_response(answer, key=keys[label_id]).reason is ReasonCode.SUCCESS


async def _central_when_served(emulator: subprocess.Popen[bytes], port: int) -> BumbleCentral:
    deadline = time.monotonic() + 120  # a loaded machine imports slowly
    while True:
        try:
            return await open_bumble_central(f"tcp-client:127.0.0.1:{port}")
        except OSError:
            if time.monotonic() > deadline or emulator.poll() is not None:
                raise
            await asyncio.sleep(0.1)
