"""What a controller can ask a label to do, as values, and their bytes on the wire.

Opcodes that exist in the ESL Control Point keep their ESL values (Ping 0x00, Unassociate
0x01, Refresh Display 0x11, Display Image 0x20, Display Timed Image 0x60, LED Control
0xB0). Ours use the ESL vendor-specific pattern 0x?F: Set Clock 0x1F and Image Update
0x2F. The ESL Service moves image bytes over the Object Transfer Service; we carry them
inside Image Update, in chunks with a CRC-32 each, so the same frame works over MQTT and
a GATT characteristic.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Final

from gateways.protocol._wire import FrameHeader, Reader
from gateways.protocol.reasons import ReasonCode
from rendering.encoding import Planes, content_hash, encode_delta, encode_full

__all__ = [
    "CONTENT_HASH_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "Command",
    "FlashLed",
    "ImageEncoding",
    "ImageUpdate",
    "LedColour",
    "LedPattern",
    "Opcode",
    "Ping",
    "RefreshDisplay",
    "SetClock",
    "SwitchPage",
    "Unassociate",
    "build_image_update",
    "from_wire_ms",
    "to_wire_ms",
]

CONTENT_HASH_SIZE: Final = 16
# 244 bytes fit one ATT write at the common BLE MTU of 247; with 8 bytes of chunk framing
# a chunk carries 236 image bytes. Over MQTT the chunking costs about 3 %.
DEFAULT_CHUNK_SIZE: Final = 236
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_HASH = bytes(CONTENT_HASH_SIZE)


class Opcode(IntEnum):
    PING = 0x00
    UNASSOCIATE = 0x01
    REFRESH_DISPLAY = 0x11
    SET_CLOCK = 0x1F
    DISPLAY_IMAGE = 0x20
    IMAGE_UPDATE = 0x2F
    DISPLAY_TIMED_IMAGE = 0x60
    LED_CONTROL = 0xB0


class ImageEncoding(IntEnum):
    """Which `rendering.encoding` format the image bytes are in."""

    FULL = 0
    DELTA = 1


class LedColour(IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 3
    WHITE = 4
    YELLOW = 5


class LedPattern(IntEnum):
    SOLID = 0
    BLINK = 1
    FAST_BLINK = 2
    PULSE = 3


def to_wire_ms(at: datetime) -> int:
    """An aware instant as milliseconds since the Unix epoch (the wire's time unit)."""
    if at.tzinfo is None:
        raise ValueError("instants on the wire must be timezone-aware")
    return (at - _EPOCH) // _MILLISECOND


def from_wire_ms(milliseconds: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=milliseconds)


_MILLISECOND: Final = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Ping:
    """Ask for a response: state, displayed image, battery, radio and temperature."""


@dataclass(frozen=True, slots=True)
class Unassociate:
    """Forget the key and go back to UNASSOCIATED; the display keeps its last image."""


@dataclass(frozen=True, slots=True)
class RefreshDisplay:
    """Draw the image shown again (ESL Refresh Display): a panel that faded, or was
    disturbed, shows it crisp again. A label otherwise never redraws an image it shows,
    as a refresh is what costs it its battery."""


@dataclass(frozen=True, slots=True)
class SetClock:
    """Set the label's clock, which timed images are shown by."""

    at: datetime

    def __post_init__(self) -> None:
        to_wire_ms(self.at)


@dataclass(frozen=True, slots=True)
class SwitchPage:
    """Show the image stored in `page`, now or at `display_at` (ESL Display [Timed] Image)."""

    page: int
    display_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.page < 256:
            raise ValueError(f"page {self.page} does not fit in a byte")
        if self.display_at is not None:
            to_wire_ms(self.display_at)


@dataclass(frozen=True, slots=True)
class FlashLed:
    """Flash the LED so staff find the label on the shelf."""

    colour: LedColour
    pattern: LedPattern
    duration_s: int
    led: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.duration_s <= 0xFFFF:
            raise ValueError(f"LED duration {self.duration_s} s outside 1..65535")
        if not 0 <= self.led < 256:
            raise ValueError(f"LED index {self.led} does not fit in a byte")


@dataclass(frozen=True, slots=True)
class ImageUpdate:
    """A new image for `page`, shown now or at `display_at`.

    `content_hash` is `rendering.encoding.content_hash` of the image this update results
    in; `base_hash` is the hash of the image the label must show now for a delta to
    apply (None for a full image).
    """

    model_id: str
    encoding: ImageEncoding
    content_hash: bytes
    image: bytes
    base_hash: bytes | None = None
    page: int = 0
    display_at: datetime | None = None

    def __post_init__(self) -> None:
        # All zeros means "no image" on the wire, so it is never a content hash.
        if len(self.content_hash) != CONTENT_HASH_SIZE or self.content_hash == _NO_HASH:
            raise ValueError("content_hash must be 16 bytes, not all zero")
        if self.base_hash is not None and (
            len(self.base_hash) != CONTENT_HASH_SIZE or self.base_hash == _NO_HASH
        ):
            raise ValueError("base_hash must be 16 bytes, not all zero")
        if self.encoding is ImageEncoding.DELTA and self.base_hash is None:
            raise ValueError("a delta needs the base_hash it applies to")
        if not 0 <= self.page < 256:
            raise ValueError(f"page {self.page} does not fit in a byte")
        if not self.model_id.isascii() or not 0 < len(self.model_id) < 256:
            raise ValueError(f"model id {self.model_id!r}")
        if not self.image:
            raise ValueError("an image update carries image bytes")
        if self.display_at is not None:
            to_wire_ms(self.display_at)


Command = Ping | Unassociate | RefreshDisplay | SetClock | SwitchPage | FlashLed | ImageUpdate


def build_image_update(
    planes: Planes,
    *,
    model_id: str,
    base: Planes | None = None,
    page: int = 0,
    display_at: datetime | None = None,
) -> ImageUpdate:
    """An image update for `planes`: a delta against `base` when given and smaller."""
    full = encode_full(planes)
    if base is not None:
        delta = encode_delta(base, planes)
        if len(delta) < len(full):
            return ImageUpdate(
                model_id=model_id,
                encoding=ImageEncoding.DELTA,
                content_hash=content_hash(planes),
                base_hash=content_hash(base),
                image=delta,
                page=page,
                display_at=display_at,
            )
    return ImageUpdate(
        model_id=model_id,
        encoding=ImageEncoding.FULL,
        content_hash=content_hash(planes),
        image=full,
        page=page,
        display_at=display_at,
    )


# ---------------------------------------------------------------- bytes

_U8 = struct.Struct("<B")
_U64 = struct.Struct("<Q")
_PAGE = struct.Struct("<BB")  # display index (always 0: one display), image index
_LED = struct.Struct("<BBBH")  # led index, colour, pattern, duration in seconds
_IMAGE_FIXED = struct.Struct("<BB16s16sQIHH")
_CHUNK_HEAD = struct.Struct("<HH")  # chunk index, length
_CRC = struct.Struct("<I")


def opcode_of(command: Command) -> Opcode:
    match command:
        case Ping():
            return Opcode.PING
        case Unassociate():
            return Opcode.UNASSOCIATE
        case RefreshDisplay():
            return Opcode.REFRESH_DISPLAY
        case SetClock():
            return Opcode.SET_CLOCK
        case SwitchPage(display_at=None):
            return Opcode.DISPLAY_IMAGE
        case SwitchPage():
            return Opcode.DISPLAY_TIMED_IMAGE
        case FlashLed():
            return Opcode.LED_CONTROL
        case ImageUpdate():
            return Opcode.IMAGE_UPDATE


def pack_command(command: Command, *, chunk_size: int) -> bytes:
    match command:
        case Ping() | Unassociate():
            return b""
        case RefreshDisplay():
            return _U8.pack(0)  # display index: one display
        case SetClock(at=at):
            return _U64.pack(to_wire_ms(at))
        case SwitchPage(page=page, display_at=None):
            return _PAGE.pack(0, page)
        case SwitchPage(page=page, display_at=display_at) if display_at is not None:
            return _PAGE.pack(0, page) + _U64.pack(to_wire_ms(display_at))
        case FlashLed():
            return _LED.pack(command.led, command.colour, command.pattern, command.duration_s)
        case ImageUpdate():
            return _pack_image_update(command, chunk_size=chunk_size)
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _pack_image_update(update: ImageUpdate, *, chunk_size: int) -> bytes:
    if not 1 <= chunk_size <= 0xFFFF:
        raise ValueError(f"chunk size {chunk_size} outside 1..65535")
    chunks = [update.image[i : i + chunk_size] for i in range(0, len(update.image), chunk_size)]
    if len(chunks) > 0xFFFF:
        raise ValueError("image needs more than 65535 chunks; use a larger chunk size")
    model = update.model_id.encode("ascii")
    out = [
        _U8.pack(len(model)),
        model,
        _IMAGE_FIXED.pack(
            update.encoding,
            update.page,
            update.content_hash,
            update.base_hash or _NO_HASH,
            0 if update.display_at is None else to_wire_ms(update.display_at),
            len(update.image),
            chunk_size,
            len(chunks),
        ),
    ]
    for index, chunk in enumerate(chunks):
        head = _CHUNK_HEAD.pack(index, len(chunk))
        out += [head, chunk, _CRC.pack(zlib.crc32(chunk, zlib.crc32(head)))]
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class ReceivedChunks:
    """The image bytes of an Image Update, reassembled from CRC-checked chunks."""

    image: bytes
    end: int  # offset just past the last chunk


def read_chunks(reader: Reader) -> ReceivedChunks:
    """Check every chunk's framing and CRC before the MAC, as a radio checks each packet
    on arrival: a bit flipped in transit reads as CORRUPT_CHUNK (resend), not a forgery."""
    reader.take(reader.u8())
    *_, chunk_size, count = reader.unpack(_IMAGE_FIXED)
    data, offset, end = reader.data, reader.offset, reader.end
    head_size, crc_size = _CHUNK_HEAD.size, _CRC.size
    parts = []
    for expected_index in range(count):
        if offset + head_size > end:
            raise reader.reject(ReasonCode.MALFORMED_FRAME, "truncated chunk")
        index, length = _CHUNK_HEAD.unpack_from(data, offset)
        last = expected_index == count - 1
        if index != expected_index or length > chunk_size or (not last and length != chunk_size):
            raise reader.reject(ReasonCode.MALFORMED_FRAME, f"chunk {expected_index} framing")
        stop = offset + head_size + length
        if stop + crc_size > end:
            raise reader.reject(ReasonCode.MALFORMED_FRAME, "truncated chunk")
        # CRC-32 over chunk header and bytes together.
        if zlib.crc32(data[offset:stop]) != _CRC.unpack_from(data, stop)[0]:
            raise reader.reject(ReasonCode.CORRUPT_CHUNK, f"chunk {expected_index}")
        parts.append(data[offset + head_size : stop])
        offset = stop + crc_size
    reader.offset = offset
    return ReceivedChunks(image=b"".join(parts), end=offset)


def unpack_command(opcode: int, reader: Reader, chunks: ReceivedChunks | None = None) -> Command:
    """The command in the frame body; the MAC has already been checked.

    An Image Update's chunks were read (and CRC-checked) before the MAC: pass them in.
    """
    command: Command
    if opcode == Opcode.PING:
        command = Ping()
    elif opcode == Opcode.UNASSOCIATE:
        command = Unassociate()
    elif opcode == Opcode.REFRESH_DISPLAY:
        (display,) = reader.unpack(_U8)
        if display != 0:
            raise reader.reject(ReasonCode.INVALID_PARAMETERS, f"display {display}")
        command = RefreshDisplay()
    elif opcode == Opcode.SET_CLOCK:
        command = SetClock(at=_instant(reader, reader.unpack(_U64)[0]))
    elif opcode in (Opcode.DISPLAY_IMAGE, Opcode.DISPLAY_TIMED_IMAGE):
        _display, page = reader.unpack(_PAGE)
        at = None
        if opcode == Opcode.DISPLAY_TIMED_IMAGE:
            at = _instant(reader, reader.unpack(_U64)[0])
        command = SwitchPage(page=page, display_at=at)
    elif opcode == Opcode.LED_CONTROL:
        led, colour, pattern, duration = reader.unpack(_LED)
        try:
            command = FlashLed(
                colour=LedColour(colour), pattern=LedPattern(pattern), duration_s=duration, led=led
            )
        except ValueError as error:
            raise reader.reject(ReasonCode.INVALID_PARAMETERS, str(error)) from None
    elif opcode == Opcode.IMAGE_UPDATE:
        command = _unpack_image_update(reader, chunks or read_chunks(reader))
    else:
        raise reader.reject(ReasonCode.INVALID_OPCODE, f"0x{opcode:02x}")
    reader.finish()
    return command


def _instant(reader: Reader, milliseconds: int) -> datetime:
    try:
        return from_wire_ms(milliseconds)
    except OverflowError:
        raise reader.reject(ReasonCode.IMPLAUSIBLE_ABSOLUTE_TIME) from None


def _unpack_image_update(reader: Reader, chunks: ReceivedChunks) -> ImageUpdate:
    model_id = reader.text()
    encoding, page, content, base, display_ms, size, _, _ = reader.unpack(_IMAGE_FIXED)
    reader.offset = chunks.end
    image = chunks.image
    if len(image) != size or not image:
        raise reader.reject(ReasonCode.MALFORMED_FRAME, "image size does not match its chunks")
    try:
        return ImageUpdate(
            model_id=model_id,
            encoding=ImageEncoding(encoding),
            content_hash=content,
            image=image,
            base_hash=None if base == _NO_HASH else base,
            page=page,
            display_at=None if display_ms == 0 else _instant(reader, display_ms),
        )
    except ValueError as error:
        raise reader.reject(ReasonCode.INVALID_PARAMETERS, str(error)) from None


def header_opcode(data: bytes, header: FrameHeader) -> int | None:
    """The opcode byte right after a command header, unauthenticated (for routing)."""
    return data[header.size] if len(data) > header.size else None
