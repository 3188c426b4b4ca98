"""The controller's BLE transport: `Gateway` over bleak, one GATT session per frame.

For each `Downlink` the driver connects to the label (a limited number of connections per
adapter at once, retries with back-off), moves the signed frame over the vendor Frame
Transfer service, sends the ESL Control Point command that makes the label act on it
(Display Image, Display Timed Image, LED Control, Unassociate or Ping), reads the
label's signed response, ends with Update Complete and disconnects. The signed response
becomes an `Uplink`, so the pipeline verifies it exactly as it does over MQTT: retries,
ordering and idempotence stay the pipeline's.

`send` returns once the label has the frame and answered the control point command. A
link that drops is reconnected and the transfer resumes where the label's confirmed
offset says. When the label refuses without a signed response (it is not associated,
for example), `send` raises `ControlPointRefusedError` with the ESL error code.

    labels = [BleLabelAddress("A1", address="C0:FF:EE:00:00:01", esl_id=1)]
    gateway = BleGateway(labels, store="S001", gateway="ble0")
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bleak import BleakClient

from gateways.base import (
    Clock,
    Downlink,
    Gateway,
    GatewayEvent,
    GatewayState,
    GatewayStatus,
    TransportKind,
    TransportStatus,
    Uplink,
    system_clock,
)
from gateways.ble.control_point import (
    BasicState,
    ControlPointCommand,
    ControlPointResponse,
    DisplayState,
    EslErrorResponse,
    LedControl,
    LedState,
    Ping,
    RefreshDisplay,
    UpdateComplete,
)
from gateways.ble.errors import (
    BleConnectError,
    BleError,
    ControlPointRefusedError,
    FrameWaitingError,
    UnexpectedResponseError,
    UnknownLabelError,
)
from gateways.ble.esl_service import FRAME_TRANSFER_STATUS_UUID
from gateways.ble.frame_commands import control_command_for
from gateways.ble.frame_transfer import TransferStatus, frame_crc
from gateways.ble.inventory import BleLabelAddress
from gateways.ble.link import (
    DEFAULT_CONNECT_POLICY,
    ClientFactory,
    ConnectPolicy,
    LabelLink,
    LinkLostError,
    TransferProgress,
    open_link,
)
from gateways.errors import GatewayNotStartedError

__all__ = [
    "BleGateway",
    "BleLabelAddress",
    "CommandAnswer",
    "FrameDelivery",
    "led_flash",
    "platform_client",
]

_T = TypeVar("_T")
_Response = TypeVar("_Response", BasicState, DisplayState, LedState)
_Outcome = tuple[ControlPointCommand, ControlPointResponse, bytes | None]


@dataclass(frozen=True, slots=True)
class FrameDelivery:
    """How one frame went over the air: for diagnostics and the benchmark."""

    label_id: str
    command: ControlPointCommand
    response: ControlPointResponse
    signed_response: bytes | None
    transfers: tuple[TransferProgress, ...]
    connections: int

    @property
    def resumed(self) -> bool:
        return any(progress.started_at > 0 for progress in self.transfers)


@dataclass(frozen=True, slots=True)
class CommandAnswer(Generic[_Response]):
    """What a control point command without a frame got: the label's `response` and,
    when the label held a whole frame this driver sent, how that frame was carried out
    first (`carried_out`; its signed answer is the controller's, like any answer)."""

    response: _Response
    carried_out: FrameDelivery | None = None

    @property
    def signed_response(self) -> bytes | None:
        """The label's signed answer to the held frame it carried out, if any."""
        return None if self.carried_out is None else self.carried_out.signed_response


def led_flash(duration_s: int, led: int = 0) -> Callable[[int], LedControl]:
    """The LED Control command that flashes `led` for `duration_s` seconds."""
    if not 1 <= duration_s <= 0x7FFF:
        raise ValueError(f"LED duration {duration_s} s outside 1..32767")

    def command(esl_id: int) -> LedControl:
        return LedControl(esl_id=esl_id, led=led, repeat=(duration_s << 1) | 1)

    return command


def platform_client(address: str, *, timeout_s: float = 10.0) -> BleakClient:
    """A `BleakClient` on this machine's own Bluetooth adapter (the default factory);
    `timeout_s` bounds one connection attempt."""
    return BleakClient(address, timeout=timeout_s)


class BleGateway(Gateway):
    """Updates labels directly over BLE from this machine's adapter (one store gateway)."""

    transport = TransportKind.BLE

    def __init__(
        self,
        labels: Iterable[BleLabelAddress],
        *,
        store: str,
        gateway: str = "ble0",
        client_factory: ClientFactory = platform_client,
        max_connections: int = 3,
        connect_policy: ConnectPolicy = DEFAULT_CONNECT_POLICY,
        session_attempts: int = 3,
        clock: Clock = system_clock,
    ) -> None:
        if max_connections < 1 or session_attempts < 1:
            raise ValueError("max_connections and session_attempts must be at least 1")
        self._labels = {label.label_id: label for label in labels}
        self.store = store
        self.gateway = gateway
        self._client_factory = client_factory
        self._max_connections = max_connections
        self._policy = connect_policy
        self._session_attempts = session_attempts
        self._clock = clock
        self._events: asyncio.Queue[GatewayEvent | None] = asyncio.Queue()
        self._slots: asyncio.Semaphore | None = None
        self._label_locks: dict[str, asyncio.Lock] = {}
        # The frame this driver last began moving to each label, until a command carried
        # it out: a link that drops after the last chunk leaves it whole on the label.
        self._held: dict[str, bytes] = {}
        self._running = False
        self.deliveries: dict[str, FrameDelivery] = {}

    @property
    def max_in_flight(self) -> int:
        return self._max_connections

    def add_label(self, label: BleLabelAddress) -> None:
        """Make a newly associated label reachable."""
        self._labels[label.label_id] = label

    def address_of(self, label_id: str) -> str:
        """The label's BLE address; `UnknownLabelError` if this gateway has none."""
        try:
            return self._labels[label_id].address
        except KeyError:
            raise UnknownLabelError(label_id=label_id) from None

    async def start(self) -> None:
        if self._running:
            return
        self._slots = asyncio.Semaphore(self._max_connections)
        self._running = True
        now = self._clock()
        self._events.put_nowait(TransportStatus(connected=True, at=now))
        self._events.put_nowait(
            GatewayStatus(self.store, self.gateway, GatewayState.ONLINE, received_at=now)
        )

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self._events.put_nowait(None)

    async def events(self) -> AsyncIterator[GatewayEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def send(self, downlink: Downlink) -> None:
        label = self._label(downlink.label_id)
        delivery = await self.deliver(label.label_id, downlink.payload)
        if delivery.signed_response is not None:
            self._queue_answer(delivery.signed_response)
        elif isinstance(delivery.response, EslErrorResponse):
            raise ControlPointRefusedError(
                address=label.address,
                command=type(delivery.command).__name__,
                reason=delivery.response.code,
            )

    async def deliver(self, label_id: str, frame: bytes) -> FrameDelivery:
        """Move one signed frame to the label and have it act on it; no event is queued.

        `send` is this plus the `Uplink`; a store gateway process calls it directly
        (`gateways.ble.radio.BleLabelRadio`)."""
        label = self._label(label_id)
        (command, response, signed), links = await self._in_session(
            label, lambda link: self._deliver(link, label, frame)
        )
        delivery = FrameDelivery(
            label_id=label.label_id,
            command=command,
            response=response,
            signed_response=signed,
            transfers=tuple(link.progress for link in links if link.progress is not None),
            connections=len(links),
        )
        self.deliveries[label.label_id] = delivery
        return delivery

    # ------------------------------------------------------------ maintenance commands

    async def ping(self, label_id: str) -> BasicState:
        return await self._queued(label_id, Ping, BasicState)

    async def refresh_display(self, label_id: str) -> DisplayState:
        return await self._queued(label_id, RefreshDisplay, DisplayState)

    async def flash_led(self, label_id: str, *, duration_s: int = 10, led: int = 0) -> LedState:
        """Flash a label's LED so staff find it on the shelf."""
        return await self._queued(label_id, led_flash(duration_s, led), LedState)

    async def command(
        self,
        label_id: str,
        make: Callable[[int], ControlPointCommand],
        expected: type[_Response],
    ) -> CommandAnswer[_Response]:
        """Send the command `make(esl_id)` (no frame) and return the label's `expected`
        response; no event is queued. A whole frame this driver sent that the label holds
        is carried out first, and its signed answer is in the `CommandAnswer`, or, when
        the command then fails, in the `BleError`'s `carried_out_answer`: the caller
        passes it on. `ping`, `flash_led` and `refresh_display` are this plus the answer's
        `Uplink`; a store gateway process calls it directly
        (`gateways.ble.radio.BleLabelRadio`)."""
        label = self._label(label_id)
        command = make(label.esl_id)
        carried: FrameDelivery | None = None

        async def run(link: LabelLink) -> ControlPointResponse:
            nonlocal carried
            # Kept across reconnections: a link lost after the frame was carried out
            # finds nothing held the next time, and the answer is still the caller's.
            carried = await self._carry_out_held_frame(link, label, command) or carried
            response = await link.command(command)
            await link.command(UpdateComplete(label.esl_id))
            return response

        try:
            response, _links = await self._in_session(label, run)
            answer = CommandAnswer(_expected(response, label, command, expected), carried)
        except BleError as error:
            if carried is not None:
                error.carried_out_answer = carried.signed_response
            raise
        return answer

    async def _queued(
        self,
        label_id: str,
        make: Callable[[int], ControlPointCommand],
        expected: type[_Response],
    ) -> _Response:
        try:
            answer = await self.command(label_id, make, expected)
        except BleError as error:
            if error.carried_out_answer is not None:
                self._queue_answer(error.carried_out_answer)
            raise
        if answer.signed_response is not None:
            self._queue_answer(answer.signed_response)
        return answer.response

    # ------------------------------------------------------------ sessions

    def _label(self, label_id: str) -> BleLabelAddress:
        if not self._running or self._slots is None:
            raise GatewayNotStartedError()
        try:
            return self._labels[label_id]
        except KeyError:
            raise UnknownLabelError(label_id=label_id) from None

    async def _in_session(
        self, label: BleLabelAddress, work: Callable[[LabelLink], Awaitable[_T]]
    ) -> tuple[_T, list[LabelLink]]:
        """Run `work` on a connection to `label`, reconnecting when the link drops; also
        return every link used (the last one succeeded)."""
        assert self._slots is not None
        lock = self._label_locks.setdefault(label.label_id, asyncio.Lock())
        links: list[LabelLink] = []
        last_error = "no attempt"
        async with lock, self._slots:
            for _attempt in range(self._session_attempts):
                try:
                    async with open_link(
                        label.address, client_factory=self._client_factory, policy=self._policy
                    ) as link:
                        links.append(link)
                        return await work(link), links
                except LinkLostError as error:
                    last_error = str(error)
        raise BleConnectError(
            address=label.address, attempts=self._session_attempts, reason=last_error
        )

    async def _deliver(self, link: LabelLink, label: BleLabelAddress, frame: bytes) -> _Outcome:
        # Known before the transfer ends: the link may drop with the last chunk in.
        self._held[label.label_id] = frame
        await link.transfer(frame)
        command, response, signed = await self._act_on(link, label, frame)
        await link.command(UpdateComplete(label.esl_id))
        return command, response, signed

    async def _act_on(self, link: LabelLink, label: BleLabelAddress, frame: bytes) -> _Outcome:
        """The command that carries out `frame`, which the label holds whole."""
        command = control_command_for(frame, esl_id=label.esl_id)
        response = await link.command(command)
        self._held.pop(label.label_id, None)
        return command, response, await link.frame_response()

    async def _carry_out_held_frame(
        self, link: LabelLink, label: BleLabelAddress, command: ControlPointCommand
    ) -> FrameDelivery | None:
        """Before a command without a frame: a label holding a whole frame carries it out
        on the next command and refuses one that does not match, so the frame would be
        lost. One this driver sent is carried out first and returned (its signed answer
        must reach the controller as `send`'s does); one it does not know is left alone
        (`FrameWaitingError`)."""
        status = TransferStatus.from_bytes(await link.read(FRAME_TRANSFER_STATUS_UUID))
        held = self._held.get(label.label_id)
        if status.length == 0 or status.confirmed < status.length:
            self._held.pop(label.label_id, None)  # carried out or replaced meanwhile
            return None
        if held is None or (len(held), frame_crc(held)) != (status.length, status.crc):
            raise FrameWaitingError(
                address=label.address, command=type(command).__name__, length=status.length
            )
        done, response, signed = await self._act_on(link, label, held)
        delivery = FrameDelivery(
            label_id=label.label_id,
            command=done,
            response=response,
            signed_response=signed,
            transfers=(),
            connections=1,
        )
        self.deliveries[label.label_id] = delivery
        return delivery

    def _queue_answer(self, signed_response: bytes) -> None:
        self._events.put_nowait(
            Uplink(
                store=self.store,
                gateway=self.gateway,
                payload=signed_response,
                received_at=self._clock(),
            )
        )


def _expected(
    response: ControlPointResponse,
    label: BleLabelAddress,
    command: ControlPointCommand,
    expected: type[_Response],
) -> _Response:
    if isinstance(response, EslErrorResponse):
        raise ControlPointRefusedError(
            address=label.address, command=type(command).__name__, reason=response.code
        )
    if not isinstance(response, expected):
        raise UnexpectedResponseError(
            address=label.address, command=type(command).__name__, response=repr(response)
        )
    return response
