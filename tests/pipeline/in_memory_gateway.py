"""A `Gateway` fake and an in-process radio: the dispatcher's own code against simulated
labels, with no broker and one clock for both sides (so timed flips can be checked)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from firmware_sim.label import SimulatedLabel
from gateways.base import Downlink, Gateway, GatewayEvent, TransportKind, Uplink


class InMemoryGateway(Gateway):
    transport = TransportKind.MQTT

    def __init__(self) -> None:
        self.sent: list[Downlink] = []
        self._events: asyncio.Queue[GatewayEvent | None] = asyncio.Queue()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._events.put_nowait(None)

    async def send(self, downlink: Downlink) -> None:
        self.sent.append(downlink)

    async def events(self) -> AsyncIterator[GatewayEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    @property
    def max_in_flight(self) -> int:
        return 1000

    def deliver(self, events: list[GatewayEvent]) -> None:
        """Hand events to the controller, as the transport does when they arrive."""
        for event in events:
            self._events.put_nowait(event)

    def take(self) -> list[Downlink]:
        taken, self.sent = self.sent, []
        return taken


def radio(
    downlinks: list[Downlink], labels: dict[str, SimulatedLabel], *, now: datetime
) -> list[Uplink]:
    """Each frame reaches its label at `now`; the answers, as the controller receives them."""
    uplinks = []
    for downlink in downlinks:
        answer = labels[downlink.label_id].receive(downlink.payload, now=now)
        if answer is not None:
            uplinks.append(Uplink(downlink.store, downlink.gateway, answer, now))
    return uplinks
