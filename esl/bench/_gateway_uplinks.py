"""How fast a store gateway relays its answers to the controller over a link with a round
trip (not a suite: the name starts with "_"; `esl bench gateways` reports it).

The real `StoreGatewayProcess` starts with `messages` signed answers in its state file's
outbox, one per label, and reaches its broker through a `DelayedLink`; the controller's
transport (`MqttGateway`) hears them on the broker's side, as the controller does. The
figure is answers a second between the first heard and the last: the connection set up
(itself a few round trips) is left out.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from esl.bench._delayed_link import DelayedLink
from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.base import Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl import AccessPointClient, AccessPointDriver
from gateways.oepl.radio import OeplRadio
from gateways.protocol import generate_label_key
from gateways.store_gateway.label_stand_in import check_in_report
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state

__all__ = ["uplinks_per_s"]

_STORE = "S01"
_GATEWAY = "S01-ap1"
_TIMEOUT_S = 300.0


def _signed_words(messages: int) -> list[tuple[str, bytes]]:
    """(label, signed bytes) for `messages` labels: a check-in each, an answer's size."""
    now = datetime.now(UTC)
    words = []
    for number in range(1, messages + 1):
        address = f"0000BE4C{number:08X}"
        label = LabelRecord(address, address, "2.9-bwr", key=generate_label_key())
        signed = check_in_report(label, now=now)
        assert signed is not None  # a label with a key
        words.append((address, signed))
    return words


async def uplinks_per_s(
    endpoint: BrokerEndpoint, *, messages: int, in_flight: int, round_trip_s: float
) -> float:
    """Answers a second from a store gateway's outbox to the controller's side of the
    broker at `endpoint`, over a link of `round_trip_s`, `in_flight` on their way at once."""
    words = _signed_words(messages)
    heard: list[float] = []
    all_heard = asyncio.Event()
    controller = MqttGateway(endpoint, client_id="esl-bench-uplinks")
    await controller.start()

    async def listen() -> None:
        async for event in controller.events():
            if isinstance(event, Uplink):
                heard.append(time.monotonic())
                if len(heard) == messages:
                    all_heard.set()

    listening = asyncio.create_task(listen())
    try:
        with (
            tempfile.TemporaryDirectory(prefix="esl-bench-uplinks-") as state_dir,
            DelayedLink(
                endpoint.host,
                endpoint.port,
                to_server_s=round_trip_s / 2,
                to_client_s=round_trip_s / 2,
            ) as link,
        ):
            state = open_local_state(Path(state_dir) / f"{_STORE}-{_GATEWAY}.sqlite")
            for label_id, signed in words:
                state.queue_answer(signed, label_id=label_id)
            async with ServedAccessPoint(EmulatedAccessPoint()) as served:
                # Never asked: no frame comes, and no health poll within the run.
                radio = OeplRadio(AccessPointDriver(AccessPointClient(served.url)))
                process = StoreGatewayProcess(
                    store=_STORE,
                    gateway=_GATEWAY,
                    endpoint=BrokerEndpoint(link.host, link.port),
                    radio=radio,
                    state=state,
                    health_every_s=3600,
                    uplinks_in_flight=in_flight,
                )
                await process.start()
                try:
                    async with asyncio.timeout(_TIMEOUT_S):
                        await all_heard.wait()
                finally:
                    await process.stop()
                    await radio.close()
                    state.close()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await controller.stop()
    return (messages - 1) / (heard[-1] - heard[0])
