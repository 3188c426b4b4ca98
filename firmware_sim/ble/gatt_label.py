"""A simulated BLE label: the ESL Service's GATT surface around a `SimulatedLabel`.

The label logic (keys, sequences, images, timers, battery) is `firmware_sim.label`; this
class adds what a BLE label shows a central: the ESL Service characteristics, the ESL
Control Point state machine, and our vendor Frame Transfer service (docs/ble.md). It
imports no bleak: `firmware_sim.ble.backend` puts a bleak client in front of it.

Every entry point takes `now`. A central's connection is a `BleLink` (`connect()`), with
its own encryption and Configuring state, as a radio's connections each have their own
keys; a GATT write names the link it came over. It returns the notifications it causes,
in order, as (characteristic UUID, value) pairs; an ATT error is raised as `AttError`,
and a link the label drops (fault injection) as `LinkDroppedError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from firmware_sim.label import SimulatedLabel
from gateways.ble.control_point import (
    BasicState,
    ControlPointCommand,
    ControlPointResponse,
    DisplayImage,
    DisplayState,
    DisplayTimedImage,
    EslAddress,
    EslErrorResponse,
    LedControl,
    LedState,
    Ping,
    RefreshDisplay,
    Unassociate,
    UpdateComplete,
    decode_command,
    encode_response,
)
from gateways.ble.errors import MalformedGattValueError
from gateways.ble.esl_service import (
    AP_SYNC_KEY_MATERIAL_UUID,
    CONTROL_POINT_UUID,
    CURRENT_ABSOLUTE_TIME_UUID,
    DISPLAY_INFORMATION_UUID,
    ESL_ADDRESS_UUID,
    ESL_SERVICE_UUID,
    FRAME_DATA_UUID,
    FRAME_RESPONSE_UUID,
    FRAME_TRANSFER_SERVICE_UUID,
    FRAME_TRANSFER_STATUS_UUID,
    IMAGE_INFORMATION_UUID,
    KEY_MATERIAL_SIZE,
    LABEL_KEY_UUID,
    LED_INFORMATION_UUID,
    RESPONSE_KEY_MATERIAL_UUID,
    BasicStateFlag,
    DisplayType,
    ReasonCode,
    TransferAttError,
)
from gateways.ble.frame_commands import control_command_for
from gateways.ble.frame_transfer import (
    MAX_ATTRIBUTE_VALUE,
    MAX_TRANSFER_BYTES,
    TransferStatus,
    decode_begin,
    decode_chunk,
    frame_crc,
)
from gateways.protocol import (
    FrameRejectedError,
    LabelState,
    decode_frame,
    decode_response,
    to_wire_ms,
)
from gateways.protocol import (
    encode_response as encode_label_response,
)

__all__ = [
    "GATT_TABLE",
    "INSUFFICIENT_ENCRYPTION",
    "AttError",
    "BleFaults",
    "BleLabel",
    "BleLink",
    "CharacteristicProperty",
    "LinkDroppedError",
    "Notification",
]

Notification = tuple[str, bytes]
CharacteristicProperty = Literal["read", "write", "write-without-response", "notify"]

# ATT protocol error codes (Core Spec Vol 3 Part F 3.4.1.1).
_READ_NOT_PERMITTED = 0x02
_WRITE_NOT_PERMITTED = 0x03
_INVALID_LENGTH = 0x0D
INSUFFICIENT_ENCRYPTION = 0x0F


class AttError(Exception):
    """The label answered a GATT request with an ATT error code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"ATT error 0x{code:02x}")
        self.code = code


class LinkDroppedError(Exception):
    """The label dropped the connection (fault injection)."""


@dataclass(slots=True)
class BleFaults:
    """What to do wrong, once each, the next time it applies.

    `drop_at_offset`: drop the link right after storing the Frame Data chunk that reaches
    this many bytes; `refuse_after_drop`: then refuse this many connection attempts (the
    label went out of reach holding the frame). `refuse_next`: answer the next control
    point command that acts on a frame with Error(code), and the frame with a signed
    refusal carrying the same code.
    `refuse_connections`: refuse this many connection attempts. `corrupt_chunks`: flip a
    bit in this many Frame Data writes on their way in (radio noise).
    """

    drop_at_offset: int | None = None
    refuse_after_drop: int = 0
    corrupt_chunks: int = 0
    refuse_next: ReasonCode | None = None
    refuse_connections: int = 0


# The GATT table every simulated label exposes: service -> (characteristic, properties),
# properties named as bleak names them. Both radio backends build their table from this.
GATT_TABLE: Final[dict[str, tuple[tuple[str, tuple[CharacteristicProperty, ...]], ...]]] = {
    ESL_SERVICE_UUID: (
        (ESL_ADDRESS_UUID, ("read", "write")),
        (AP_SYNC_KEY_MATERIAL_UUID, ("write",)),
        (RESPONSE_KEY_MATERIAL_UUID, ("write",)),
        (CURRENT_ABSOLUTE_TIME_UUID, ("write",)),
        (DISPLAY_INFORMATION_UUID, ("read",)),
        (IMAGE_INFORMATION_UUID, ("read",)),
        (LED_INFORMATION_UUID, ("read",)),
        (CONTROL_POINT_UUID, ("write", "write-without-response", "notify")),
    ),
    FRAME_TRANSFER_SERVICE_UUID: (
        (FRAME_TRANSFER_STATUS_UUID, ("read", "write")),
        (FRAME_DATA_UUID, ("write",)),
        (FRAME_RESPONSE_UUID, ("read", "notify")),
        (LABEL_KEY_UUID, ("write",)),
    ),
}


_DISPLAY_TYPES = {None: DisplayType.BLACK_WHITE, "red": DisplayType.RED_BLACK_WHITE}
_NEEDS_FRAME = (DisplayImage, DisplayTimedImage, Unassociate)


@dataclass(slots=True)
class _Transfer:
    length: int = 0
    crc: int = 0
    buffer: bytearray = field(default_factory=bytearray)

    def status(self) -> TransferStatus:
        return TransferStatus(length=self.length, crc=self.crc, confirmed=len(self.buffer))


class BleLink:
    """One central's connection to a label, from `BleLabel.connect()` to `disconnect()`.

    Encryption belongs to a link (its LTK is that connection's): a device connecting
    beside the installer's paired link is not encrypted by it, and it configures only if
    it pairs itself. Configuring belongs to the link that began it (ESLS 3.1: the AP
    connected to the ESL), and a link ending ends only its own."""

    def __init__(self, label: BleLabel) -> None:
        self.label = label
        self.open = True
        self.encrypted = False
        self.configuring = False

    def encrypt(self) -> None:
        """The central paired (LE Secure Connections) and this link is now encrypted."""
        self.encrypted = True

    def disconnect(self) -> None:
        """This link is gone (again is nothing); the label's other links stay as they are."""
        self.label._close(self)


class BleLabel:
    """One BLE label; mutable, like the device it stands for."""

    def __init__(self, *, address: str, label: SimulatedLabel, key: bytes | None = None) -> None:
        self.address = address
        self.label = label
        self.faults = BleFaults()
        self.esl_address: EslAddress | None = None
        self.ap_sync_key: bytes | None = None
        self.response_key: bytes | None = None
        self.absolute_time_ms: int | None = None
        self.display_refreshes = 0
        self._links: list[BleLink] = []
        self._key = key
        self._transfer = _Transfer()
        self._staged: bytes | None = None
        self.signed_response: bytes | None = None  # the last one notified, for a read

    @property
    def label_id(self) -> str:
        return self.label.label_id

    @property
    def transfer_status(self) -> TransferStatus:
        return self._transfer.status()

    def advertises_esl_service(self, *, now: datetime) -> bool:
        """An ESL advertises the ESL Service while unassociated or unsynchronised (ESLS 4.1)."""
        return self.label.state(now=now) in (LabelState.UNASSOCIATED, LabelState.UNSYNCHRONIZED)

    # ------------------------------------------------------------ link

    @property
    def connected(self) -> bool:
        """Whether any central is connected now."""
        return bool(self._links)

    def connect(self) -> BleLink | None:
        """A new link, not encrypted; None when the label refuses it (fault injection)."""
        if self.faults.refuse_connections > 0:
            self.faults.refuse_connections -= 1
            return None
        link = BleLink(self)
        self._links.append(link)
        return link

    def _close(self, link: BleLink) -> None:
        # A transfer in progress is the label's, kept for the next connection.
        link.open = link.encrypted = link.configuring = False
        if link in self._links:
            self._links.remove(link)

    def _follow_the_firmware(self, now: datetime) -> None:
        # The firmware forgets its key two hours out of sync (its timers run lazily, so
        # they are settled first): the ESL is unassociated again, with no ESL address,
        # and takes a new association, as one never associated does.
        self.label.state(now=now)
        if self._key is not None and not self.label.associated:
            self._forget_association()

    def _forget_association(self) -> None:
        """Unassociated (a signed Unassociate, or two hours out of sync): nothing of the
        association stays. Both key materials are derived from the label key, so keeping
        either keeps the secret; no link is still configuring it."""
        self._key = None
        self.esl_address = None
        self.ap_sync_key = self.response_key = None
        self.absolute_time_ms = None
        for link in self._links:
            link.configuring = False

    # ------------------------------------------------------------ reads

    def read(self, uuid: str, *, now: datetime) -> bytes:
        self._follow_the_firmware(now)
        model = self.label.hardware.model
        if uuid == DISPLAY_INFORMATION_UUID:
            kind = _DISPLAY_TYPES.get(model.accent, DisplayType.YELLOW_BLACK_WHITE)
            return struct.pack("<HHB", model.width, model.height, kind)
        if uuid == IMAGE_INFORMATION_UUID:
            return bytes([self.label.hardware.pages - 1])
        if uuid == LED_INFORMATION_UUID:
            return bytes([0b00_000011])  # one sRGB LED, red
        if uuid == ESL_ADDRESS_UUID and self.esl_address is not None:
            return self.esl_address.to_bytes()
        if uuid == FRAME_TRANSFER_STATUS_UUID:
            return self._transfer.status().to_bytes()
        if uuid == FRAME_RESPONSE_UUID and self.signed_response is not None:
            # What it notified last, whole: a notification carries MTU - 3 bytes at most,
            # a read (with Read Blob) the whole value.
            return self.signed_response
        raise AttError(_READ_NOT_PERMITTED)

    # ------------------------------------------------------------ writes

    def write(self, uuid: str, value: bytes, *, link: BleLink, now: datetime) -> list[Notification]:
        """A write from the central at the other end of `link` (open, and to this label)."""
        assert link.label is self, "a write over another label's link"
        assert link.open, "a write over a link that is closed"
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise AttError(_INVALID_LENGTH)
        self._follow_the_firmware(now)
        if uuid == FRAME_DATA_UUID:
            self._receive_chunk(value)
            return []
        if uuid == FRAME_TRANSFER_STATUS_UUID:
            self._begin_transfer(value)
            return []
        if uuid == CONTROL_POINT_UUID:
            return self._control_point(value, link=link, now=now)
        self._configure(uuid, value, link=link, now=now)
        return []

    def _configure(self, uuid: str, value: bytes, *, link: BleLink, now: datetime) -> None:
        # Its address and keys go only over an encrypted link: written in clear, a
        # sniffer on the shop floor would learn the key that signs this label's frames.
        # The link written over, not another one the label has open at the time.
        if not link.encrypted:
            raise AttError(INSUFFICIENT_ENCRYPTION)
        # Configuration characteristics are writable only while configuring (ESLS 3.1),
        # by the link that is configuring.
        if self._key is not None and not link.configuring:
            raise AttError(_WRITE_NOT_PERMITTED)
        if uuid == ESL_ADDRESS_UUID:
            try:
                self.esl_address = EslAddress.from_bytes(value)
            except MalformedGattValueError:
                raise AttError(_INVALID_LENGTH) from None
        elif uuid in (AP_SYNC_KEY_MATERIAL_UUID, RESPONSE_KEY_MATERIAL_UUID):
            if len(value) != KEY_MATERIAL_SIZE:
                raise AttError(_INVALID_LENGTH)
            if uuid == AP_SYNC_KEY_MATERIAL_UUID:
                self.ap_sync_key = bytes(value)
            else:
                self.response_key = bytes(value)
        elif uuid == CURRENT_ABSOLUTE_TIME_UUID:
            if len(value) != 4:
                raise AttError(_INVALID_LENGTH)
            (self.absolute_time_ms,) = struct.unpack("<I", value)
        elif uuid == LABEL_KEY_UUID:
            try:
                self.label.associate(bytes(value), now=now)
            except ValueError:
                raise AttError(_INVALID_LENGTH) from None
            self._key = bytes(value)
        else:
            raise AttError(_WRITE_NOT_PERMITTED)
        link.configuring = True

    def _begin_transfer(self, value: bytes) -> None:
        try:
            length, crc = decode_begin(value)
        except MalformedGattValueError:
            raise AttError(_INVALID_LENGTH) from None
        if not 0 < length <= MAX_TRANSFER_BYTES:
            raise AttError(TransferAttError.TOO_LARGE)
        if (length, crc) != (self._transfer.length, self._transfer.crc):
            self._transfer = _Transfer(length=length, crc=crc)
            self._staged = None

    def _receive_chunk(self, value: bytes) -> None:
        transfer = self._transfer
        if transfer.length == 0:
            raise AttError(TransferAttError.NO_TRANSFER)
        if self.faults.corrupt_chunks > 0 and len(value) > 8:
            self.faults.corrupt_chunks -= 1
            value = value[:-1] + bytes([value[-1] ^ 0x01])
        try:
            chunk = decode_chunk(value)
        except MalformedGattValueError:
            raise AttError(_INVALID_LENGTH) from None
        if chunk is None:
            raise AttError(TransferAttError.CHUNK_CRC)
        if chunk.offset != len(transfer.buffer) or chunk.end > transfer.length:
            raise AttError(TransferAttError.WRONG_OFFSET)
        transfer.buffer += chunk.data
        if len(transfer.buffer) == transfer.length:
            if frame_crc(bytes(transfer.buffer)) != transfer.crc:
                # Every chunk checked out but the whole did not: start again from zero.
                self._transfer = _Transfer(length=transfer.length, crc=transfer.crc)
                raise AttError(TransferAttError.CHUNK_CRC)
            self._staged = bytes(transfer.buffer)
        drop_at = self.faults.drop_at_offset
        if drop_at is not None and len(transfer.buffer) >= drop_at:
            self.faults.drop_at_offset = None
            self.faults.refuse_connections += self.faults.refuse_after_drop
            self.faults.refuse_after_drop = 0
            raise LinkDroppedError(
                f"{self.address} dropped the link at byte {len(transfer.buffer)}"
            )

    # ------------------------------------------------------------ control point

    def _control_point(self, value: bytes, *, link: BleLink, now: datetime) -> list[Notification]:
        try:
            command = decode_command(value)
        except MalformedGattValueError as error:
            code = (
                ReasonCode.INVALID_OPCODE
                if error.fields["what"] == "opcode"
                else ReasonCode.INVALID_PARAMETERS
            )
            return [_answer(EslErrorResponse(code))]
        if self._key is None or self.esl_address is None:
            return [_answer(EslErrorResponse(ReasonCode.INVALID_STATE))]
        if command.esl_id != self.esl_address.esl_id:
            return [_answer(EslErrorResponse(ReasonCode.INVALID_PARAMETERS))]
        if isinstance(command, UpdateComplete):
            link.configuring = False
            return [_answer(BasicState(self._flags(now)))]
        staged = self._staged
        if isinstance(command, RefreshDisplay) and staged is None:
            return [_answer(self._refresh_display(command))]
        if staged is None:
            return self._without_frame(command, now=now)
        self._staged = None
        self._transfer = _Transfer()
        return self._act_on_frame(staged, command, now=now)

    def _without_frame(self, command: ControlPointCommand, *, now: datetime) -> list[Notification]:
        if isinstance(command, _NEEDS_FRAME):
            # Showing an image or unassociating needs a signed frame first.
            return [_answer(EslErrorResponse(ReasonCode.INVALID_STATE))]
        if isinstance(command, LedControl):
            duration_s = command.duration_s or 10
            self.label.led_until_ms = to_wire_ms(now) + duration_s * 1000
            return [_answer(LedState(command.led))]
        return [_answer(BasicState(self._flags(now)))]

    def _refresh_display(self, command: RefreshDisplay) -> ControlPointResponse:
        if command.display != 0:
            return EslErrorResponse(ReasonCode.INVALID_PARAMETERS)
        if self.label.shown is None:
            return EslErrorResponse(ReasonCode.IMAGE_NOT_AVAILABLE)
        self.display_refreshes += 1
        return DisplayState(display=0, image=self.label.shown_page)

    def _act_on_frame(
        self, frame: bytes, command: ControlPointCommand, *, now: datetime
    ) -> list[Notification]:
        assert self._key is not None
        assert self.esl_address is not None
        refusal = self.faults.refuse_next
        if refusal is None and command != control_command_for(
            frame, esl_id=self.esl_address.esl_id
        ):
            refusal = ReasonCode.INVALID_PARAMETERS
        elif refusal is not None:
            self.faults.refuse_next = None
        if refusal is not None:
            signed = self._signed_refusal(frame, refusal, now=now)
            if signed is not None:
                self.signed_response = signed
                return [(FRAME_RESPONSE_UUID, signed), _answer(EslErrorResponse(refusal))]
        signed = self.label.receive(frame, now=now)
        if signed is None:
            # Browned out: the radio still answers the link layer, the firmware cannot act.
            return [_answer(EslErrorResponse(ReasonCode.INSUFFICIENT_BATTERY))]
        reason = decode_response(signed, key=self._key).reason
        if isinstance(command, Unassociate) and reason is ReasonCode.SUCCESS:
            self._forget_association()
        # The signed response goes first, so it is in when the control point answer arrives.
        self.signed_response = signed
        return [(FRAME_RESPONSE_UUID, signed), _answer(self._success(command, reason, now=now))]

    def _success(
        self, command: ControlPointCommand, reason: ReasonCode, *, now: datetime
    ) -> ControlPointResponse:
        if reason is not ReasonCode.SUCCESS:
            return EslErrorResponse(reason)
        match command:
            case DisplayImage(display=display, image=image):
                return DisplayState(display=display, image=image)
            case RefreshDisplay(display=display):
                return DisplayState(display=display, image=self.label.shown_page)
            case LedControl(led=led):
                return LedState(led)
            case Ping() | DisplayTimedImage() | Unassociate():
                return BasicState(self._flags(now))
        return BasicState(self._flags(now))  # pragma: no cover - every command is matched

    def _signed_refusal(self, frame: bytes, reason: ReasonCode, *, now: datetime) -> bytes | None:
        """A refusal of `frame` signed with the label's key; None if the frame is not ours."""
        assert self._key is not None
        try:
            decoded = decode_frame(frame, key=self._key, label_id=self.label_id)
        except FrameRejectedError:
            return None
        # Built as every other answer of the label is: its own clock, flags and state
        # (a refusal stamped with the true time would clear a clock error the controller
        # knows of, and hide a label whose clock runs behind).
        response = self.label.signed_refusal(decoded.sequence, decoded.opcode, reason, now=now)
        return encode_label_response(response, key=self._key)

    def _flags(self, now: datetime) -> BasicStateFlag:
        label = self.label
        state = label.state(now=now)
        flags = BasicStateFlag.NONE
        if label.service_needed:
            flags |= BasicStateFlag.SERVICE_NEEDED
        if state in (LabelState.SYNCHRONIZED, LabelState.UPDATING, LabelState.CONFIGURED):
            flags |= BasicStateFlag.SYNCHRONIZED
        if to_wire_ms(now) < label.led_until_ms:
            flags |= BasicStateFlag.ACTIVE_LED
        if label.scheduled_page is not None:
            flags |= BasicStateFlag.PENDING_DISPLAY_UPDATE
        return flags


def _answer(response: ControlPointResponse) -> Notification:
    return (CONTROL_POINT_UUID, encode_response(response))
