"""What a label checks, in order (docs/protocol.md), for whatever answers as a label.

Two things answer frames as a label: the simulated label (`firmware_sim.label`) and the
store gateway standing in for a label that cannot sign (`gateways.store_gateway`). Both
take their checks from here, so both refuse the same frames for the same reasons:

    checked = check_frame(data, key=key, label_id=label_id, last=(last_sequence, last_mac))
    match checked:
        case Repeated():     answer with the stored answer, change nothing
        case Refusal():      answer with a signed nack (`sequence`, `reason`, `opcode`)
        case FreshFrame():   do `checked.frame.command`, remember `checked.mac` if it settles

An image is checked by `check_image` once the label's own limits (model, page, battery)
passed: base image, decode, content hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateways.protocol._wire import MAC_SIZE, peek_header
from gateways.protocol.commands import ImageEncoding, ImageUpdate, header_opcode, to_wire_ms
from gateways.protocol.errors import FrameRejectedError
from gateways.protocol.frames import LabelFrame, decode_frame
from gateways.protocol.reasons import ReasonCode
from gateways.protocol.responses import NO_OPCODE
from rendering.encoding import Planes, decode_with_hash
from rendering.errors import DecodeError, DecodeReason

__all__ = [
    "EARLIEST_PLAUSIBLE_MS",
    "CheckedImage",
    "FreshFrame",
    "Refusal",
    "Repeated",
    "check_frame",
    "check_image",
    "clock_offset_ms",
]

# A clock set before this is a mistake, not a time (ESL "implausible absolute time").
EARLIEST_PLAUSIBLE_MS: Final = 1_577_836_800_000  # 2020-01-01T00:00:00Z
_BASE_REASONS = frozenset({DecodeReason.MISSING_BASE, DecodeReason.WRONG_BASE})


@dataclass(frozen=True, slots=True)
class FreshFrame:
    """A verified frame with a sequence above every one accepted: to be done."""

    frame: LabelFrame
    mac: bytes  # remembered with a settling answer, to know the frame if the radio repeats it


@dataclass(frozen=True, slots=True)
class Repeated:
    """The very frame last accepted (same sequence, same MAC), a radio duplicate: answered
    with the stored answer, nothing done again."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A frame refused before anything is done: the signed nack carries these."""

    sequence: int
    reason: ReasonCode
    opcode: int


def check_frame(
    data: bytes, *, key: bytes, label_id: str, last: tuple[int, bytes]
) -> FreshFrame | Repeated | Refusal:
    """Steps 1 to 6 of the label's checks: the frame itself, then its sequence number
    against `last`, the sequence and MAC of the frame the label last accepted."""
    try:
        frame = decode_frame(data, key=key, label_id=label_id)
    except FrameRejectedError as rejected:
        return Refusal(rejected.sequence or 0, rejected.reason, _opcode_of_rejected(data))
    mac = data[-MAC_SIZE:]
    last_sequence, last_mac = last
    if frame.sequence == last_sequence and mac == last_mac:
        return Repeated()
    if frame.sequence <= last_sequence:
        return Refusal(frame.sequence, ReasonCode.STALE_SEQUENCE, frame.opcode)
    return FreshFrame(frame, mac)


def _opcode_of_rejected(data: bytes) -> int:
    """The opcode a refused frame asked for, as its nack names it; NO_OPCODE when even
    its header cannot be read."""
    try:
        return header_opcode(data, peek_header(data)) or NO_OPCODE
    except FrameRejectedError:
        return NO_OPCODE


def clock_offset_ms(at: datetime, *, now_ms: int) -> int | None:
    """How far a label's clock set to `at` runs ahead of `now_ms`; None when `at` is too
    early to be a time (the label answers IMPLAUSIBLE_ABSOLUTE_TIME)."""
    at_ms = to_wire_ms(at)
    if at_ms < EARLIEST_PLAUSIBLE_MS:
        return None
    return at_ms - now_ms


@dataclass(frozen=True, slots=True)
class CheckedImage:
    planes: Planes
    digest: bytes  # the content hash of `planes`, as the update named it


def check_image(
    update: ImageUpdate,
    *,
    panel: tuple[int, int, bool],
    shown: Planes | None,
    shown_hash: bytes | None,
) -> CheckedImage | ReasonCode:
    """The pixels an image update results in on a panel (width, height, accent) showing
    `shown`, or the reason to refuse it: a delta on another base image than the one shown,
    bytes that do not decode, or pixels whose hash is not the one the update names."""
    width, height, has_accent = panel
    base = None
    if update.encoding is ImageEncoding.DELTA:
        if shown is None or update.base_hash != shown_hash:
            return ReasonCode.UNKNOWN_BASE_IMAGE
        base = shown
    try:
        planes, digest = decode_with_hash(
            update.image, width=width, height=height, has_accent=has_accent, base=base
        )
    except DecodeError as error:
        if error.reason in _BASE_REASONS:
            return ReasonCode.UNKNOWN_BASE_IMAGE
        return ReasonCode.CORRUPT_IMAGE
    if digest != update.content_hash:
        return ReasonCode.CORRUPT_IMAGE
    return CheckedImage(planes, digest)
