"""The store side of the MQTT layout: what a gateway in a shop (or the simulator) runs.

It subscribes to its own `.../down`, publishes label responses to `.../up`, and keeps a
retained `.../status`: "online" after connecting, "offline" when it stops politely, and
"offline" via its last will when its connection dies. Its session is persistent, so
frames published while it is away wait at the broker (up to Mosquitto's
`max_queued_messages`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from gateways.base import Clock, GatewayState, system_clock
from gateways.errors import GatewayError
from gateways.mqtt.connection import IncomingMessage, LastWill, PahoConnection
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.packet_size import DEFAULT_MAX_PACKET_BYTES
from gateways.mqtt.topics import TopicKind, encode_status, status_will_payload, topic_for

__all__ = ["StoreGatewayClient", "store_gateway_client_id"]

_GOODBYE_TIMEOUT_S = 2.0


def store_gateway_client_id(*, store: str, gateway: str) -> str:
    return f"esl-gw-{store}-{gateway}"


class StoreGatewayClient:
    """One store gateway's MQTT session; yields the frame bytes published to it."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        *,
        store: str,
        gateway: str,
        client_id: str | None = None,
        max_in_flight: int = 100,
        max_packet_bytes: int = DEFAULT_MAX_PACKET_BYTES,
        connect_timeout_s: float = 10.0,
        reconnect_delay_s: tuple[float, float] = (1, 30),
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self._down = topic_for(store=store, gateway=gateway, kind=TopicKind.DOWN)
        self._up = topic_for(store=store, gateway=gateway, kind=TopicKind.UP)
        self._status = topic_for(store=store, gateway=gateway, kind=TopicKind.STATUS)
        self._connect_timeout_s = connect_timeout_s
        self._frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._connection = PahoConnection(
            endpoint,
            client_id=client_id or store_gateway_client_id(store=store, gateway=gateway),
            persistent_session=True,
            subscriptions=(self._down,),
            on_message=self._on_message,
            on_link_change=self._on_link_change,
            max_in_flight=max_in_flight,
            max_packet_bytes=max_packet_bytes,
            last_will=LastWill(topic=self._status, payload=status_will_payload()),
            reconnect_delay_s=reconnect_delay_s,
            clock=clock,
        )
        self._announce: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connect, subscribe, and return once the broker holds our "online" status."""
        await self._connection.connect(timeout_s=self._connect_timeout_s)
        await asyncio.gather(*self._announce)

    async def publish_up(self, payload: bytes) -> None:
        """Send label responses to the controller; returns at the broker's PUBACK.
        Larger than the broker's packet limit (`max_packet_bytes`): `PacketTooLargeError`
        at once, nothing sent (the broker would drop the link, and paho would send it
        first again after every reconnection, holding up every answer behind it)."""
        await self._connection.publish(self._up, payload)

    async def hand_up(self, payload: bytes) -> asyncio.Future[None]:
        """Send a label response to the controller without waiting for the broker: returns
        once it is on its way behind every one handed up before it (the broker gets them
        in that order), with a future that ends at the broker's PUBACK. Refused at once,
        as `publish_up` refuses (`PacketTooLargeError`, nothing sent); waits for a slot
        while `max_in_flight` publishes are unacknowledged."""
        return await self._connection.hand_over(self._up, payload)

    async def frames(self) -> AsyncIterator[bytes]:
        """Frames from the controller, in arrival order, until `stop`."""
        while (frame := await self._frames.get()) is not None:
            yield frame

    async def stop(self) -> None:
        """Mark the gateway offline on purpose, then disconnect (the will does not fire)."""
        if self._connection.connected:
            goodbye = encode_status(GatewayState.OFFLINE, reason="shutdown")
            # A broker that vanished meanwhile must not keep us from stopping; the will
            # then says "offline" instead.
            with contextlib.suppress(TimeoutError, GatewayError):
                async with asyncio.timeout(_GOODBYE_TIMEOUT_S):
                    await self._connection.publish(self._status, goodbye, retain=True)
        await self._connection.disconnect()
        await self._finish()

    async def crash(self) -> None:
        """Vanish without a goodbye, as a power cut would: the broker fires the last will."""
        await self._connection.abort()
        await self._finish()

    async def _finish(self) -> None:
        for task in self._announce:
            task.cancel()
        await asyncio.gather(*self._announce, return_exceptions=True)
        self._frames.put_nowait(None)

    def _on_message(self, message: IncomingMessage) -> None:
        if message.topic == self._down:
            self._frames.put_nowait(message.payload)

    def _on_link_change(self, connected: bool, _reason: str | None) -> None:
        if not connected:
            return
        # Every (re)connect says "online" again: the will may have said "offline" meanwhile.
        task = asyncio.create_task(
            self._connection.publish(self._status, encode_status(GatewayState.ONLINE), retain=True)
        )
        self._announce.add(task)
        task.add_done_callback(self._announced)

    def _announced(self, task: asyncio.Task[None]) -> None:
        self._announce.discard(task)
        if not task.cancelled():
            task.exception()  # a failed announcement is retried on the next connect
