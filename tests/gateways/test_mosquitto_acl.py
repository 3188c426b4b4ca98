"""The generated password and ACL files, enforced by a real Mosquitto.

Two stores, one gateway each. The S001 gateway's login must get it its own frames and
let it answer, and nothing else: it cannot read S002's frames (the subscription is
accepted but delivers nothing), nor publish into S002's topics (Mosquitto acknowledges
and drops the message).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from esl.mqtt.mosquitto_config import WrittenConfig, write_mosquitto_config
from gateways.base import Downlink, GatewayStatus, Uplink
from gateways.errors import GatewayConnectError
from gateways.mqtt.connection import IncomingMessage, PahoConnection
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.store_gateway import StoreGatewayClient
from tests.fixtures.mosquitto import MosquittoProcess, find_mosquitto, free_port, start_mosquitto
from tests.gateways.mqtt_harness import ROOT_ONLY_CONFIG, events_until, events_within

pytestmark = pytest.mark.integration


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[MosquittoProcess, WrittenConfig]]:
    written = write_mosquitto_config(tmp_path / "conf", [("S001", "gw1"), ("S002", "gw1")])
    broker = start_mosquitto(
        tmp_path / "broker",
        extra_config=(
            "allow_anonymous false\n"
            f"password_file {written.passwords}\n"
            f"acl_file {written.acl}\n" + ROOT_ONLY_CONFIG
        ),
    )
    yield broker, written
    broker.stop()


def _login(broker: MosquittoProcess, written: WrittenConfig, username: str) -> BrokerEndpoint:
    accounts = {a.username: a.password for a in written.accounts.all}
    return BrokerEndpoint(broker.host, broker.port, username, accounts[username])


async def test_a_gateway_reads_only_its_own_stores_frames(
    deployment: tuple[MosquittoProcess, WrittenConfig],
) -> None:
    broker, written = deployment
    s001 = _login(broker, written, "S001.gw1")
    spied: list[IncomingMessage] = []
    # The S001 login asks for everything it can think of.
    spy = PahoConnection(
        s001,
        client_id="spy",
        persistent_session=False,
        subscriptions=("esl/v1/S002/gw1/down", "esl/v1/+/+/down", "esl/v1/#", "#"),
        on_message=spied.append,
    )
    await spy.connect()
    controller = MqttGateway(_login(broker, written, "esl-controller"), client_id="ctl")
    s002 = StoreGatewayClient(_login(broker, written, "S002.gw1"), store="S002", gateway="gw1")
    async with controller:
        await s002.start()
        await controller.send(Downlink("S002", "gw1", "L2", b"S002 price"))
        await controller.send(Downlink("S001", "gw1", "L1", b"S001 price"))
        # S002's own gateway got its frame, so it was really published...
        assert await asyncio.wait_for(anext(s002.frames()), 5) == b"S002 price"
        deadline = time.monotonic() + 5
        while not spied and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        # ...yet the S001 login saw only S001's.
        assert {(m.topic, m.payload) for m in spied} == {("esl/v1/S001/gw1/down", b"S001 price")}
        await s002.stop()
    await spy.disconnect()


async def test_a_gateway_cannot_publish_into_another_stores_topics(
    deployment: tuple[MosquittoProcess, WrittenConfig],
) -> None:
    broker, written = deployment
    s001 = _login(broker, written, "S001.gw1")
    forger = PahoConnection(
        s001,
        client_id="forger",
        persistent_session=False,
        subscriptions=(),
        on_message=lambda _m: None,
    )
    honest = StoreGatewayClient(s001, store="S001", gateway="gw1")
    s002 = StoreGatewayClient(_login(broker, written, "S002.gw1"), store="S002", gateway="gw1")
    controller = MqttGateway(_login(broker, written, "esl-controller"), client_id="ctl")
    async with controller:
        await s002.start()
        await honest.start()
        await forger.connect()
        # A forged acknowledgement, a forged "offline", and a frame for S002's labels.
        await forger.publish("esl/v1/S002/gw1/up", b"forged ack")
        await forger.publish("esl/v1/S002/gw1/status", b'{"state": "offline"}', retain=True)
        await forger.publish("esl/v1/S002/gw1/down", b"forged frame")
        await honest.publish_up(b"real ack")

        seen = await events_until(controller, lambda e: isinstance(e, Uplink))
        seen += await events_within(controller, 0.3)
        uplinks = [(e.store, e.payload) for e in seen if isinstance(e, Uplink)]
        assert uplinks == [("S001", b"real ack")]
        statuses = [(e.store, e.state.value) for e in seen if isinstance(e, GatewayStatus)]
        assert ("S002", "offline") not in statuses
        assert await events_within_frames(s002, 0.3) == []
        await honest.stop()
        await s002.stop()
    await forger.disconnect()


async def events_within_frames(gateway: StoreGatewayClient, seconds: float) -> list[bytes]:
    frames: list[bytes] = []
    try:
        async with asyncio.timeout(seconds):
            async for frame in gateway.frames():
                frames.append(frame)
    except TimeoutError:
        pass
    return frames


@pytest.mark.parametrize(
    ("username", "password"),
    [("S001.gw1", "wrong"), ("nobody", "x"), (None, None)],
)
async def test_wrong_passwords_unknown_users_and_anonymous_clients_are_refused(
    deployment: tuple[MosquittoProcess, WrittenConfig], username: str | None, password: str | None
) -> None:
    broker, _ = deployment
    controller = MqttGateway(
        BrokerEndpoint(broker.host, broker.port, username, password), connect_timeout_s=5
    )
    with pytest.raises(GatewayConnectError) as caught:
        await controller.start()
    assert caught.value.fields["reason"] == "refused: Not authorized"


async def test_the_generated_mosquitto_conf_runs_as_is(tmp_path: Path) -> None:
    port = free_port()
    written = write_mosquitto_config(
        tmp_path, [("S001", "gw1")], port=port, bind_address="127.0.0.1"
    )
    binary = find_mosquitto()
    assert binary is not None
    conf = written.conf
    if ROOT_ONLY_CONFIG:
        conf = tmp_path / "as-root.conf"
        conf.write_text(written.conf.read_text() + ROOT_ONLY_CONFIG)
    process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        endpoint = BrokerEndpoint("127.0.0.1", port)
        controller_login = endpoint.with_credentials(
            written.accounts.controller.username, written.accounts.controller.password
        )
        controller = MqttGateway(controller_login, client_id="ctl", connect_timeout_s=5)
        await controller.start()
        await controller.send(Downlink("S001", "gw1", "L", b"queued for a persistent session"))
        await controller.stop()
        with pytest.raises(GatewayConnectError):
            await MqttGateway(endpoint, connect_timeout_s=5).start()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr.decode()
    # persistence is on: the sessions were saved where the config says.
    assert (tmp_path / "data" / "mosquitto.db").exists()
