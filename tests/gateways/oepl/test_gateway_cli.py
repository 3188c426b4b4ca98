"""`esl gateway oepl ...` from the command line: the emulated AP as its own process,
`import-tags` registering its tags, and the gateway refusing to start half-configured."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import LabelRow
from esl.pipeline.oepl_tags import write_gateway_provisioning
from firmware_sim.fleet import LabelProvision
from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from gateways.base import Downlink, GatewayState, GatewayStatus, Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.oepl import AccessPointClient
from gateways.oepl.images import planes_from_stored
from gateways.protocol import (
    FrameKind,
    LabelFrame,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from rendering.encoding import content_hash
from tests.fixtures.mosquitto import MosquittoProcess, free_port
from tests.support.database import seed_reference_data
from tests.support.oepl import FAST_AP, HW_29_BWR, access_point_in_thread, price_planes, tag_mac

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def emulated_ap() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from esl.cli import main; main()", "gateway", "oepl", "emulate-ap",
         "--tags", "4", "--port", str(port), "--check-in-s", "0.05"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded machine imports slowly
        while True:
            try:
                if httpx.get(f"{url}/get_db", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_import_tags_registers_every_tag_with_its_model_and_a_private_key_file(
    emulated_ap: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'esl.sqlite'}"
    engine = create_engine_for(database)
    upgrade_database(engine)
    with session_factory(engine).begin() as session:
        seed_reference_data(session)
    keys = tmp_path / "S01-ap1-labels.json"
    arguments = ["gateway", "oepl", "import-tags", "--store", "S01", "--gateway", "S01-ap1"]
    result = CliRunner().invoke(
        app,
        [*arguments, "--ap", emulated_ap, "--provisioning", str(keys)],
        env={"ESL_DATABASE_URL": database},
    )
    assert result.exit_code == 0, result.output
    assert "4 labels for S01/S01-ap1 (4 new)" in result.stdout
    with session_factory(engine)() as session:
        labels = session.execute(select(LabelRow.id, LabelRow.model, LabelRow.gateway)).all()
    engine.dispose()
    assert sorted(labels) == [(f"00000258{n:08X}", "2.9-bwr", "S01-ap1") for n in range(1, 5)]
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600


def test_the_gateway_will_not_start_without_store_gateway_ap_and_broker() -> None:
    result = CliRunner().invoke(app, ["gateway", "oepl", "--store", "S01"])
    assert result.exit_code == 2
    assert "missing --gateway, --ap, --broker" in result.output


def test_a_broker_url_it_cannot_use_stops_the_gateway_before_its_state_is_written(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "S01-ap1-labels.json"
    provision = LabelProvision(label_id=tag_mac(1), model_id="2.9-bwr", key=generate_label_key())
    write_gateway_provisioning(keys, [provision], store="S01", gateway="S01-ap1")
    result = CliRunner().invoke(
        app,
        ["gateway", "oepl", "--store", "S01", "--gateway", "S01-ap1", "--ap",
         "http://127.0.0.1:1", "--broker", "mqtt:/broker", "--provisioning", str(keys),
         "--state-dir", str(tmp_path / "state")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "unusable broker URL" in result.output
    assert not (tmp_path / "state").exists(), "the state file was written before the refusal"


async def test_the_gateway_process_answers_for_its_tag_and_says_goodbye(
    emulated_ap: str, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    mac, key = "0000025800000001", generate_label_key()
    keys = tmp_path / "S01-ap1-labels.json"
    provision = LabelProvision(label_id=mac, model_id="2.9-bwr", key=key)
    write_gateway_provisioning(keys, [provision], store="S01", gateway="S01-ap1")
    controller = MqttGateway(parse_broker_url(mosquitto.url))
    await controller.start()
    events = controller.events()
    said = tmp_path / "gateway.stderr"
    with said.open("wb") as stderr:
        gateway = subprocess.Popen(
            [sys.executable, "-c", "from esl.cli import main; main()", "gateway", "oepl",
             "--store", "S01", "--gateway", "S01-ap1", "--ap", emulated_ap,
             "--broker", mosquitto.url, "--provisioning", str(keys),
             "--state-dir", str(tmp_path / "state"), "--poll-s", "0.05"],
            stderr=stderr,
        )  # fmt: skip
    try:
        async with asyncio.timeout(180):  # the subprocess imports slowly on a loaded machine
            async for event in events:
                if isinstance(event, GatewayStatus) and event.state is GatewayState.ONLINE:
                    break
            planes = price_planes(seed=77)
            update = build_image_update(planes, model_id="2.9-bwr")
            frame = encode_frame(LabelFrame(mac, 1, update), key=key)
            await controller.send(Downlink("S01", "S01-ap1", mac, frame))
            async for event in events:
                if isinstance(event, Uplink):
                    answer = decode_response(event.payload, key=key)
                    if answer.kind is FrameKind.RESPONSE:
                        break
            assert answer.reason is ReasonCode.SUCCESS
            assert answer.displayed_hash == content_hash(planes)
            gateway.send_signal(signal.SIGTERM)
            async for event in events:
                if isinstance(event, GatewayStatus) and event.state is GatewayState.OFFLINE:
                    break
        assert event.reason == "shutdown"
        assert await asyncio.to_thread(gateway.wait, 20) == 0
        assert (
            "S01/S01-ap1: 1 labels (1 new), 0 frames and 0 answers kept from the last run; "
            f"AP {emulated_ap}"
        ) in said.read_text().splitlines()
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
        await controller.stop()
    client = AccessPointClient(emulated_ap)
    try:
        stored = await client.stored_image(mac)
        tag_type = await client.tag_type(0xB3)
    finally:
        await client.close()
    assert stored is not None
    assert tag_type is not None
    assert planes_from_stored(stored, tag_type) == planes


def test_tag_command_sends_the_aps_command_to_one_tag() -> None:
    ap = EmulatedAccessPoint(FAST_AP)
    tag = ap.add_tag(EmulatedTag(mac=tag_mac(1), hw_type=HW_29_BWR), now=time.time())
    with access_point_in_thread(ap) as url:
        command = ["gateway", "oepl", "tag-command", "--ap", url]
        sent = CliRunner().invoke(app, [*command, tag_mac(1).lower(), "reboot"])
        assert sent.exit_code == 0, sent.output
        assert f"reboot sent to {tag_mac(1)}" in sent.stdout
        deadline = time.monotonic() + 30
        while "reboot" not in tag.delivered and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "reboot" in tag.delivered  # heard at its next check-in
        unknown_tag = CliRunner().invoke(app, [*command, tag_mac(9), "reboot"])
        unknown_command = CliRunner().invoke(app, [*command, tag_mac(1), "explode"])
    assert unknown_tag.exit_code == 1
    assert "mac not found" in unknown_tag.stderr
    assert unknown_command.exit_code == 2
    assert "'explode' is not a tag command" in unknown_command.output
