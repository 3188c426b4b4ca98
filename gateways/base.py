"""The small interface every transport implements, and the values that cross it.

The update pipeline talks to stores only through `Gateway`: it sends `Downlink`s and
reads `GatewayEvent`s. A transport (MQTT in `gateways/mqtt/`, BLE later in
`gateways/ble/`) converts its library's objects into these frozen values at its edge, so
nothing above this module ever sees a paho or bleak type.

`gateway_class(TransportKind.MQTT)` imports a transport only when asked for it, so
`import gateways` stays free of paho and bleak.
"""

from __future__ import annotations

import asyncio
import importlib
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from gateways.errors import GatewayError, UnknownTransportError
from gateways.lifecycle import StartedInContext

__all__ = [
    "Clock",
    "Downlink",
    "Gateway",
    "GatewayEvent",
    "GatewayState",
    "GatewayStatus",
    "TransportKind",
    "TransportStatus",
    "UnheardStore",
    "Uplink",
    "gateway_class",
    "system_clock",
]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock in UTC; transports take a `Clock` so tests can pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Downlink:
    """One protocol frame for one label, addressed to the store gateway that reaches it.

    `label_id` travels with the frame for bookkeeping only; the frame itself carries the
    label address the gateway acts on.
    """

    store: str
    gateway: str
    label_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Uplink:
    """Bytes a store gateway sent up (label responses), stamped when the controller got them."""

    store: str
    gateway: str
    payload: bytes
    received_at: datetime
    # Perhaps queued at the broker while the controller was away (delivered as its kept
    # session resumed): sent an unknown while before `received_at`.
    resumed: bool = False


class GatewayState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """A store gateway went online or offline (for MQTT: its retained status or last will)."""

    store: str
    gateway: str
    state: GatewayState
    received_at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TransportStatus:
    """The controller's own link (to the broker) went up or down.

    While it is down `send` waits rather than fails; the pipeline can use this to stop
    counting time against its acknowledgement deadlines.
    """

    connected: bool
    at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class UnheardStore:
    """A store the transport should hear and cannot: since when, and the last reason
    (its login refused, its link down). Frames still go out to it; its labels' answers
    wait at the broker (or are lost), so the controller cannot confirm them."""

    since: datetime
    reason: str


GatewayEvent = Uplink | GatewayStatus | TransportStatus


class Gateway(StartedInContext):
    """A transport to the store gateways, as the update pipeline uses it.

    `send` returns once the transport has accepted the frame (MQTT: the broker's PUBACK
    for QoS 1); whether the label applied it arrives later as an `Uplink`. `events()` is
    a single-consumer stream that ends after `stop()`. An instance starts once; to start
    over, make a new one.
    """

    transport: TransportKind

    @abstractmethod
    async def start(self) -> None:
        """Connect; raise a `GatewayError` if the transport cannot be reached."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect; sends still waiting for acceptance fail with `GatewayNotStartedError`."""

    @abstractmethod
    async def send(self, downlink: Downlink) -> None:
        """Hand one frame to the transport and wait until it accepted it."""

    async def send_all(self, downlinks: Sequence[Downlink]) -> list[GatewayError | None]:
        """Hand several frames over and wait until each is accepted or refused; per frame,
        in order, None or the `GatewayError` that refused it.

        Sends them concurrently; a transport that takes a batch more cheaply (MQTT:
        publish all, then await the PUBACKs) overrides this.
        """
        results = await asyncio.gather(*(self.send(d) for d in downlinks), return_exceptions=True)
        return [_refusal(result) for result in results]

    @abstractmethod
    def events(self) -> AsyncIterator[GatewayEvent]:
        """Uplinks and status changes, in arrival order."""

    @property
    def dropped_uplinks(self) -> Mapping[str, int]:
        """Per store, uplinks the transport dropped since start because too many of that
        store's were queued (a store flooding its topic); none unless it bounds them."""
        return {}

    @property
    def unheard_stores(self) -> Mapping[str, UnheardStore]:
        """Stores served and not heard now (a store's own session not connected); none
        for a transport that hears every store on its one link."""
        return {}

    def follow_stores(self, stores: frozenset[str]) -> None:
        """Hear only these stores from now on (a worker's share of the stores, or a
        single controller's database stores; on the event loop). A transport that
        cannot narrow what it hears ignores it: the pipeline drops other stores' events
        itself. MQTT hears each on a session of its own (`gateways.mqtt.driver`)."""
        return

    @property
    @abstractmethod
    def max_in_flight(self) -> int:
        """How many sends the transport keeps unacknowledged on the wire at once."""


def _refusal(result: BaseException | None) -> GatewayError | None:
    """A send's outcome: None, or its `GatewayError`; anything else is a bug, raised."""
    if result is None or isinstance(result, GatewayError):
        return result
    raise result


class TransportKind(StrEnum):
    MQTT = "mqtt"
    BLE = "ble"


# Module and class per transport, imported on first use only.
_DRIVERS: dict[TransportKind, tuple[str, str]] = {
    TransportKind.MQTT: ("gateways.mqtt.driver", "MqttGateway"),
    TransportKind.BLE: ("gateways.ble.driver", "BleGateway"),
}


def gateway_class(kind: TransportKind | str) -> type[Gateway]:
    """The `Gateway` implementation for a transport, importing its library only now."""
    try:
        transport = TransportKind(kind)
    except ValueError:
        raise UnknownTransportError(transport=str(kind), reason="not a known transport") from None
    module_name, class_name = _DRIVERS[transport]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownTransportError(transport=transport.value, reason=str(exc)) from exc
    driver = getattr(module, class_name)
    if not (isinstance(driver, type) and issubclass(driver, Gateway)):
        raise UnknownTransportError(transport=transport.value, reason=f"{class_name} is no Gateway")
    return driver
