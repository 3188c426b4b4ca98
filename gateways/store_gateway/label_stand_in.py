"""The gateway standing in for a label that cannot sign (an OpenEPaperLink tag).

It holds the label's key, checks every frame exactly as a label would
(docs/protocol.md, "What a label checks, in order"), has the radio put the image on the
panel, and signs the answer only after the radio confirmed the panel holds exactly those
pixels. So the controller's acceptance rules hold unchanged: an ack still means "these
pixels are on that panel", a forged or replayed frame is refused with a signed reason.

What such a label cannot do is said in its answers: one page (page 0), no timed images
(`INVALID_PARAMETERS`, and the controller sends the image at the instant instead).
When the radio cannot confirm the image (the tag never checked in, the AP is busy or
gone), the stand-in signs nothing and takes no sequence: the controller resends later.
In place of an answer the gateway sends its own unsigned report of what went wrong
(`reports.gave_up_report`), which the controller shows with the update.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateways.protocol import (
    NO_OPCODE,
    BasicStateFlag,
    Command,
    FlashLed,
    FrameKind,
    ImageUpdate,
    LabelResponse,
    LabelState,
    Ping,
    ReasonCode,
    RefreshDisplay,
    SetClock,
    SwitchPage,
    Unassociate,
    encode_response,
    from_wire_ms,
    to_wire_ms,
)
from gateways.protocol.label_checks import (
    Refusal,
    Repeated,
    check_frame,
    check_image,
    clock_offset_ms,
)
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.radio import LabelHealth, LabelRadio, RadioError
from gateways.store_gateway.reports import gave_up_report

__all__ = [
    "FIRMWARE",
    "Outcome",
    "answer_frame",
    "check_in_report",
    "confirmed",
    "drawn_over",
    "forgotten",
    "heard_since",
    "with_health",
]

_log = logging.getLogger(__name__)

FIRMWARE: Final = "2.0.0"  # the stand-in's own version, as answers report it


@dataclass(frozen=True, slots=True)
class Outcome:
    label: LabelRecord  # the label's state after the frame
    answer: bytes | None  # the signed answer; None: silence (not done, try again later)
    # Instead of an answer: the gateway's own report of why there is none (unsigned).
    report: bytes | None = None


async def answer_frame(
    label: LabelRecord,
    data: bytes,
    *,
    radio: LabelRadio,
    model: tuple[int, int, bool],
    now: datetime,
) -> Outcome:
    """Handle one frame for `label`; `model` is its panel's width, height and accent."""
    key = label.key
    if key is None:
        return Outcome(label, None)  # unassociated: a label without a key says nothing
    last = (label.last_sequence, label.last_mac)
    checked = check_frame(data, key=key, label_id=label.label_id, last=last)
    match checked:
        case Repeated():
            return Outcome(label, label.last_response)  # a radio duplicate: the same answer
        case Refusal(sequence=sequence, reason=refused, opcode=opcode):
            return Outcome(label, _respond(label, now, sequence, refused, opcode))
    frame, mac = checked.frame, checked.mac
    if frame.sequence != label.last_sequence + 1:
        # Frames were signed for this label since the last one here: by another gateway
        # holding its key (an OEPL tag roams between the APs of a store, each with its
        # gateway) or lost on the way. The image this gateway confirmed may have been
        # drawn over by one of them, and its radio's record of the tag cannot tell.
        label = forgotten(label)
    try:
        label, reason = await _execute(label, frame.command, radio=radio, model=model, now=now)
    except RadioError as error:
        _log.warning("label %s: %s", label.label_id, error.reason)
        if not error.final:
            report = gave_up_report(label, data, error, now=now)
            return Outcome(label.evolve(last_error=error.reason), None, report)
        # Refused for good: signed, with the radio's reason code (WRONG_MODEL: the tag is
        # another panel than the image's), so the controller parks the update at once.
        label, reason = label.evolve(last_error=error.reason), error.refusal
    answer = _respond(label, now, frame.sequence, reason, frame.opcode)
    if isinstance(frame.command, Unassociate) and reason is ReasonCode.SUCCESS:
        # Acknowledged, then the key is gone: nothing more is signed for this label.
        return Outcome(label.evolve(key=None, last_sequence=frame.sequence), answer)
    return Outcome(
        label.evolve(last_sequence=frame.sequence, last_mac=mac, last_response=answer), answer
    )


async def _execute(
    label: LabelRecord,
    command: Command,
    *,
    radio: LabelRadio,
    model: tuple[int, int, bool],
    now: datetime,
) -> tuple[LabelRecord, ReasonCode]:
    match command:
        case Ping():
            return with_health(label, await radio.ping(label.address)), ReasonCode.SUCCESS
        case Unassociate():
            return label, ReasonCode.SUCCESS
        case RefreshDisplay():
            if label.shown is None:
                return label, ReasonCode.IMAGE_NOT_AVAILABLE
            health = await radio.redraw(label.address, label.shown, model=label.model)
            return with_health(confirmed(label, health), health), ReasonCode.SUCCESS
        case SetClock(at=at):
            offset_ms = clock_offset_ms(at, now_ms=to_wire_ms(now))
            if offset_ms is None:
                return label, ReasonCode.IMPLAUSIBLE_ABSOLUTE_TIME
            return label.evolve(clock_offset_ms=offset_ms), ReasonCode.SUCCESS
        case FlashLed(colour=colour, pattern=pattern, duration_s=seconds):
            await radio.flash_led(
                label.address, colour=int(colour), pattern=int(pattern), seconds=seconds
            )
            return label, ReasonCode.SUCCESS
        case SwitchPage(page=page, display_at=display_at):
            if page != 0:
                return label, ReasonCode.INVALID_IMAGE_INDEX
            if display_at is not None:
                return label, ReasonCode.INVALID_PARAMETERS  # no timed flips on this label
            if label.shown is None:
                return label, ReasonCode.IMAGE_NOT_AVAILABLE
            return label, ReasonCode.SUCCESS
        case ImageUpdate():
            return await _show(label, command, radio=radio, model=model)
    return label, ReasonCode.INVALID_OPCODE  # pragma: no cover - every command is matched


async def _show(
    label: LabelRecord, update: ImageUpdate, *, radio: LabelRadio, model: tuple[int, int, bool]
) -> tuple[LabelRecord, ReasonCode]:
    if update.model_id != label.model:
        return label, ReasonCode.WRONG_MODEL
    if update.page != 0:
        return label, ReasonCode.INVALID_IMAGE_INDEX
    if update.display_at is not None:
        return label, ReasonCode.INVALID_PARAMETERS
    image = check_image(update, panel=model, shown=label.shown, shown_hash=label.shown_hash)
    if isinstance(image, ReasonCode):
        return label, image
    planes, digest = image.planes, image.digest
    # Only now, with a verified frame and its exact pixels, does anything reach the radio.
    # An image the tag holds already is not drawn again (as a label of ours acknowledges
    # it without a redraw): Refresh Display is what has it drawn, `radio.redraw`. When
    # what it shows is not known here, the radio's memory of what it took is not either:
    # it is made to take the image (`redraw` draws it again when the radio holds it).
    if label.shown is None:
        health = await radio.redraw(label.address, planes, model=label.model, for_update=True)
    else:
        health = await radio.show(label.address, planes, model=label.model)
    shown = confirmed(label.evolve(shown=planes, shown_hash=digest, last_error=""), health)
    return with_health(shown, health), ReasonCode.SUCCESS


def confirmed(label: LabelRecord, health: LabelHealth) -> LabelRecord:
    """`label` once the radio confirmed it shows `label.shown`: what the radio then said it
    holds and its last update (how many images it had taken, and when), for `drawn_over`
    to compare with. Only a delivery of ours sets them (never a ping or a health poll):
    what the tag took meanwhile is what they are there to catch."""
    return label.evolve(
        radio_holds=health.holds, radio_updates=health.updates, radio_updated_s=health.updated_s
    )


def forgotten(label: LabelRecord) -> LabelRecord:
    """`label` showing nothing this gateway knows: its answers and check-ins then claim
    no image, so the controller sends the due one, which the tag is made to take."""
    return label.evolve(
        shown=None, shown_hash=None, radio_holds="", radio_updates=None, radio_updated_s=None
    )


def with_health(label: LabelRecord, health: LabelHealth) -> LabelRecord:
    """`label` with what the radio last heard. `last_seen_s` is the radio's own stamp as
    it is (its clock, not ours), kept only to tell when the label was heard again (it
    changed, `heard_since`); never the later of the two, which would pin a stamp from a
    radio clock that ran fast and hide every check-in until that clock caught up. A label
    `returned` after a long silence (it may have taken an image at another radio) is
    `forgotten` until a delivery to it is confirmed."""
    if health.returned:
        label = forgotten(label)
    return label.evolve(
        battery_mv=health.battery_mv or label.battery_mv,
        rssi_dbm=health.rssi_dbm or label.rssi_dbm,
        lqi=health.lqi or label.lqi,
        temperature_tenths_c=health.temperature_tenths_c or label.temperature_tenths_c,
        last_seen_s=health.last_seen_s or label.last_seen_s,
    )


def heard_since(label: LabelRecord, health: LabelHealth) -> bool:
    """The radio heard the label since `label` was noted: its stamp of the label changed,
    either way (a radio clock set back, by NTP or a restart, stamps an earlier time), and
    the radio does not call it silent. A label noted for the first time (a new gateway, a
    lost state file, a second AP listing a tag that roamed) has no stamp to compare with:
    only the radio's estimate of its silence tells a tag heard lately from one the radio
    last heard hours ago."""
    changed = bool(health.last_seen_s) and health.last_seen_s != label.last_seen_s
    return changed and not health.silent


def drawn_over(label: LabelRecord, health: LabelHealth) -> bool:
    """The label holds something else than the image we confirmed, or its last update is
    not the one of our delivery: someone drew on it behind our back (on OEPL anyone on
    the store LAN can, and can put the AP's record of it back to our image afterwards:
    the update count still says the tag took another one; and can delete the tag on the
    AP first, so that its count starts again from 0 and comes back to ours: the time of
    the update then differs).

    A count that fell counts too (the AP restarted with an older record, or forgot the
    tag), and so does a delivery of ours that the gateway gave up on and the tag took
    later: the gateway cannot tell them from someone else's image, and sending the due
    image once more is the safe mistake; once confirmed, that delivery is the one
    compared with."""
    if label.shown is None:
        return False
    holds_another = bool(
        label.radio_holds and health.holds and health.settled and health.holds != label.radio_holds
    )
    if label.radio_updates is None or health.updates is None:
        return holds_another
    ours = (label.radio_updates, label.radio_updated_s)
    # A state file kept before the time was kept knows only the count of our delivery.
    theirs = (health.updates, health.updated_s if label.radio_updated_s is not None else None)
    return holds_another or theirs != ours


def check_in_report(label: LabelRecord, *, now: datetime) -> bytes | None:
    """A signed check-in (0x82) with the label's health; None for a label without a key."""
    if label.key is None:
        return None
    return _respond(
        label, now, label.last_sequence, ReasonCode.SUCCESS, NO_OPCODE, FrameKind.CHECK_IN
    )


def _respond(
    label: LabelRecord,
    now: datetime,
    sequence: int,
    reason: ReasonCode,
    opcode: int,
    kind: FrameKind = FrameKind.RESPONSE,
) -> bytes:
    assert label.key is not None
    nothing_yet = label.last_sequence == 0 and label.shown is None
    state = LabelState.CONFIGURED if nothing_yet else LabelState.SYNCHRONIZED
    flags = BasicStateFlag.NONE if nothing_yet else BasicStateFlag.SYNCHRONIZED
    response = LabelResponse(
        label_id=label.label_id,
        sequence=sequence,
        reason=reason,
        state=state,
        flags=flags,
        displayed_hash=label.shown_hash,
        page=0,
        battery_mv=max(0, min(label.battery_mv, 0xFFFF)),
        rssi_dbm=max(-128, min(label.rssi_dbm, 127)),
        lqi=max(0, min(label.lqi, 255)),
        temperature_tenths_c=label.temperature_tenths_c,
        firmware=FIRMWARE,
        label_time=from_wire_ms(max(0, to_wire_ms(now) + label.clock_offset_ms)),
        opcode=opcode,
        kind=kind,
    )
    return encode_response(response, key=label.key)
