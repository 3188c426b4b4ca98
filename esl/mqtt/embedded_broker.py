"""An in-process MQTT broker (amqtt) on loopback, for when no broker URL is configured.

It lets `esl demo` and a laptop install run with nothing installed by hand. It is not
the production broker: it keeps sessions in memory only, has no ACLs and lets in any
client that sends a username (password unchecked), so it listens on 127.0.0.1 only.
Production uses Mosquitto with the files `esl mqtt config` writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

from amqtt.broker import Broker

from esl.mqtt.errors import EmbeddedBrokerError
from gateways.lifecycle import StartedInContext
from gateways.mqtt.endpoint import BrokerEndpoint

__all__ = ["EMBEDDED_USERNAME", "EmbeddedBroker"]

LOOPBACK = "127.0.0.1"
# Any name works; one is needed so that sessions are not anonymous (see `start`).
EMBEDDED_USERNAME = "esl"


class _SubscriptionTable(dict[str, Any]):
    """amqtt's table of topic filters, iterated over a copy of its keys.

    amqtt 0.12 walks the table with awaits inside the loop (sending a newcomer the
    retained messages filter by filter, broadcasting a message); a client subscribing to
    a new filter meanwhile raised "dictionary changed size during iteration" and killed
    the walking client's session, which then heard nothing: the demo's per-store sessions
    subscribe while others connect.
    """

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]  # a copy, not a view
        return list(super().items())


class _ClosingBroker(Broker):  # type: ignore[misc]  # amqtt is untyped here
    """amqtt's broker, made to close every client socket it accepted, and to survive
    subscriptions made while it walks its filters (`_SubscriptionTable`).

    amqtt skips closing a connection whose peer vanished (its drain fails first), and
    never closes connections still open at shutdown; left to the garbage collector those
    sockets raise ResourceWarnings after the event loop is gone.
    """

    def __init__(self, config: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(config, loop=loop)
        self._subscriptions = _SubscriptionTable()
        self._open_writers: set[asyncio.StreamWriter] = set()

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        self._open_writers.add(writer)
        try:
            await super().stream_connected(reader, writer, listener_name)
        finally:
            self._open_writers.discard(writer)
            writer.close()

    async def shutdown(self) -> None:
        await super().shutdown()
        for writer in list(self._open_writers):
            writer.close()
        self._open_writers.clear()


class EmbeddedBroker(StartedInContext):
    """`async with EmbeddedBroker() as broker: ... broker.endpoint ...`"""

    def __init__(self, *, port: int = 0) -> None:
        self._requested_port = port
        self._broker: _ClosingBroker | None = None
        self._port: int | None = None

    @property
    def endpoint(self) -> BrokerEndpoint:
        if self._port is None:
            raise EmbeddedBrokerError(reason="not started")
        return BrokerEndpoint(host=LOOPBACK, port=self._port, username=EMBEDDED_USERNAME)

    async def start(self) -> None:
        if self._broker is not None:
            return
        # amqtt logs every packet at INFO; a controller log should not drown in them.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{LOOPBACK}:{self._requested_port}"}},
            # Any username is let in (no password check), but a username there must be:
            # amqtt keeps no queued QoS 1 messages for anonymous sessions, and persistent
            # sessions are the point. Listing plugins also drops the default $SYS and
            # packet-logging ones.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}
            },
        }
        broker = _ClosingBroker(config, loop=asyncio.get_running_loop())
        try:
            await broker.start()
        except Exception as exc:  # amqtt wraps every start-up failure in its own BrokerError
            raise EmbeddedBrokerError(reason=str(exc)) from exc
        self._broker = broker
        self._port = _bound_port(broker)

    async def stop(self) -> None:
        broker, self._broker, self._port = self._broker, None, None
        if broker is None:
            return
        # Messages still queued at shutdown (the last clients' "offline" statuses) have
        # nobody left to reach; amqtt's warning about them would only alarm the reader.
        broker_log = logging.getLogger("amqtt.broker")
        level = broker_log.level
        broker_log.setLevel(logging.ERROR)
        try:
            await broker.shutdown()
        finally:
            broker_log.setLevel(level)


def _bound_port(broker: Broker) -> int:
    # Port 0 lets the OS pick a free port atomically (no race with parallel tests); amqtt
    # exposes the bound socket only through its server table.
    server = broker._servers["default"].instance
    sockets = getattr(server, "sockets", None) or ()
    for sock in sockets:
        return int(sock.getsockname()[1])
    raise EmbeddedBrokerError(reason="amqtt did not report its listening socket")
