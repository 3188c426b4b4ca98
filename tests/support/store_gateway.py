"""A store gateway process (`esl gateway oepl`) under test, as its controller meets it: the
gateway S01/S01-ap1 over its state file and a radio, its broker link a `DelayedLink`
read off the wire (`MqttWire`), and what the controller's transport hears on its
`.../up`, in its order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from esl.bench._delayed_link import DelayedLink
from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.base import Downlink, Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint, parse_broker_url
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FrameRejectedError,
    LabelResponse,
    decode_gateway_report,
    decode_response,
    peek_header,
)
from gateways.store_gateway.local_state import LabelRecord, LocalState
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from gateways.store_gateway.radio import LabelHealth
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.mqtt_wire import MqttWire
from tests.support.oepl import FAST_AP, HW_29_BWR, tag_mac
from tests.support.waiting import until

__all__ = [
    "GATEWAY",
    "STORE",
    "ControllerSide",
    "GatewayUnderTest",
    "Stall",
    "TickCountingRadio",
    "controller_side",
    "first_heard",
    "gateway_under_test",
    "served_tags",
    "signed_word",
    "state_with_labels",
    "store_gateway",
]

STORE = "S01"
GATEWAY = "S01-ap1"
_NOT_YET = datetime.max.replace(tzinfo=UTC)  # a stall's end while it lasts


@asynccontextmanager
async def served_tags(*, checking_in: int, silent: int) -> AsyncIterator[ServedAccessPoint]:
    """An emulated AP (`FAST_AP`) serving 2.9" BWR tags: `checking_in` of them heard all
    the time (`tag_mac` 1 on), then `silent` ones out of range."""
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time()
    for number in range(1, checking_in + silent + 1):
        tag = EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR, checks_in=number <= checking_in)
        ap.add_tag(tag, now=now)
    async with ServedAccessPoint(ap) as served:
        yield served


class TickCountingRadio(OeplRadio):
    """The real radio over the emulated AP at `url`, counting the gateway's health ticks
    (each asks it what it heard, after the tick's WAITING reports are queued). A tag's
    answer is waited for long past any test: a frame of a silent tag stays carried."""

    def __init__(self, url: str) -> None:
        timings = DriverTimings(poll_s=0.02, confirm_timeout_s=120.0, busy_base_delay_s=0.01)
        super().__init__(AccessPointDriver(AccessPointClient(url), timings=timings))
        self.ticks = 0

    async def health(self) -> dict[str, LabelHealth]:
        self.ticks += 1
        return await super().health()


def state_with_labels(path: Path, keys: dict[str, bytes]) -> LocalState:
    """A state file listing each tag of `keys` (its address, a 2.9" BWR tag) and its key."""
    state = open_local_state(path)
    state.add_labels(LabelRecord(mac, mac, "2.9-bwr", key=key) for mac, key in keys.items())
    return state


def with_no_room_left(state: LocalState) -> None:
    """From now on `state`'s file may grow by no page (its connection's
    `max_page_count`), as on a disk with no room left: what needs a new page (a frame's
    image, a label's planes) fails with SQLite's own SQLITE_FULL, while a small row that
    fits a page's room, or rewrites one in place, is still written."""
    db = state._db
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {int(pages)}")


def store_gateway(
    state: LocalState,
    radio: OeplRadio,
    endpoint: BrokerEndpoint,
    *,
    health_every_s: float = 3600.0,
    report_check_ins: bool = True,
) -> StoreGatewayProcess:
    """S01/S01-ap1, not started; no health tick unless `health_every_s` says how often."""
    return StoreGatewayProcess(
        store=STORE,
        gateway=GATEWAY,
        endpoint=endpoint,
        radio=radio,
        state=state,
        health_every_s=health_every_s,
        report_check_ins=report_check_ins,
        reconnect_delay_s=(0.2, 1),
    )


@dataclass(frozen=True)
class ControllerSide:
    """The controller's transport: what it heard on the gateway's `.../up`, in its order,
    and frames it sends down."""

    transport: MqttGateway
    heard: list[bytes]

    async def send(self, label_id: str, frame: bytes) -> None:
        await self.transport.send(Downlink(STORE, GATEWAY, label_id, frame))


@asynccontextmanager
async def controller_side(
    mosquitto: MosquittoProcess, *, client_id: str = "ctl-up"
) -> AsyncIterator[ControllerSide]:
    """The controller's transport on `mosquitto`, listening from the start."""
    heard: list[bytes] = []
    controller = MqttGateway(parse_broker_url(mosquitto.url), client_id=client_id)
    await controller.start()

    async def listen() -> None:
        async for event in controller.events():
            if isinstance(event, Uplink):
                heard.append(event.payload)

    listening = asyncio.create_task(listen())
    try:
        yield ControllerSide(controller, heard)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await controller.stop()


@dataclass
class Stall:
    """The broker stalled (SIGSTOP) from `began` to `ended`; by its end the controller had
    heard `heard_before_its_end` messages, and the gateway had `on_their_way` at the
    broker, unacknowledged: the only ones that may reach the controller ahead of what the
    gateway sends once the broker runs again."""

    began: datetime
    ended: datetime = _NOT_YET
    heard_before_its_end: int = 0
    on_their_way: list[bytes] = field(default_factory=list)

    def during(self, at: datetime) -> bool:
        """Whether `at` (when a word or report was made) is within the stall."""
        return self.began <= at < self.ended

    def sent_after(self, heard: list[bytes]) -> list[bytes]:
        """Of what the controller `heard` after the stall, what the gateway sent after it
        (what was not on its way at the broker)."""
        return [p for p in heard[self.heard_before_its_end :] if p not in self.on_their_way]


@dataclass(frozen=True)
class GatewayUnderTest:
    process: StoreGatewayProcess
    broker: MosquittoProcess
    link: DelayedLink  # its broker link: `hold` or `delay` what goes up, or comes down
    wire: MqttWire  # what that link carried up, and which the broker acknowledged
    controller: ControllerSide

    @property
    def state(self) -> LocalState:
        return self.process.state

    @property
    def heard(self) -> list[bytes]:
        return self.controller.heard

    @contextmanager
    def broker_stalled(self) -> Iterator[Stall]:
        """The broker stopped (SIGSTOP: the gateway's publishes wait for acknowledgements
        that do not come) for the block; what the stall left is read at its end, before
        the broker runs again (a word made after `ended` is made after the stall)."""
        self.broker.pause()
        stall = Stall(began=datetime.now(UTC))
        try:
            yield stall
        finally:
            stall.heard_before_its_end = len(self.heard)
            stall.on_their_way = self.wire.on_their_way()
            stall.ended = datetime.now(UTC)
            self.broker.resume()


def signed_word(payload: bytes, keys: dict[str, bytes]) -> LabelResponse | None:
    """The label's signed word in `payload` (an answer, a check-in), checked with its key
    in `keys`; None for the gateway's own report."""
    try:
        decode_gateway_report(payload)
    except FrameRejectedError:
        return decode_response(payload, key=keys[peek_header(payload).label_id])
    return None


async def first_heard(
    heard: list[bytes], matches: Callable[[bytes], bool], *, what: str, timeout_s: float = 120
) -> int:
    """Where in `heard` the first message that `matches` is, once it came."""

    def index() -> int | None:
        return next((i for i, payload in enumerate(heard) if matches(payload)), None)

    await until(lambda: index() is not None, what=what, timeout_s=timeout_s)
    found = index()
    assert found is not None
    return found


@asynccontextmanager
async def gateway_under_test(
    mosquitto: MosquittoProcess,
    state: LocalState,
    radio: OeplRadio,
    *,
    to_server_s: float = 0.05,
    to_client_s: float = 0.05,
    health_every_s: float = 3600.0,
    report_check_ins: bool = True,
) -> AsyncIterator[GatewayUnderTest]:
    """The gateway started over a link to `mosquitto` that takes `to_server_s` there and
    `to_client_s` back, the controller's side listening; stopped at the end. The state
    and the radio stay the caller's to close."""
    wire = MqttWire()
    async with controller_side(mosquitto) as controller:
        with DelayedLink(
            mosquitto.host,
            mosquitto.port,
            to_server_s=to_server_s,
            to_client_s=to_client_s,
            observe=wire.observe,
        ) as link:
            process = store_gateway(
                state,
                radio,
                BrokerEndpoint(link.host, link.port),
                health_every_s=health_every_s,
                report_check_ins=report_check_ins,
            )
            await process.start()
            try:
                yield GatewayUnderTest(process, mosquitto, link, wire, controller)
            finally:
                await process.stop()
