"""Bluetooth ESL labels as a store gateway's radio: signed frames in, signed answers out.

    radio = BleLabelRadio(labels, client_factory=bumble_client_factory(central))
    async with radio:
        answer = await radio.exchange("S001-ble-0001", frame)   # the label's signed response

A store gateway process (`esl gateway ble`) takes downlink frames for its labels from the
controller's broker and publishes the labels' answers back. A Bluetooth ESL label checks
the frame's MAC and sequence and signs its own answer with its key, so, unlike an
OpenEPaperLink tag, it needs no one to verify or sign for it: this radio holds no keys
and passes bytes both ways. What it adds is the BLE session (connect with back-off, move
the frame with resume, the ESL Control Point command the frame calls for, Update
Complete), which is `BleGateway.deliver`.

What `exchange` raises, and what a store process should do with it (`BleError.final`:
sending the same frame again cannot succeed; `gateways.ble.esl_service` lists the
refusals that are final):

- `UnknownLabelError`: no BLE address for that label here. Final: provision it.
- `ControlPointRefusedError` (`reason`, an ESL error code): the label refused without
  signing. Final for a code the same frame always earns (Invalid State when it is not
  associated: associate it; Invalid Parameters, Invalid Image Index, ...); not for one
  that may pass (Insufficient Battery from a browned-out label, Retry, Queue Full,
  Insufficient Resources, Unspecified Error): try again later.
- `BleConnectError`: not reachable after every attempt. Try again later.
- `TransferFailedError`: the frame could not be moved. Final when the label has no room
  for it (Too Large); not for chunks still refused after the driver's own retries
  (radio noise) or another device's transfer begun on the label.
- `UnexpectedResponseError`, `MalformedGattValueError`: neither a signed response nor an
  error came back, or a value that does not parse. Try again later.

All are `gateways.ble.errors.BleError`s.
A refusal the label signs (bad MAC, replayed sequence, any ESL error code) is not an
error here: it is the answer, and the controller reads the reason from it.

The staff tools (`ping`, `flash_led`, `refresh_display`) first have the label carry out
a whole frame this radio sent it that it holds (a link lost after the last chunk) and
return that frame's signed answer with theirs (`CommandAnswer.signed_response`; on an
error, `BleError.carried_out_answer`): the process sends it up like `exchange`'s.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateways.base import Clock, system_clock
from gateways.ble.control_point import (
    BasicState,
    DisplayState,
    EslErrorResponse,
    LedState,
    Ping,
    RefreshDisplay,
)
from gateways.ble.driver import (
    BleGateway,
    CommandAnswer,
    FrameDelivery,
    led_flash,
    platform_client,
)
from gateways.ble.errors import ControlPointRefusedError, UnexpectedResponseError
from gateways.ble.inventory import BleLabelAddress
from gateways.ble.link import DEFAULT_CONNECT_POLICY, ClientFactory, ConnectPolicy
from gateways.lifecycle import StartedInContext

__all__ = ["BleLabelRadio"]


class BleLabelRadio(StartedInContext):
    """One Bluetooth adapter's labels, driven frame by frame for a store gateway process."""

    def __init__(
        self,
        labels: Iterable[BleLabelAddress],
        *,
        client_factory: ClientFactory = platform_client,
        max_connections: int = 3,
        connect_policy: ConnectPolicy = DEFAULT_CONNECT_POLICY,
        clock: Clock = system_clock,
    ) -> None:
        # The store and gateway names only label `BleGateway`'s events, which this
        # radio does not use (every signed answer is returned to the caller instead):
        # the process publishes under its own names.
        self._driver = BleGateway(
            labels,
            store="-",
            gateway="-",
            client_factory=client_factory,
            max_connections=max_connections,
            connect_policy=connect_policy,
            clock=clock,
        )

    @property
    def max_in_flight(self) -> int:
        """How many labels are worked on at once (connections on the adapter)."""
        return self._driver.max_in_flight

    def add_label(self, label: BleLabelAddress) -> None:
        """Make a newly associated label reachable."""
        self._driver.add_label(label)

    async def start(self) -> None:
        await self._driver.start()

    async def stop(self) -> None:
        await self._driver.stop()

    async def exchange(self, label_id: str, frame: bytes) -> bytes:
        """Deliver one signed downlink frame; return the label's signed response."""
        delivery = await self._driver.deliver(label_id, frame)
        if delivery.signed_response is not None:
            return delivery.signed_response
        raise _unsigned(delivery, self._address(label_id))

    def last_delivery(self, label_id: str) -> FrameDelivery | None:
        """How the last frame to this label went over the air (connections, resumes)."""
        return self._driver.deliveries.get(label_id)

    # Staff tools: direct control point commands, no signed frame (docs/ble.md). Each
    # returns the signed answer of a held frame it had the label carry out first.

    async def ping(self, label_id: str) -> CommandAnswer[BasicState]:
        return await self._driver.command(label_id, Ping, BasicState)

    async def flash_led(self, label_id: str, *, duration_s: int = 10) -> CommandAnswer[LedState]:
        return await self._driver.command(label_id, led_flash(duration_s), LedState)

    async def refresh_display(self, label_id: str) -> CommandAnswer[DisplayState]:
        return await self._driver.command(label_id, RefreshDisplay, DisplayState)

    def _address(self, label_id: str) -> str:
        return self._driver.address_of(label_id)


def _unsigned(delivery: FrameDelivery, address: str) -> Exception:
    command = type(delivery.command).__name__
    if isinstance(delivery.response, EslErrorResponse):
        return ControlPointRefusedError(
            address=address, command=command, reason=delivery.response.code
        )
    return UnexpectedResponseError(address=address, command=command, response=repr(delivery))
