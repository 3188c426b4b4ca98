"""The controller's MQTT transport: `Gateway` over paho-mqtt, QoS 1, a session per store.

The controller publishes each `Downlink` to `esl/v1/{store}/{gateway}/down` on one
session (its client id), and hears each store it serves on a session of that store's
own: client id `{client id}.{store}`, subscribed to `esl/v1/{store}/+/up` and
`.../status`, `clean_session=False`, so the broker keeps the subscriptions and queues the
gateways' QoS 1 uplinks while the controller is away (a restart loses nothing that
reached the broker). A broker queues per session (Mosquitto's `max_queued_messages`):
on one session for every store, a store's login flooding its `up` topic filled that
queue and the broker dropped whatever came next, any store's answers; now it fills
only its own store's. With a login, a store's session logs in as
`{username}.{store}` (`store_session_username`, the account `esl mqtt config` writes;
Mosquitto there takes the username as the client id) with the same password.

The stores come from `stores`, and from `follow_stores` while running (a worker's
share; a single controller follows the database's stores). Until then, with
`stores=None`, every store is heard on the publishing session, through `esl/v1/+/+/up`
and `.../status`, as a watcher (or a test) needs; the first `follow_stores` moves to
one session per store. A frame for a store whose session is still connecting for the
first time waits for it, so its answer is not published before anyone hears it.

All sessions are paho clients on the event loop (`connection.py`): one socket each,
one keepalive task each, no thread each; a thousand stores are a thousand sockets and
a thousand once-a-second housekeeping calls. The sessions are read as fast as they
deliver: a flooding store's uplinks beyond `max_queued_per_store` are dropped here,
and what the controller cannot read in time queues (and past the broker's bound is
dropped) on that store's session alone.

`send` returns at the broker's PUBACK. A frame whose PUBLISH packet is larger than the
broker's packet limit (`max_packet_bytes`, `ESL_MQTT_MAX_PACKET_BYTES`) is refused at
once with `PacketTooLargeError` and never sent: the broker would close the connection
on it, paho would send it first again after every reconnection, and no frame of any
store behind it would go out. At most `max_in_flight` publishes are
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
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from gateways.base import (
    Clock,
    Downlink,
    Gateway,
    GatewayEvent,
    GatewayStatus,
    TransportKind,
    TransportStatus,
    UnheardStore,
    Uplink,
    system_clock,
)
from gateways.errors import GatewayError, GatewayNotStartedError, InvalidTopicPartError
from gateways.mqtt.connection import IncomingMessage, PahoConnection
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.packet_size import DEFAULT_MAX_PACKET_BYTES
from gateways.mqtt.topics import (
    TopicKind,
    decode_status,
    is_topic_part,
    parse_topic,
    store_session_username,
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
        max_packet_bytes: int = DEFAULT_MAX_PACKET_BYTES,
        max_queued_per_store: int = 10_000,
        connect_timeout_s: float = 10.0,
        reconnect_delay_s: tuple[float, float] = (1, 30),
        clock: Clock = system_clock,
    ) -> None:
        self._stores = (
            None
            if stores is None
            else frozenset(validate_topic_part(s, kind="store") for s in stores)
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
        self._endpoint = endpoint
        self._client_id = client_id
        self._reconnect_delay_s = reconnect_delay_s
        self._connection = PahoConnection(
            endpoint,
            client_id=client_id,
            # No stores named: every store here, until the first `follow_stores`. Else it
            # only publishes: a clean session, which drops what an earlier run of the
            # same client id subscribed.
            persistent_session=self._stores is None,
            subscriptions=subscription_filters(None) if self._stores is None else (),
            on_message=self._on_message,
            on_link_change=self._on_link_change,
            max_in_flight=max_in_flight,
            max_packet_bytes=max_packet_bytes,
            reconnect_delay_s=reconnect_delay_s,
            clock=clock,
        )
        # Per store served, its session; and until that session's first connection has
        # settled (up, or given up), the event the store's frames wait on.
        self._sessions: dict[str, PahoConnection] = {
            store: self._store_session(store) for store in sorted(self._stores or ())
        }
        self._first_connection: dict[str, asyncio.Event] = {}
        # Per store served whose own session is not connected now: since when, and why.
        self._unheard: dict[str, UnheardStore] = {
            store: UnheardStore(since=clock(), reason="connecting") for store in self._sessions
        }
        self._tasks: set[asyncio.Task[None]] = set()  # closing sessions, leaving wildcards
        # Stores whose session this gateway closed: taken again, it starts a new session.
        self._given_up: set[str] = set()
        self._connecting: set[asyncio.Task[None]] = set()  # stores' sessions connecting
        self._running = False

    @property
    def max_in_flight(self) -> int:
        return self._connection.max_in_flight

    @property
    def max_packet_bytes(self) -> int:
        """The broker's packet limit assumed: larger frames are refused, not sent."""
        return self._connection.max_packet_bytes

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

    @property
    def store_sessions(self) -> frozenset[str]:
        """The stores heard on a session of their own now."""
        return frozenset(self._sessions)

    @property
    def unheard_stores(self) -> Mapping[str, UnheardStore]:
        """Stores followed whose own session is not connected (refused, unreachable, its
        link down). None while the publishing session still hears every store on its
        wildcards (until each store's session first connects)."""
        if self._connection.subscriptions:
            return {}
        return dict(self._unheard)

    async def start(self) -> None:
        sessions = list(self._sessions.values())
        try:
            await asyncio.gather(
                self._connection.connect(timeout_s=self._connect_timeout_s),
                *(session.connect(timeout_s=self._connect_timeout_s) for session in sessions),
            )
        except BaseException:
            await asyncio.gather(
                self._connection.disconnect(), *(session.disconnect() for session in sessions)
            )
            raise
        self._running = True
        for store, session in list(self._sessions.items()):
            if session not in sessions:  # followed while the others connected
                self._first_connection[store] = asyncio.Event()
                self._spawn(self._connect_store(store, session), self._connecting)

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        # Connecting stops; closing finishes (a session's socket is not left open).
        connecting, self._connecting = self._connecting, set()
        for task in connecting:
            task.cancel()
        await asyncio.gather(*connecting, *self._tasks, return_exceptions=True)
        sessions, self._sessions = list(self._sessions.values()), {}
        self._unheard.clear()
        await asyncio.gather(
            self._connection.disconnect(), *(session.disconnect() for session in sessions)
        )
        self._events.put_nowait(None)

    async def send(self, downlink: Downlink) -> None:
        if not self._running:
            raise GatewayNotStartedError()
        await self._heard((downlink,))
        topic = topic_for(store=downlink.store, gateway=downlink.gateway, kind=TopicKind.DOWN)
        await self._connection.publish(topic, downlink.payload)

    async def send_all(self, downlinks: Sequence[Downlink]) -> list[GatewayError | None]:
        if not self._running:
            raise GatewayNotStartedError()
        await self._heard(downlinks)
        # A frame whose store or gateway id no topic can carry is refused alone: the
        # batch holds every store's due frames, and the others must still go out.
        outcomes: list[GatewayError | None] = [None] * len(downlinks)
        publishing: list[int] = []
        messages: list[tuple[str, bytes]] = []
        for index, downlink in enumerate(downlinks):
            try:
                topic = topic_for(
                    store=downlink.store, gateway=downlink.gateway, kind=TopicKind.DOWN
                )
            except InvalidTopicPartError as error:
                outcomes[index] = error
                continue
            publishing.append(index)
            messages.append((topic, downlink.payload))
        if messages:
            published = await self._connection.publish_all(messages)
            for index, outcome in zip(publishing, published, strict=True):
                outcomes[index] = outcome
        return outcomes

    def follow_stores(self, stores: frozenset[str]) -> None:
        """Hear these stores only, each on a session of its own (on the event loop): a
        session for each store new here, the sessions of stores left closed (the broker
        keeps what they queued, for whoever resumes them)."""
        unheard = sorted(store for store in stores if not is_topic_part(store))
        if unheard:
            # No gateway can publish for a code no topic carries: nothing to hear.
            log.warning("stores no MQTT topic can name, not heard: %s", ", ".join(unheard))
            stores = stores.difference(unheard)
        self._stores = stores
        for store in set(self._sessions) - stores:
            self._spawn(self._leave(self._sessions.pop(store)))
            self._given_up.add(store)
            self._first_connection.pop(store, None)
            self._unheard.pop(store, None)
        added = []
        for store in sorted(stores - set(self._sessions)):
            self._sessions[store] = session = self._store_session(store)
            self._not_heard(store, "connecting")
            if self._running:
                self._first_connection[store] = asyncio.Event()
                connecting = self._connect_store(store, session, anew=store in self._given_up)
                added.append(self._spawn(connecting, self._connecting))
        if self._connection.subscriptions:
            # The first follow after hearing every store on the publishing session: leave
            # the wildcards once the new sessions hear their stores (both may hear an
            # answer meanwhile; settling takes a duplicate as one).
            self._spawn(self._leave_wildcards(added))

    def _spawn(
        self, work: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]] | None = None
    ) -> asyncio.Task[None]:
        held = self._tasks if tasks is None else tasks
        task = asyncio.ensure_future(work)
        held.add(task)
        task.add_done_callback(held.discard)
        return task

    async def _leave(self, session: PahoConnection) -> None:
        """Close a store's session given up, unsubscribed first: the broker would keep
        queueing the store's answers for a session nobody resumes (its client id is this
        controller's). Its uplinks still arriving are dropped (`_on_message`)."""
        session.follow(())
        await session.disconnect()

    async def _leave_wildcards(self, connecting: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*connecting, return_exceptions=True)
        self._connection.follow(())

    def _store_login(self, store: str) -> tuple[BrokerEndpoint, str]:
        """The endpoint (its login the store's) and the client id of a store's session."""
        endpoint = self._endpoint
        if endpoint.username is not None:
            endpoint = replace(endpoint, username=store_session_username(endpoint.username, store))
        return endpoint, f"{self._client_id}.{store}"

    def _store_session(self, store: str) -> PahoConnection:
        endpoint, client_id = self._store_login(store)
        session = PahoConnection(
            endpoint,
            client_id=client_id,
            persistent_session=True,
            subscriptions=subscription_filters((store,)),
            on_message=self._on_message,
            on_link_change=lambda up, reason: self._store_link(store, session, up, reason),
            max_packet_bytes=self._connection.max_packet_bytes,
            reconnect_delay_s=self._reconnect_delay_s,
            clock=self._clock,
        )
        return session

    def _store_link(
        self, store: str, session: PahoConnection, connected: bool, reason: str | None
    ) -> None:
        """A store's session came up (heard) or lost its link (not heard until it is back)."""
        if self._sessions.get(store) is not session:
            return  # a session given up, or replaced after failing to connect
        if connected:
            self._unheard.pop(store, None)
        else:
            self._not_heard(store, f"link down: {reason}")

    def _not_heard(self, store: str, reason: str) -> None:
        """Keep since when a store is not heard; update why."""
        before = self._unheard.get(store)
        since = self._clock() if before is None else before.since
        self._unheard[store] = UnheardStore(since=since, reason=reason)

    async def _connect_store(
        self, store: str, session: PahoConnection, *, anew: bool = False
    ) -> None:
        """Connect a store's session; refused or unreachable, try again with a new one
        after the reconnect delay, doubling (a session reconnects by itself only after
        its first success). `anew`: the store was given up by this gateway before, and
        its earlier session is ended first (`_end_earlier_session`)."""
        first, longest = self._reconnect_delay_s
        delay = first
        while True:
            try:
                if anew:
                    await self._end_earlier_session(store)
                    anew = False
                await session.connect(timeout_s=self._connect_timeout_s)
                return
            except GatewayError as error:
                log.warning("could not hear store %s on its own session: %s", store, error)
                if self._sessions.get(store) is session:
                    self._not_heard(store, str(error))
            finally:
                if (waiting := self._first_connection.pop(store, None)) is not None:
                    waiting.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)
            if not self._running or self._sessions.get(store) is not session:
                return  # stopping, or no longer followed
            self._sessions[store] = session = self._store_session(store)

    async def _end_earlier_session(self, store: str) -> None:
        """End the session this gateway closed when it gave `store` up: one connection
        under its client id with a clean session, closed at once (the broker discards
        the earlier session and what it held). Resumed instead, it delivered what it had
        left unacknowledged then (the worker busy as it gave the store up): answers and
        check-ins of that earlier holding, read as new; a check-in older than the
        answers the record holds made the record forget what its label shows, and the
        label was planned again (`esl.pipeline.check_ins`)."""
        endpoint, client_id = self._store_login(store)
        ending = PahoConnection(
            endpoint,
            client_id=client_id,
            persistent_session=False,
            subscriptions=(),
            on_message=lambda _message: None,
            max_packet_bytes=self._connection.max_packet_bytes,
            clock=self._clock,
        )
        await ending.connect(timeout_s=self._connect_timeout_s)
        await ending.disconnect()

    async def _heard(self, downlinks: Sequence[Downlink]) -> None:
        """Wait until the session of each store in `downlinks` has first connected, or
        failed to: an answer published before its subscription would be heard by nobody."""
        if not self._first_connection:
            return
        for store in {d.store for d in downlinks}:
            if (waiting := self._first_connection.get(store)) is not None:
                await waiting.wait()

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
        try:
            event = self._event_from(message)
        except Exception:
            # Called from paho's read loop: an exception escaping it leaves the message
            # unacknowledged, the broker delivers it again and again, and nothing after
            # it on that session is heard. A message we cannot read is one we ignore.
            self._ignored_messages += 1
            log.exception(
                "ignored MQTT message on %s (%d bytes): unreadable",
                message.topic,
                len(message.payload),
            )
            return
        if event is None:
            self._ignored_messages += 1
            log.warning(
                "ignored MQTT message on %s (%d bytes)", message.topic, len(message.payload)
            )
            return
        if self._stores is not None and event.store not in self._stores:
            return  # a store given up, its session closing
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

    def _event_from(self, message: IncomingMessage) -> Uplink | GatewayStatus | None:
        address = parse_topic(message.topic)
        if address is None:
            return None
        if address.kind is TopicKind.UP:
            return Uplink(
                store=address.store,
                gateway=address.gateway,
                payload=message.payload,
                received_at=message.received_at,
                resumed=message.resumed,
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
