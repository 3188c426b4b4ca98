"""A status the controller cannot read, published by a gateway's own login on its own
status topic, is ignored and counted; that store's answers after it still arrive.

Found by a hunter: `{"state": ["online"]}`, `{"state": {"a": 1}}` or "[" 100,000 times
raised out of `decode_status` (an unhashable state, nesting deeper than the JSON decoder
goes) into paho's read loop. The message was never acknowledged, the broker delivered it
again and again, and the controller heard nothing more from that store (on a watcher's
single session, from any store): answers and check-ins lost, updates parked as offline
though the labels took them, `ignored_messages` 0, the log full of tracebacks. Retained,
it deafened every restarted controller. docs/mqtt.md: such messages are "dropped, logged
and counted in `ignored_messages`". Published here with the unmodified `mosquitto_pub`
under the generated Mosquitto configuration, as any gateway's login could.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateways.base import Uplink
from gateways.mqtt.driver import MqttGateway
from tests.gateways.mqtt_harness import events_until, events_within
from tests.support.mosquitto_deployment import Deployment, deployed

pytestmark = pytest.mark.integration

UNREADABLE_STATUSES = {
    "state is a list": b'{"state": ["online"]}',
    "state is an object": b'{"state": {"a": 1}}',
    "deeply nested JSON": b"[" * 100_000,
}


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    async with deployed(tmp_path) as running:
        yield running


async def mosquitto_pub(
    deployment: Deployment, username: str, topic: str, payload: bytes, *, retain: bool = False
) -> None:
    login = deployment.login(username)
    binary = shutil.which("mosquitto_pub")
    assert binary is not None
    args = [
        binary,
        *("-h", "127.0.0.1", "-p", str(deployment.port)),
        *("-u", login.username, "-P", login.password),
        *("-q", "1", "-t", topic, "-s"),
    ]
    if retain:
        args.append("-r")
    process = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE)
    await process.communicate(payload)
    assert process.returncode == 0


@pytest.mark.parametrize(
    "payload", list(UNREADABLE_STATUSES.values()), ids=list(UNREADABLE_STATUSES)
)
@pytest.mark.parametrize("per_store_sessions", [True, False], ids=["per-store", "watcher"])
async def test_an_unreadable_status_is_ignored_and_counted_and_answers_still_arrive(
    deployment: Deployment, payload: bytes, per_store_sessions: bool
) -> None:
    controller = MqttGateway(
        deployment.login("esl-controller"),
        stores=("S001", "S002") if per_store_sessions else None,
        reconnect_delay_s=(0.1, 0.2),
    )
    async with controller:
        await events_within(controller, 0.5)
        await mosquitto_pub(deployment, "S001.S001-gw1", "esl/v1/S001/S001-gw1/status", payload)
        await mosquitto_pub(deployment, "S001.S001-gw1", "esl/v1/S001/S001-gw1/up", b"answer-1")
        seen = await events_until(controller, lambda e: isinstance(e, Uplink), timeout_s=5.0)
        assert [e.payload for e in seen if isinstance(e, Uplink)] == [b"answer-1"]
        assert controller.ignored_messages == 1


async def test_a_retained_unreadable_status_does_not_deafen_a_starting_controller(
    deployment: Deployment,
) -> None:
    # Retained before the controller starts: every (re)start meets it first.
    await mosquitto_pub(
        deployment, "S001.S001-gw1", "esl/v1/S001/S001-gw1/status", b'{"state": []}', retain=True
    )
    controller = MqttGateway(
        deployment.login("esl-controller"), stores=("S001", "S002"), reconnect_delay_s=(0.1, 0.2)
    )
    async with controller:
        await events_within(controller, 0.5)
        await mosquitto_pub(deployment, "S002.S002-gw1", "esl/v1/S002/S002-gw1/up", b"from S002")
        await mosquitto_pub(deployment, "S001.S001-gw1", "esl/v1/S001/S001-gw1/up", b"from S001")
        seen = await events_within(controller, 3.0)
        uplinks = sorted(e.payload for e in seen if isinstance(e, Uplink))
        assert uplinks == [b"from S001", b"from S002"]
        assert controller.ignored_messages == 1
        assert dict(controller.unheard_stores) == {}
