"""One paho-mqtt client driven from asyncio: the only module that touches paho objects.

paho runs its network loop in its own thread (`loop_start`) and calls us back there.
Every callback turns paho's objects into our frozen values on the spot and hops into the
event loop with `call_soon_threadsafe`; all state below is read and written on the event
loop only, so it needs no locks. (Same design as aiomqtt v2's `client.py`.)

Delivery is QoS 1 everywhere. `publish` waits for the broker's PUBACK; while the link is
down paho keeps the message and sends it after reconnecting, so `publish` just waits
longer. Reconnection is paho's own loop, with the delay doubling from
`reconnect_delay[0]` to `reconnect_delay[1]` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from gateways.base import Clock, system_clock
from gateways.errors import (
    GatewayConnectError,
    GatewayError,
    GatewayNotStartedError,
    PublishError,
)
from gateways.mqtt.endpoint import BrokerEndpoint

__all__ = [
    "IncomingMessage",
    "LastWill",
    "PahoConnection",
    "apply_endpoint",
    "new_paho_client",
]


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    topic: str
    payload: bytes
    retained: bool
    received_at: datetime


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
        last_will: LastWill | None = None,
        keepalive_s: int = 30,
        reconnect_delay_s: tuple[int, int] = (1, 30),
        clock: Clock = system_clock,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._endpoint = endpoint
        self._client_id = client_id
        self._persistent_session = persistent_session
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._on_link_change = on_link_change
        self._max_in_flight = max_in_flight
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
        self._connected = False
        self._closed = False
        # Calls from paho's thread waiting for the event loop, and whether a drain is due.
        self._posted: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._post_lock = threading.Lock()
        self._drain_due = False

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def unacknowledged(self) -> int:
        """Publishes handed to paho and not yet acknowledged by the broker."""
        return len(self._pending)

    async def connect(self, *, timeout_s: float = 10.0) -> None:
        """Connect and subscribe; raise `GatewayConnectError` if that fails within the timeout.

        After the first success paho reconnects by itself for as long as we run.
        """
        if self._client is not None:
            raise RuntimeError("a connection connects once; make a new one to start over")
        self._loop = asyncio.get_running_loop()
        self._ready = self._loop.create_future()
        client = self._build_client()
        self._client = client
        client.connect_async(self._endpoint.host, self._endpoint.port, self._keepalive_s)
        client.loop_start()
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            await self.disconnect()
            raise GatewayConnectError(
                host=self._endpoint.host, port=self._endpoint.port, reason=self._last_failure
            ) from None
        except BaseException:  # refused, or the caller gave up: stop paho's thread too
            await self.disconnect()
            raise

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and return when the broker acknowledged it."""
        (refusal,) = await self.publish_all([(topic, payload)], retain=retain)
        if refusal is not None:
            raise refusal

    async def publish_all(
        self, messages: Sequence[tuple[str, bytes]], *, retain: bool = False
    ) -> list[GatewayError | None]:
        """Publish every (topic, payload) at QoS 1 without waiting in between, then wait
        until the broker acknowledged each; per message, None or why it failed.

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
            self._slots.release()
            outcomes[index] = refusal
            waiting -= 1
            if waiting == 0 and handed_over and not all_settled.done():
                all_settled.set_result(None)

        for index, (topic, payload) in enumerate(messages):
            await self._slots.acquire()  # returns at once while slots are free
            if self._closed:
                self._slots.release()
                outcomes[index] = GatewayNotStartedError()
                continue
            info = client.publish(topic, payload, qos=1, retain=retain)
            # NO_CONN: paho keeps the message and sends it once the link is back.
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                self._slots.release()
                outcomes[index] = PublishError(topic=topic, reason=paho.error_string(info.rc))
                continue
            waiting += 1
            self._pending[info.mid] = functools.partial(settled, index)
        handed_over = True
        if waiting:
            await all_settled
        return outcomes

    async def disconnect(self) -> None:
        """Say goodbye to the broker (no last will) and stop paho's thread."""
        client = self._client
        if client is None or self._closed:
            return
        self._closed = True
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)
        self._after_close()

    async def abort(self) -> None:
        """Drop the TCP connection without a DISCONNECT, as a crash would: the will fires."""
        client = self._client
        if client is None or self._closed:
            return
        self._closed = True
        await asyncio.to_thread(client.loop_stop)
        sock = client.socket()
        if sock is not None:
            sock.close()
        self._after_close()

    def _after_close(self) -> None:
        self._connected = False
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()  # a late refusal must not land on a future nobody awaits
        pending, self._pending = self._pending, {}
        for settle in pending.values():
            settle(GatewayNotStartedError())

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
        client.reconnect_delay_set(*self._reconnect_delay_s)
        client.on_connect = self._paho_on_connect
        client.on_connect_fail = self._paho_on_connect_fail
        client.on_disconnect = self._paho_on_disconnect
        client.on_subscribe = self._paho_on_subscribe
        client.on_publish = self._paho_on_publish
        client.on_message = self._paho_on_message
        return client

    # --- paho's network thread: convert, then hop into the event loop -----------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        # One wake-up of the event loop per burst, not per message: at thousands of
        # PUBACKs and messages a second, waking the loop for each (a write to its
        # self-pipe, a read, a handle) cost more than handling them.
        loop = self._loop
        if loop is None:
            return
        self._posted.append((callback, args))
        with self._post_lock:
            if self._drain_due:
                return
            self._drain_due = True
        # A closed event loop raises RuntimeError: nobody is left to tell, so drop it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._drain_posted)

    def _drain_posted(self) -> None:
        with self._post_lock:
            self._drain_due = False
        posted = self._posted
        while posted:
            callback, args = posted.popleft()
            callback(*args)

    def _paho_on_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            self._post(self._refused, str(reason))
            return
        if not self._subscriptions:
            self._post(self._subscribed, None, ())
            return
        # Always resubscribe: the broker may have lost our session (restart, expiry).
        _, mid = client.subscribe([(topic, 1) for topic in self._subscriptions])
        self._post(self._subscribing, mid)

    def _paho_on_connect_fail(self, client: paho.Client, _userdata: Any) -> None:
        self._post(self._note_failure, getattr(client, "tls_failure", None) or "broker unreachable")

    def _paho_on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._post(self._link_down, str(reason))

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
        self._post(self._subscribed, mid, refused)

    def _paho_on_publish(
        self, _client: paho.Client, _userdata: Any, mid: int, _reason: Any, _props: Any
    ) -> None:
        self._post(self._acknowledged, mid)

    def _paho_on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        incoming = IncomingMessage(
            topic=message.topic,
            payload=bytes(message.payload),
            retained=bool(message.retain),
            received_at=self._clock(),
        )
        self._post(self._deliver, incoming)

    # --- the event loop ------------------------------------------------------------

    def _refused(self, reason: str) -> None:
        self._last_failure = f"refused: {reason}"
        if self._ready is not None and not self._ready.done():
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
        if self._on_link_change is not None:
            self._on_link_change(True, None)

    def _link_down(self, reason: str) -> None:
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
