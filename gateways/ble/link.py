"""One GATT connection to one label, through bleak, as the driver uses it.

`open_link` connects with retries (a fresh `BleakClient` per attempt, exponential
back-off, like `bleak-retry-connector`'s `establish_connection` but with no BlueZ
specifics, so it also runs against the simulated backend) and subscribes to the two
characteristics a label notifies on. bleak objects stay inside this module: callers get
bytes and our own values.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Final

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError, BleakGATTProtocolError

from gateways.ble.control_point import (
    ControlPointCommand,
    ControlPointResponse,
    decode_response,
    encode_command,
)
from gateways.ble.errors import BleConnectError, TransferFailedError
from gateways.ble.esl_service import (
    CONTROL_POINT_UUID,
    FRAME_DATA_UUID,
    FRAME_RESPONSE_UUID,
    FRAME_TRANSFER_STATUS_UUID,
    TransferAttError,
)
from gateways.ble.frame_transfer import (
    TransferStatus,
    chunk_size_for_mtu,
    encode_begin,
    encode_chunk,
    frame_crc,
)

__all__ = [
    "DEFAULT_CONNECT_POLICY",
    "ClientFactory",
    "ConnectPolicy",
    "LabelLink",
    "LinkLostError",
    "TransferProgress",
    "open_link",
]

ClientFactory = Callable[[str], BleakClient]
# A chunk refused for its CRC is sent again this many times before giving up.
_CHUNK_RETRIES = 3


class LinkLostError(Exception):
    """The connection dropped or a GATT operation failed mid-session (internal: the driver
    reconnects and resumes)."""


@dataclass(frozen=True, slots=True)
class ConnectPolicy:
    attempts: int = 4
    first_delay_s: float = 0.25
    max_delay_s: float = 4.0
    response_timeout_s: float = 10.0


DEFAULT_CONNECT_POLICY: Final = ConnectPolicy()


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """One connection's part of a frame transfer: where it (re)started, frame bytes sent."""

    length: int
    started_at: int
    bytes_sent: int


class LabelLink:
    """An open connection with notifications on the control point and frame responses."""

    def __init__(self, client: BleakClient, *, response_timeout_s: float) -> None:
        self._client = client
        self._timeout_s = response_timeout_s
        self._control: asyncio.Queue[bytes] = asyncio.Queue()
        self._frame_responses: asyncio.Queue[bytes] = asyncio.Queue()
        self.progress: TransferProgress | None = None

    @property
    def address(self) -> str:
        return self._client.address

    async def subscribe(self) -> None:
        await self._client.start_notify(CONTROL_POINT_UUID, self._on_control)
        await self._client.start_notify(FRAME_RESPONSE_UUID, self._on_frame_response)

    def _on_control(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        self._control.put_nowait(bytes(data))

    def _on_frame_response(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        self._frame_responses.put_nowait(bytes(data))

    async def pair(self) -> None:
        """Pair (LE Secure Connections) so the link is encrypted before a key goes over it."""
        try:
            await self._client.pair()
        except BleakError as error:
            raise LinkLostError(f"pairing: {error}") from error

    async def read(self, uuid: str) -> bytes:
        try:
            return bytes(await self._client.read_gatt_char(uuid))
        except BleakError as error:
            raise LinkLostError(f"read {uuid}: {error}") from error

    async def write(self, uuid: str, value: bytes) -> None:
        try:
            await self._client.write_gatt_char(uuid, value, response=True)
        except BleakError as error:
            raise LinkLostError(f"write {uuid}: {error}") from error

    async def command(self, command: ControlPointCommand) -> ControlPointResponse:
        """Write a control point command and wait for the label's notified response."""
        await self.write(CONTROL_POINT_UUID, encode_command(command))
        try:
            value = await asyncio.wait_for(self._control.get(), self._timeout_s)
        except TimeoutError:
            raise LinkLostError(f"no control point response from {self.address}") from None
        return decode_response(value)

    async def frame_response(self) -> bytes | None:
        """The signed response the label notified for the frame it acted on, if any.

        A label notifies it before the control point response, so it is here by the time
        `command` returned. A notification carries MTU - 3 bytes at most: one that fills
        them may be cut short (an 87-byte response at the minimum MTU of 23), so the
        whole value is read (Read Blob for a long one).
        """
        try:
            notified = self._frame_responses.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if len(notified) >= self._client.mtu_size - 3:
            return await self.read(FRAME_RESPONSE_UUID)
        return notified

    async def transfer(self, frame: bytes) -> TransferProgress:
        """Move `frame` to the label, resuming from what the label already confirmed."""
        await self._begin(frame)
        begun = (len(frame), frame_crc(frame))
        offset = await self._confirmed(begun, offset=0)
        progress = self.progress = TransferProgress(len(frame), started_at=offset, bytes_sent=0)
        chunk_size = chunk_size_for_mtu(self._client.mtu_size)
        failures = 0
        while offset < len(frame):
            piece = frame[offset : offset + chunk_size]
            progress = self.progress = replace(
                progress, bytes_sent=progress.bytes_sent + len(piece)
            )
            try:
                await self._client.write_gatt_char(
                    FRAME_DATA_UUID, encode_chunk(offset, piece), response=True
                )
            except BleakGATTProtocolError as error:
                offset, failures = await self._recover(error, begun, offset, failures)
                continue
            except BleakError as error:
                raise LinkLostError(f"frame data at {offset}: {error}") from error
            offset += len(piece)
        return progress

    async def _begin(self, frame: bytes) -> None:
        try:
            await self._client.write_gatt_char(
                FRAME_TRANSFER_STATUS_UUID, encode_begin(frame), response=True
            )
        except BleakGATTProtocolError as error:
            if _transfer_refusal(error) is not TransferAttError.TOO_LARGE:
                raise LinkLostError(f"frame begin: {error}") from error
            raise TransferFailedError(
                address=self.address,
                offset=0,
                reason=f"the label has no room for a {len(frame)}-byte frame (too large)",
                refusal=TransferAttError.TOO_LARGE,
            ) from None
        except BleakError as error:
            raise LinkLostError(f"frame begin: {error}") from error

    async def _confirmed(self, begun: tuple[int, int], *, offset: int) -> int:
        """How much of this transfer the label confirmed. Frame Transfer needs no pairing:
        another device in range (a second access point, a phone) may have begun a
        transfer of its own, and resuming into that one would never end."""
        status = TransferStatus.from_bytes(await self.read(FRAME_TRANSFER_STATUS_UUID))
        if (status.length, status.crc) != begun:
            raise TransferFailedError(
                address=self.address, offset=offset, reason="another transfer began on the label"
            )
        return status.confirmed

    async def _recover(
        self, error: BleakGATTProtocolError, begun: tuple[int, int], offset: int, failures: int
    ) -> tuple[int, int]:
        refusal = _transfer_refusal(error)
        if (
            refusal in (TransferAttError.CHUNK_CRC, TransferAttError.WRONG_OFFSET)
            and failures < _CHUNK_RETRIES
        ):
            return await self._confirmed(begun, offset=offset), failures + 1
        raise TransferFailedError(
            address=self.address, offset=offset, reason=str(error), refusal=refusal
        )


def _transfer_refusal(error: BleakGATTProtocolError) -> TransferAttError | None:
    """The Frame Transfer error a label answered a write with, if it is one of ours."""
    # Not `error.code`: that property only knows the ATT codes, not application ones.
    code = error.args[0] if error.args else None
    if not isinstance(code, int):
        return None
    try:
        return TransferAttError(code)
    except ValueError:
        return None


@contextlib.asynccontextmanager
async def open_link(
    address: str, *, client_factory: ClientFactory, policy: ConnectPolicy
) -> AsyncIterator[LabelLink]:
    """Connect (retrying with back-off), subscribe, and disconnect on the way out."""
    delay = policy.first_delay_s
    last_error = "no attempt"
    for attempt in range(1, policy.attempts + 1):
        client = client_factory(address)
        try:
            await client.connect()
        except (BleakError, TimeoutError) as error:
            last_error = str(error) or type(error).__name__
            if attempt < policy.attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, policy.max_delay_s)
            continue
        break
    else:
        raise BleConnectError(address=address, attempts=policy.attempts, reason=last_error)
    link = LabelLink(client, response_timeout_s=policy.response_timeout_s)
    try:
        try:
            await link.subscribe()
        except BleakError as error:
            raise LinkLostError(f"subscribe: {error}") from error
        yield link
    finally:
        with contextlib.suppress(BleakError):
            await client.disconnect()
