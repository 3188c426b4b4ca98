"""The simulated store gateway on a real Mosquitto: credentials, topics, status, acks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import queue
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from esl.mqtt.mosquitto_password import hash_password
from firmware_sim.faults import FaultPlan
from firmware_sim.fleet import read_provisioning
from firmware_sim.mqtt_gateway import MqttStoreGateway, parse_broker_url
from firmware_sim.simulation import SiteConfig, open_simulated_gateway
from gateways.mqtt.network_thread import stop_network_thread
from gateways.protocol import (
    FrameRejectedError,
    LabelFrame,
    Ping,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    encode_response,
    peek_header,
)
from tests.firmware_sim.shelf_images import price_label
from tests.firmware_sim.tls_certificates import make_server_certificate
from tests.fixtures.mosquitto import MosquittoProcess, free_port, start_mosquitto
from tests.support.cli_process import quiet_esl_process

pytestmark = pytest.mark.integration


class Controller:
    """A bare paho client standing in for the controller: publishes down, collects up."""

    def __init__(
        self, broker: MosquittoProcess, *, username: str | None = None, password: str | None = None
    ) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.unread: dict[str, list[bytes]] = {}
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.connect(broker.host, broker.port)
        self.client.subscribe("esl/v1/S001/#", qos=1)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def wait_for(self, topic: str, count: int, timeout_s: float = 10.0) -> list[bytes]:
        """The next `count` payloads on `topic` (fewer on timeout); other topics wait their turn."""
        deadline = time.monotonic() + timeout_s
        while len(self.unread.get(topic, [])) < count and time.monotonic() < deadline:
            try:
                got_topic, payload = self.messages.get(timeout=0.05)
            except queue.Empty:
                continue
            self.unread.setdefault(got_topic, []).append(payload)
        found = self.unread.get(topic, [])[:count]
        self.unread[topic] = self.unread.get(topic, [])[count:]
        return found

    def close(self) -> None:
        self.client.disconnect()
        stop_network_thread(self.client)


@pytest.fixture
def controller(mosquitto: MosquittoProcess) -> Iterator[Controller]:
    controller = Controller(mosquitto)
    yield controller
    controller.close()


def _status(payload: bytes) -> str:
    return str(json.loads(payload)["state"])


@asynccontextmanager
async def _running_gateway(
    tmp_path: Path,
    url: str,
    *,
    labels: int = 20,
    faults: FaultPlan | None = None,
    restart_downtime_s: float = 1.0,
    connected: bool = True,
    **broker: object,
) -> AsyncIterator[MqttStoreGateway]:
    """Store S001's simulated gateway `gw1` running (a task) for the block, from when it
    is `connected` to the broker (unless told not to wait); stopped (its goodbye
    published) and closed after it."""
    config = SiteConfig(
        store="S001",
        gateway="gw1",
        state_dir=tmp_path / "sim",
        label_count=labels,
        check_in_interval_s=0.2,
        faults=faults or FaultPlan(),
    )
    site = open_simulated_gateway(config, now=datetime.now(UTC))
    runner = MqttStoreGateway(
        site,
        parse_broker_url(url, **broker),  # type: ignore[arg-type]
        restart_downtime_s=restart_downtime_s,
    )
    task = asyncio.create_task(runner.run())
    try:
        if connected:
            await runner.wait_connected()
        yield runner
    finally:
        runner.stop()
        await task
        site.close()


def _keys(runner: MqttStoreGateway) -> dict[str, bytes]:
    """label -> key, from the gateway's provisioning file."""
    return {p.label_id: p.key for p in read_provisioning(runner.site.config.manifest_path)}


async def _send(controller: Controller, frame: LabelFrame, *, key: bytes) -> list[bytes]:
    """`frame` down to gw1, and the next answer up (none on timeout)."""
    controller.publish("esl/v1/S001/gw1/down", encode_frame(frame, key=key))
    return await asyncio.to_thread(controller.wait_for, "esl/v1/S001/gw1/up", 1)


async def test_frames_go_down_and_verified_acks_come_up(
    controller: Controller, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    async with _running_gateway(tmp_path, mosquitto.url) as runner:
        status = await asyncio.to_thread(controller.wait_for, "esl/v1/S001/gw1/status", 1)
        assert [_status(s) for s in status] == ["online"]
        keys = _keys(runner)
        update = build_image_update(price_label("2,49 zł"), model_id="2.9-bwr")
        for label_id, key in keys.items():
            frame = LabelFrame(label_id=label_id, sequence=1, command=update)
            controller.publish("esl/v1/S001/gw1/down", encode_frame(frame, key=key))
        uplinks = await asyncio.to_thread(controller.wait_for, "esl/v1/S001/gw1/up", len(keys))
        responses = [decode_response(u, key=keys[peek_header(u).label_id]) for u in uplinks]
        assert {r.label_id for r in responses} == set(keys)
        assert all(r.acked and r.sequence == 1 for r in responses)
    final = await asyncio.to_thread(controller.wait_for, "esl/v1/S001/gw1/status", 1)
    assert [_status(s) for s in final] == ["offline"]


async def test_a_forged_ack_from_a_rogue_client_is_recognised(
    controller: Controller, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    async with _running_gateway(tmp_path, mosquitto.url) as runner:
        keys = _keys(runner)
        label_id = sorted(keys)[0]
        ping = LabelFrame(label_id=label_id, sequence=9, command=Ping())
        genuine = await _send(controller, ping, key=keys[label_id])
        ack = decode_response(genuine[0], key=keys[label_id])
        # A rogue client on the store network claims the label acked sequence 10.
        fake = dataclasses.replace(ack, sequence=10)
        rogue = Controller(mosquitto)
        rogue.publish("esl/v1/S001/gw1/up", encode_response(fake, key=bytes(32)))
        forged = await asyncio.to_thread(controller.wait_for, "esl/v1/S001/gw1/up", 1)
        with pytest.raises(FrameRejectedError) as caught:
            decode_response(forged[0], key=keys[label_id])
        assert caught.value.reason is ReasonCode.BAD_MAC
    rogue.close()


async def test_the_gateway_logs_in_with_its_own_credentials(tmp_path: Path) -> None:
    passwords = tmp_path / "passwords"
    passwords.write_text(
        f"S001.gw1:{hash_password('gateway-secret')}\ncontroller:{hash_password('ctl-secret')}\n"
    )
    passwords.chmod(0o600)
    # Mosquitto started as root drops to its own user, which cannot read pytest's tmp dirs.
    as_root = "user root\n" if os.geteuid() == 0 else ""
    broker = start_mosquitto(
        tmp_path / "broker",
        extra_config=f"allow_anonymous false\npassword_file {passwords}\n{as_root}",
    )
    try:
        controller = Controller(broker, username="controller", password="ctl-secret")
        async with _running_gateway(
            tmp_path, broker.url, username="S001.gw1", password="gateway-secret"
        ):
            status = await asyncio.to_thread(controller.wait_for, "esl/v1/S001/gw1/status", 1)
            assert [_status(s) for s in status] == ["online"]
        async with _running_gateway(
            tmp_path, broker.url, connected=False, username="S001.gw1", password="wrong"
        ) as bad:
            with pytest.raises(TimeoutError):
                await bad.wait_connected(timeout_s=1.5)
        controller.close()
    finally:
        broker.stop()


def test_esl_sim_gateway_runs_from_the_command_line_and_its_last_will_says_offline(
    controller: Controller, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    state_dir = tmp_path / "sim"
    process = quiet_esl_process(
        "sim",
        "gateway",
        "--store",
        "S001",
        "--labels",
        "50",
        "--broker",
        mosquitto.url,
        "--state-dir",
        str(state_dir),
        "--check-in-interval",
        "0.2",
        "--loss-rate",
        "0.2",
        "--seed",
        "5",
    )
    try:
        status = controller.wait_for("esl/v1/S001/S001-gw1/status", 1, timeout_s=20)
        assert [_status(s) for s in status] == ["online"]
        provisions = read_provisioning(state_dir / "S001-gw1-labels.json")
        assert len(provisions) == 50
        keys = {p.label_id: p.key for p in provisions}
        frames = {
            p.label_id: encode_frame(
                LabelFrame(label_id=p.label_id, sequence=1, command=Ping()), key=p.key
            )
            for p in provisions[:10]
        }
        acked: set[str] = set()
        # A fifth of radio frames are lost: like the controller, resend what was not answered.
        for _ in range(10):
            for label_id in sorted(frames.keys() - acked):
                controller.publish("esl/v1/S001/S001-gw1/down", frames[label_id])
            for answer in controller.wait_for("esl/v1/S001/S001-gw1/up", 10, timeout_s=2):
                response = decode_response(answer, key=keys[peek_header(answer).label_id])
                assert response.acked
                acked.add(response.label_id)
            if acked == frames.keys():
                break
        assert acked == frames.keys()
        # A crash: no goodbye, so the broker publishes the gateway's last will.
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        will = controller.wait_for("esl/v1/S001/S001-gw1/status", 1, timeout_s=10)
        assert [_status(s) for s in will] == ["offline"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def test_the_gateway_speaks_tls_when_given_a_ca(tmp_path: Path) -> None:
    tls = make_server_certificate(tmp_path / "tls")
    tls_port = free_port()
    as_root = "user root\n" if os.geteuid() == 0 else ""
    broker = start_mosquitto(
        tmp_path / "broker",
        extra_config=(
            f"listener {tls_port} 127.0.0.1\ncafile {tls.ca_file}\n"
            f"certfile {tls.cert_file}\nkeyfile {tls.key_file}\n{as_root}"
        ),
    )
    try:
        controller = Controller(broker)  # on the plain listener, to watch the topics
        url = f"mqtts://127.0.0.1:{tls_port}?ca={tls.ca_file}"
        async with _running_gateway(tmp_path, url) as runner:
            assert runner.broker.tls
            keys = _keys(runner)
            label_id = sorted(keys)[0]
            ping = LabelFrame(label_id=label_id, sequence=1, command=Ping())
            acks = await _send(controller, ping, key=keys[label_id])
            assert decode_response(acks[0], key=keys[label_id]).acked
        controller.close()
    finally:
        broker.stop()


async def test_a_gateway_restart_goes_offline_and_back_and_labels_keep_their_images(
    controller: Controller, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    restarting = FaultPlan(restart_after_s=1.0)
    async with _running_gateway(
        tmp_path, mosquitto.url, labels=5, faults=restarting, restart_downtime_s=0.3
    ) as runner:
        site = runner.site
        keys = _keys(runner)
        label_id = sorted(keys)[0]
        planes = price_label("1,99 zł")
        update = LabelFrame(
            label_id=label_id, sequence=1, command=build_image_update(planes, model_id="2.9-bwr")
        )
        acks = await _send(controller, update, key=keys[label_id])
        assert decode_response(acks[0], key=keys[label_id]).acked
        statuses = await asyncio.to_thread(controller.wait_for, "esl/v1/S001/gw1/status", 3, 10.0)
        assert [_status(s) for s in statuses] == ["online", "offline", "online"]
        assert site.gateway.stats.restarts == 1
        # The labels were reloaded from storage: the image is still there, and so is the
        # sequence counter, so the old frame is now a replay.
        assert site.gateway.labels[label_id].shown == planes
        answers = await _send(controller, update, key=keys[label_id])
        assert answers, (site.gateway.stats, controller.unread.keys())
        replayed = decode_response(answers[0], key=keys[label_id])
        # Answered from the label's memory of that frame; the image is not drawn again.
        assert (replayed.sequence, replayed.acked) == (1, True)
        assert site.gateway.labels[label_id].refreshes == 1
