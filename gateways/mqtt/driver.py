"""The controller's MQTT transport: `Gateway` over paho-mqtt, QoS 1, persistent session.

The controller connects with a stable client id and `clean_session=False`, so the
broker keeps its subscriptions and queues the gateways' QoS 1 uplinks while the
controller is away (a restart loses nothing that reached the broker). It subscribes to
`esl/v1/+/+/up` and `esl/v1/+/+/status` (or only the configured stores') and publishes
each `Downlink` to `esl/v1/{store}/{gateway}/down`.

`send` returns at the broker's PUBACK. At most `max_in_flight` publishes are
unacknowledged on the wire; further sends wait for a slot; the per-gateway window that
keeps a store from being flooded is the pipeline's, built on `send` and `Uplink`s.

A store gateway's login may publish on its store's `up` topic as fast as it likes: at
most `max_queued_per_store` uplinks of one store wait in the events queue at once; the
excess is dropped and counted per store (`dropped_uplinks`, logged at most once a
minute), so a flooding store neither grows memory without limit nor crowds out other
stores' answers. A dropped answer costs its frame a resend after its answer timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta

from gateways.base import (
    Clock,
    Downlink,
    Gateway,
    GatewayEvent,
    GatewayStatus,
    TransportKind,
    TransportStatus,
    Uplink,
    system_clock,
)
from gateways.errors import GatewayError, GatewayNotStartedError
from gateways.mqtt.connection import IncomingMessage, PahoConnection
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.topics import (
    TopicKind,
    decode_status,
    parse_topic,
    subscription_filters,
    topic_for,
    validate_topic_part,
)

__all__ = ["DEFAULT_CONTROLLER_CLIENT_ID", "MqttGateway"]

log = logging.getLogger(__name__)

DEFAULT_CONTROLLER_CLIENT_ID = "esl-controller"
# A flood drops thousands a second: one line a minute says who and how many.
_DROP_REPORT_EVERY = timedelta(minutes=1)


class MqttGateway(Gateway):
    """Talks to every store gateway through one MQTT broker."""

    transport = TransportKind.MQTT

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        *,
        client_id: str = DEFAULT_CONTROLLER_CLIENT_ID,
        stores: tuple[str, ...] | None = None,
        max_in_flight: int = 100,
        max_queued_per_store: int = 10_000,
        connect_timeout_s: float = 10.0,
        reconnect_delay_s: tuple[float, float] = (1, 30),
        clock: Clock = system_clock,
    ) -> None:
        self._stores = (
            None if stores is None else tuple(validate_topic_part(s, kind="store") for s in stores)
        )
        self._clock = clock
        self._connect_timeout_s = connect_timeout_s
        self._events: asyncio.Queue[GatewayEvent | None] = asyncio.Queue()
        self._ignored_messages = 0
        if max_queued_per_store < 1:
            raise ValueError("a store must be able to queue at least one uplink")
        self._max_queued_per_store = max_queued_per_store
        self._queued: Counter[str] = Counter()  # per store, uplinks in `_events`
        self._dropped: Counter[str] = Counter()
        self._unreported: Counter[str] = Counter()
        self._next_report: datetime | None = None
        self._connection = PahoConnection(
            endpoint,
            client_id=client_id,
            persistent_session=True,
            subscriptions=subscription_filters(self._stores),
            on_message=self._on_message,
            on_link_change=self._on_link_change,
            max_in_flight=max_in_flight,
            reconnect_delay_s=reconnect_delay_s,
            clock=clock,
        )
        self._running = False

    @property
    def max_in_flight(self) -> int:
        return self._connection.max_in_flight

    @property
    def unacknowledged(self) -> int:
        """Sends waiting for the broker's PUBACK right now."""
        return self._connection.unacknowledged

    @property
    def connected(self) -> bool:
        return self._connection.connected

    @property
    def ignored_messages(self) -> int:
        """Messages on our subscriptions that were not in our layout or format (dropped)."""
        return self._ignored_messages

    @property
    def dropped_uplinks(self) -> Mapping[str, int]:
        return self._dropped

    async def start(self) -> None:
        await self._connection.connect(timeout_s=self._connect_timeout_s)
        self._running = True

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        await self._connection.disconnect()
        self._events.put_nowait(None)

    async def send(self, downlink: Downlink) -> None:
        if not self._running:
            raise GatewayNotStartedError()
        topic = topic_for(store=downlink.store, gateway=downlink.gateway, kind=TopicKind.DOWN)
        await self._connection.publish(topic, downlink.payload)

    async def send_all(self, downlinks: Sequence[Downlink]) -> list[GatewayError | None]:
        if not self._running:
            raise GatewayNotStartedError()
        return await self._connection.publish_all(
            [
                (topic_for(store=d.store, gateway=d.gateway, kind=TopicKind.DOWN), d.payload)
                for d in downlinks
            ]
        )

    def follow_stores(self, stores: frozenset[str]) -> None:
        """Subscribe to these stores' uplinks and statuses only (a worker's share)."""
        self._stores = tuple(validate_topic_part(s, kind="store") for s in sorted(stores))
        self._connection.follow(subscription_filters(self._stores))

    async def events(self) -> AsyncIterator[GatewayEvent]:
        while (event := await self._events.get()) is not None:
            if isinstance(event, Uplink):
                self._queued[event.store] -= 1
            yield event

    def _on_link_change(self, connected: bool, reason: str | None) -> None:
        self._events.put_nowait(
            TransportStatus(connected=connected, at=self._clock(), reason=reason)
        )

    def _on_message(self, message: IncomingMessage) -> None:
        event = self._event_from(message)
        if event is None:
            self._ignored_messages += 1
            log.warning(
                "ignored MQTT message on %s (%d bytes)", message.topic, len(message.payload)
            )
            return
        if isinstance(event, Uplink):
            if self._queued[event.store] >= self._max_queued_per_store:
                self._drop(event)
                return
            self._queued[event.store] += 1
        self._events.put_nowait(event)

    def _drop(self, uplink: Uplink) -> None:
        self._dropped[uplink.store] += 1
        self._unreported[uplink.store] += 1
        now = self._clock()
        if self._next_report is not None and now < self._next_report:
            return
        log.warning(
            "dropped uplinks over the bound of %d queued per store: %s",
            self._max_queued_per_store,
            ", ".join(f"{store} {count}" for store, count in sorted(self._unreported.items())),
        )
        self._unreported.clear()
        self._next_report = now + _DROP_REPORT_EVERY

    def _event_from(self, message: IncomingMessage) -> GatewayEvent | None:
        address = parse_topic(message.topic)
        if address is None:
            return None
        if address.kind is TopicKind.UP:
            return Uplink(
                store=address.store,
                gateway=address.gateway,
                payload=message.payload,
                received_at=message.received_at,
            )
        if address.kind is TopicKind.STATUS:
            status = decode_status(message.payload)
            if status is None:
                return None
            state, reason = status
            return GatewayStatus(
                store=address.store,
                gateway=address.gateway,
                state=state,
                received_at=message.received_at,
                reason=reason,
            )
        return None
