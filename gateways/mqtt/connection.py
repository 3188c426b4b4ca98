"""One paho-mqtt client driven by the asyncio event loop: the only module that touches paho.

paho runs on the event loop, not in a thread of its own: the loop watches paho's socket
and calls `loop_read`/`loop_write` when it is ready, and once a second `loop_misc`
(keepalive, retries), paho's documented "external event loop" (the `on_socket_*`
callbacks). So every paho callback already runs on the event loop and the state below
needs no locks. At thousands of messages a second, a paho thread cost a hop into the
event loop per burst and a fight for the GIL at every packet.

Only opening a connection blocks (name lookup, TCP, the TLS handshake): it runs in a
worker thread, and what paho calls back there is handed to the event loop.

Delivery is QoS 1 everywhere. `publish` waits for the broker's PUBACK; while the link is
down paho keeps the message and sends it after reconnecting, so `publish` just waits
longer. A message whose PUBLISH packet is larger than the broker's packet limit
(`max_packet_bytes`) is refused here, never handed to paho: the broker would close the
connection, paho would send it first again after reconnecting, and nothing behind it
would ever go out. After a lost or failed connection it connects again, the delay doubling from
`reconnect_delay[0]` to `reconnect_delay[1]` seconds (reset by a successful connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from gateways.base import Clock, system_clock
from gateways.errors import (
    GatewayConnectError,
    GatewayError,
    GatewayNotStartedError,
    PacketTooLargeError,
    PublishError,
)
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.packet_size import DEFAULT_MAX_PACKET_BYTES, publish_packet_bytes

__all__ = [
    "BACKLOG_GRACE",
    "IncomingMessage",
    "LastWill",
    "PahoConnection",
    "apply_endpoint",
    "new_paho_client",
]


# Packets read per wake-up of a socket at most, before other callbacks get their turn.
_READS_PER_WAKE_UP = 64
# How long after resuming a kept session what arrives may be its backlog (a broker
# sends a full queue of 10,000 messages in a few seconds).
BACKLOG_GRACE = timedelta(seconds=10)


def _has_bytes(sock: Any) -> bool:
    """Whether a plain socket has bytes waiting (paho's sockets do not block); a TLS
    socket's raw bytes say nothing of whole records, so: no, and it waits for the next
    wake-up."""
    if isinstance(sock, ssl.SSLSocket) or not isinstance(sock, socket.socket):
        return False
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True  # paho's next read meets the error and handles it


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    topic: str
    payload: bytes
    retained: bool
    received_at: datetime
    # Delivered within `BACKLOG_GRACE` of resuming a session the broker kept: perhaps
    # queued while this client was away, sent an unknown while before `received_at`.
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class LastWill:
    topic: str
    payload: bytes


class _TlsClosingClient(paho.Client):
    """paho's client, except that a failed TLS handshake closes its socket.

    paho 2.x leaves the half-open TLS socket to the garbage collector when the handshake
    fails (an untrusted server, a refused client certificate), once per reconnect attempt.
    `tls_set` below always gives a PROTOCOL_TLS_CLIENT context, which checks the host name
    during the handshake itself, so nothing of paho's own version is lost.
    """

    tls_failure: str | None = None

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        context = self._ssl_context
        if context is None:
            raise ValueError("TLS requested without a TLS context")
        tls_sock = context.wrap_socket(
            tcp_sock, server_hostname=self._host, do_handshake_on_connect=False
        )
        try:
            tls_sock.settimeout(self._connect_timeout)
            tls_sock.do_handshake()
        except BaseException as exc:
            tls_sock.close()
            self.tls_failure = f"TLS handshake failed: {exc}"
            raise
        self.tls_failure = None
        return tls_sock


def new_paho_client(*, client_id: str, clean_session: bool) -> paho.Client:
    """An MQTT 3.1.1 paho client on the version-2 callback API."""
    return _TlsClosingClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=MQTTProtocolVersion.MQTTv311,
    )


def apply_endpoint(client: paho.Client, endpoint: BrokerEndpoint) -> None:
    """Give a paho client the endpoint's credentials and TLS files (before connecting)."""
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls is not None:
        tls = endpoint.tls
        client.tls_set(
            ca_certs=str(tls.ca_file) if tls.ca_file else None,
            certfile=str(tls.cert_file) if tls.cert_file else None,
            keyfile=str(tls.key_file) if tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )


class PahoConnection:
    """A QoS 1 MQTT 3.1.1 session with awaitable connect, subscribe-on-connect and publish."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        *,
        client_id: str,
        persistent_session: bool,
        subscriptions: tuple[str, ...],
        on_message: Callable[[IncomingMessage], None],
        on_link_change: Callable[[bool, str | None], None] | None = None,
        max_in_flight: int = 100,
        max_packet_bytes: int = DEFAULT_MAX_PACKET_BYTES,
        last_will: LastWill | None = None,
        keepalive_s: int = 30,
        reconnect_delay_s: tuple[float, float] = (1, 30),
        clock: Clock = system_clock,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if max_packet_bytes < 1:
            raise ValueError("max_packet_bytes must be at least 1")
        self._endpoint = endpoint
        self._client_id = client_id
        self._persistent_session = persistent_session
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._on_link_change = on_link_change
        self._max_in_flight = max_in_flight
        self._max_packet_bytes = max_packet_bytes
        # The in-flight limit is ours, not paho's: paho rescans every message it holds at
        # each PUBACK when it has a limit (quadratic at thousands in flight).
        self._slots = asyncio.Semaphore(max_in_flight)
        self._last_will = last_will
        self._keepalive_s = keepalive_s
        self._reconnect_delay_s = reconnect_delay_s
        self._clock = clock
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Future[None] | None = None
        # Per message id awaiting its PUBACK: what to call with None, or with the error
        # that ended the wait.
        self._pending: dict[int, Callable[[GatewayError | None], None]] = {}
        self._subscribe_mid: int | None = None
        self._last_failure = "no answer from the broker"
        self._backlog_until: datetime | None = None
        self._connected = False
        self._closed = False
        self._loop_thread: int | None = None
        self._watched_fd: int | None = None  # paho's socket, as the event loop watches it
        self._link_lost = asyncio.Event()
        self._links_up = 0  # connections that reached "subscribed"
        self._upkeep: asyncio.Task[None] | None = None

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight

    @property
    def max_packet_bytes(self) -> int:
        return self._max_packet_bytes

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return self._subscriptions

    @property
    def unacknowledged(self) -> int:
        """Publishes handed to paho and not yet acknowledged by the broker."""
        return len(self._pending)

    async def connect(self, *, timeout_s: float = 10.0) -> None:
        """Connect and subscribe; raise `GatewayConnectError` if that fails within the timeout.

        After the first success it reconnects by itself for as long as we run.
        """
        if self._client is not None:
            raise RuntimeError("a connection connects once; make a new one to start over")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._ready = self._loop.create_future()
        self._client = self._build_client()
        self._upkeep = self._loop.create_task(self._keep_connected(self._client))
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            await self.disconnect()
            raise GatewayConnectError(
                host=self._endpoint.host, port=self._endpoint.port, reason=self._last_failure
            ) from None
        except BaseException:  # refused, or the caller gave up: stop connecting too
            await self.disconnect()
            raise

    def follow(self, subscriptions: tuple[str, ...]) -> None:
        """Subscribe to `subscriptions` instead of those given before (on the event
        loop): the new filters are subscribed, the dropped ones unsubscribed, and the new
        set is what every reconnection subscribes to."""
        added = [topic for topic in subscriptions if topic not in self._subscriptions]
        dropped = [topic for topic in self._subscriptions if topic not in subscriptions]
        self._subscriptions = subscriptions
        client = self._client
        if client is None or not self._connected:
            return  # the next connection subscribes to the new set
        # Not `_subscribing`: the connection is up already; only a reconnection's
        # subscription decides whether the link is ready.
        if added:
            client.subscribe([(topic, 1) for topic in added])
        if dropped:
            client.unsubscribe(dropped)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and return when the broker acknowledged it."""
        (refusal,) = await self.publish_all([(topic, payload)], retain=retain)
        if refusal is not None:
            raise refusal

    async def publish_all(
        self, messages: Sequence[tuple[str, bytes]], *, retain: bool = False
    ) -> list[GatewayError | None]:
        """Publish every (topic, payload) at QoS 1 without waiting in between, then wait
        until the broker acknowledged each; per message, None or why it failed (a
        message too large for the broker's packet limit: `PacketTooLargeError`, at once).

        One waiter for the batch, not a future per message: at thousands of frames a
        second, waking a task per PUBACK cost more than the publishing.
        """
        client, loop = self._client, self._loop
        if client is None or loop is None or self._closed:
            raise GatewayNotStartedError()
        outcomes: list[GatewayError | None] = [None] * len(messages)
        all_settled = loop.create_future()
        waiting = 0
        handed_over = False

        def settled(index: int, refusal: GatewayError | None) -> None:
            nonlocal waiting
            outcomes[index] = refusal
            waiting -= 1
            if waiting == 0 and handed_over and not all_settled.done():
                all_settled.set_result(None)

        for index, (topic, payload) in enumerate(messages):
            refused = await self._hand_to_paho(
                client, topic, payload, retain=retain, settled=functools.partial(settled, index)
            )
            if refused is not None:
                outcomes[index] = refused
                continue
            waiting += 1
        handed_over = True
        if waiting:
            await all_settled
        return outcomes

    async def hand_over(
        self, topic: str, payload: bytes, *, retain: bool = False
    ) -> asyncio.Future[None]:
        """Publish at QoS 1 without waiting for the broker: return once paho has the
        message, behind every one handed over before it (one connection: on a steady
        link the broker gets them in that order; after a reconnection paho sends again
        those on their way only at the broker's CONNACK, so one handed over meanwhile
        may go before them), with a future that ends at its PUBACK, or with the `GatewayError`
        that ended the wait (the connection closed). Refused at once, nothing sent:
        `PacketTooLargeError` (larger than the broker's packet limit), `PublishError`,
        `GatewayNotStartedError`. Waits for a slot while `max_in_flight` are unacknowledged."""
        client, loop = self._client, self._loop
        if client is None or loop is None or self._closed:
            raise GatewayNotStartedError()
        acknowledged: asyncio.Future[None] = loop.create_future()

        def settled(refusal: GatewayError | None) -> None:
            if acknowledged.done():
                return
            if refusal is None:
                acknowledged.set_result(None)
            else:
                acknowledged.set_exception(refusal)

        refused = await self._hand_to_paho(client, topic, payload, retain=retain, settled=settled)
        if refused is not None:
            raise refused
        return acknowledged

    async def _hand_to_paho(
        self,
        client: paho.Client,
        topic: str,
        payload: bytes,
        *,
        retain: bool,
        settled: Callable[[GatewayError | None], None],
    ) -> GatewayError | None:
        """Give paho one message, `settled` called at its PUBACK (None) or with the error
        that ended the wait; or why it was refused at once (nothing sent, `settled` never
        called)."""
        size = publish_packet_bytes(topic, payload)
        if size > self._max_packet_bytes:
            return PacketTooLargeError(topic=topic, size=size, limit=self._max_packet_bytes)
        await self._slots.acquire()  # returns at once while slots are free
        if self._closed:
            self._slots.release()
            return GatewayNotStartedError()
        info = client.publish(topic, payload, qos=1, retain=retain)
        # NO_CONN: paho keeps the message and sends it once the link is back.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._slots.release()
            return PublishError(topic=topic, reason=paho.error_string(info.rc))

        def acknowledged(refusal: GatewayError | None) -> None:
            self._slots.release()
            settled(refusal)

        self._pending[info.mid] = acknowledged
        return None

    async def disconnect(self) -> None:
        """Say goodbye to the broker (no last will) and close the connection."""
        await self._close(say_goodbye=True)

    async def abort(self) -> None:
        """Drop the TCP connection without a DISCONNECT, as a crash would: the will fires."""
        await self._close(say_goodbye=False)

    async def _close(self, *, say_goodbye: bool) -> None:
        client = self._client
        if client is None or self._closed:
            return
        self._closed = True
        await self._stop_upkeep()
        if say_goodbye and client.socket() is not None:
            client.disconnect()  # queued: paho closes the socket once DISCONNECT is written
            for _ in range(100):  # up to a second for a slow link
                if client.socket() is None:
                    break
                await asyncio.sleep(0.01)
        self._close_socket(client)
        self._after_close()

    async def _stop_upkeep(self) -> None:
        upkeep, self._upkeep = self._upkeep, None
        if upkeep is None:
            return
        upkeep.cancel()
        try:
            await upkeep
        except asyncio.CancelledError:
            # The upkeep's own end, expected; but if the task closing us was cancelled
            # meanwhile (a gateway stopping while this session connects), that is its
            # to carry on: swallowed, a store's connect loop retried for ever.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    def _close_socket(self, client: paho.Client) -> None:
        self._unwatch()
        sock = client.socket()
        if sock is not None:
            sock.close()

    def _after_close(self) -> None:
        self._connected = False
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()  # a late refusal must not land on a future nobody awaits
        pending, self._pending = self._pending, {}
        for settle in pending.values():
            settle(GatewayNotStartedError())

    # --- keeping the link up ---------------------------------------------------------

    async def _keep_connected(self, client: paho.Client) -> None:
        """Connect; then run paho's housekeeping until the link is lost, wait, reconnect."""
        first, longest = self._reconnect_delay_s
        delay: float = first
        while not self._closed:
            self._link_lost.clear()
            try:
                # Name lookup, TCP and TLS block: a worker thread; paho then sends CONNECT
                # from the event loop, and the CONNACK arrives as `_paho_on_connect`.
                await asyncio.to_thread(client.reconnect)
            except (OSError, ssl.SSLError, ValueError) as error:
                self._note_failure(
                    getattr(client, "tls_failure", None) or f"broker unreachable: {error}"
                )
            else:
                links_up = self._links_up
                while not self._link_lost.is_set():
                    client.loop_misc()  # keepalive pings, and the link's timeouts
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._link_lost.wait(), 1.0)
                if self._links_up != links_up:  # it was up: start over from the shortest
                    delay = first
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    def _build_client(self) -> paho.Client:
        client = new_paho_client(
            client_id=self._client_id, clean_session=not self._persistent_session
        )
        apply_endpoint(client, self._endpoint)
        if self._last_will is not None:
            client.will_set(self._last_will.topic, self._last_will.payload, qos=1, retain=True)
        client.max_inflight_messages_set(0)  # unlimited: `_slots` bounds it
        # Unbounded: the caller's window, not a silent paho limit, decides how much waits.
        client.max_queued_messages_set(0)
        client.connect_async(self._endpoint.host, self._endpoint.port, self._keepalive_s)
        client.on_socket_open = self._paho_on_socket_open
        client.on_socket_close = self._paho_on_socket_close
        client.on_socket_register_write = self._paho_on_socket_register_write
        client.on_socket_unregister_write = self._paho_on_socket_unregister_write
        client.on_connect = self._paho_on_connect
        client.on_disconnect = self._paho_on_disconnect
        client.on_subscribe = self._paho_on_subscribe
        client.on_publish = self._paho_on_publish
        client.on_message = self._paho_on_message
        return client

    # --- paho's socket, watched by the event loop ------------------------------------

    def _on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        """Call on the event loop: at once when on it, else (the connecting worker) soon."""
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            callback(*args)
            return
        # A closed event loop raises RuntimeError: nobody is left to tell, so drop it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback, *args)

    def _paho_on_socket_open(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        self._on_loop(self._watch, sock.fileno())

    def _paho_on_socket_close(self, _client: paho.Client, _userdata: Any, _sock: Any) -> None:
        self._on_loop(self._unwatch)

    def _paho_on_socket_register_write(
        self, _client: paho.Client, _userdata: Any, _sock: Any
    ) -> None:
        self._on_loop(self._watch_writes, True)

    def _paho_on_socket_unregister_write(
        self, _client: paho.Client, _userdata: Any, _sock: Any
    ) -> None:
        self._on_loop(self._watch_writes, False)

    def _watch(self, fd: int) -> None:
        self._unwatch()
        if self._closed or self._loop is None:
            # Opened by a connecting worker after we closed: nobody will read it.
            if self._client is not None and (sock := self._client.socket()) is not None:
                sock.close()
            return
        self._watched_fd = fd
        self._loop.add_reader(fd, self._readable)

    def _unwatch(self) -> None:
        fd, self._watched_fd = self._watched_fd, None
        if fd is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)

    def _watch_writes(self, wanted: bool) -> None:
        fd, loop, client = self._watched_fd, self._loop, self._client
        if fd is None or loop is None or client is None:
            return
        if wanted:
            loop.add_writer(fd, client.loop_write)
        else:
            loop.remove_writer(fd)

    def _readable(self) -> None:
        client = self._client
        if client is None:
            return
        client.loop_read()
        sock = client.socket()
        reads = 1
        while sock is not None:
            # TLS may hold whole packets already decrypted while the socket reads empty:
            # read them now. paho reads one packet a call when none of ours is in flight
            # (a session that only listens, one per store): what has arrived is read
            # now too, up to a bound, so a burst costs one wake-up, not one per packet.
            tls_pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
            if not tls_pending and (reads >= _READS_PER_WAKE_UP or not _has_bytes(sock)):
                return
            client.loop_read()
            reads += 1
            sock = client.socket()

    # --- paho's callbacks (on the event loop): convert paho's objects to ours ---------

    def _paho_on_connect(
        self, client: paho.Client, _userdata: Any, flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            self._on_loop(self._refused, str(reason))
            return
        # A session the broker kept delivers first what it queued meanwhile.
        self._backlog_until = (
            self._clock() + BACKLOG_GRACE if getattr(flags, "session_present", False) else None
        )
        if not self._subscriptions:
            self._on_loop(self._subscribed, None, ())
            return
        # Always resubscribe: the broker may have lost our session (restart, expiry).
        _, mid = client.subscribe([(topic, 1) for topic in self._subscriptions])
        self._on_loop(self._subscribing, mid)

    def _paho_on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._on_loop(self._link_down, str(reason))

    def _paho_on_subscribe(
        self,
        _client: paho.Client,
        _userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        _props: Any,
    ) -> None:
        refused = tuple(
            topic
            for topic, reason in zip(self._subscriptions, reasons, strict=False)
            if reason.is_failure
        )
        self._on_loop(self._subscribed, mid, refused)

    def _paho_on_publish(
        self, _client: paho.Client, _userdata: Any, mid: int, _reason: Any, _props: Any
    ) -> None:
        self._on_loop(self._acknowledged, mid)

    def _paho_on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        received_at = self._clock()
        backlog_until = self._backlog_until
        incoming = IncomingMessage(
            topic=message.topic,
            payload=bytes(message.payload),
            retained=bool(message.retain),
            received_at=received_at,
            resumed=backlog_until is not None and received_at <= backlog_until,
        )
        self._on_loop(self._deliver, incoming)

    # --- the event loop ------------------------------------------------------------

    def _refused(self, reason: str) -> None:
        self._last_failure = f"refused: {reason}"
        # Closing already (the caller gave up): nobody awaits the refusal any more.
        if self._ready is not None and not self._ready.done() and not self._closed:
            self._ready.set_exception(
                GatewayConnectError(
                    host=self._endpoint.host, port=self._endpoint.port, reason=self._last_failure
                )
            )

    def _note_failure(self, reason: str) -> None:
        self._last_failure = reason

    def _subscribing(self, mid: int) -> None:
        self._subscribe_mid = mid

    def _subscribed(self, mid: int | None, refused: tuple[str, ...]) -> None:
        if mid is not None and mid != self._subscribe_mid:
            return
        if refused:
            self._refused(f"subscription to {', '.join(refused)} not allowed")
            return
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        if self._closed:
            return
        self._connected = True
        self._links_up += 1
        if self._on_link_change is not None:
            self._on_link_change(True, None)

    def _link_down(self, reason: str) -> None:
        self._link_lost.set()
        was_connected = self._connected
        self._connected = False
        self._last_failure = f"disconnected: {reason}"
        if was_connected and not self._closed and self._on_link_change is not None:
            self._on_link_change(False, reason)

    def _acknowledged(self, mid: int) -> None:
        settle = self._pending.pop(mid, None)
        if settle is not None:
            settle(None)

    def _deliver(self, incoming: IncomingMessage) -> None:
        if not self._closed:
            self._on_message(incoming)
