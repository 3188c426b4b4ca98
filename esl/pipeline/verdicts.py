"""What a verified label response means for the outbox row it answers: a pure decision.

The dispatcher matches a response to the row by `(label_id, sequence)` and asks
`verdict_for` what to do. The reason codes are the protocol's (docs/protocol.md).

A match by `(label_id, sequence)` is not proof on its own: after the database lost its
last commits, the controller signs new frames with the numbers of frames it lost, which
labels may already have taken. An acknowledgement describes the panel (its displayed
hash), so one that contradicts its row's content answers a lost frame, not the row.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from esl.delivery_states import ParkReason
from gateways.protocol import BasicStateFlag, LabelResponse, ReasonCode

__all__ = ["INTEGRITY_FAILURES", "ParkReason", "Parking", "Verdict", "verdict_for"]


class Verdict(StrEnum):
    ACKED = "acked"  # the label holds the content: done
    RETRY = "retry"  # send the same frame again after a backoff
    RESEND_FULL = "resend_full"  # the label lacks the delta's base: rebuild as a full image
    SEND_AT_INSTANT = "send_at_instant"  # cannot hold a scheduled image: send it at the instant
    # The label received our frame altered: re-sign it with a new sequence and send again.
    TAMPERED = "tampered"
    # The label's count passed the frame's sequence without taking it (it holds frames the
    # record lost, or signed elsewhere): sign the same command again, above.
    RESIGN = "resign"
    PARK = "park"  # stop until the label checks in again
    # An acknowledgement whose panel this frame cannot have left: the label took another
    # frame signed with this number (one the record lost). Not this frame's answer: the
    # record takes the panel, and the frame is signed again above.
    ANOTHER_FRAME = "another_frame"


class Parking(NamedTuple):
    """Why an update is parked: the reason, and what it leaves open (the reason code)."""

    reason: ParkReason
    detail: str | None = None


# Refusals that mean "this label has no room or no verb for a timed image".
_NO_SCHEDULING = frozenset(
    {ReasonCode.INVALID_IMAGE_INDEX, ReasonCode.INVALID_OPCODE, ReasonCode.INVALID_PARAMETERS}
)
# Refusals a frame the controller signed can only earn when it was altered (or displaced
# by a forged copy) on its way: never the label's final word on the update.
INTEGRITY_FAILURES = frozenset(
    {
        ReasonCode.BAD_MAC,
        ReasonCode.WRONG_LABEL,
        ReasonCode.MALFORMED_FRAME,
        ReasonCode.UNSUPPORTED_VERSION,
    }
)
# A busy label: the very same frame will succeed once its panel has refreshed.
_BUSY = frozenset({ReasonCode.RETRY, ReasonCode.QUEUE_FULL})


def verdict_for(
    response: LabelResponse, *, content_hash: str, scheduled: bool
) -> tuple[Verdict, Parking | None]:
    """The verdict on `response` for the image update of `content_hash` (hex), and why
    the update is parked: now for PARK, or once the attempts run out for RETRY, TAMPERED
    and RESIGN; None for the others."""
    reason = response.reason
    if reason is ReasonCode.SUCCESS:
        if not _shows_after_update(response, content_hash=content_hash, scheduled=scheduled):
            return Verdict.ANOTHER_FRAME, None
        return Verdict.ACKED, None
    if reason in INTEGRITY_FAILURES:
        return Verdict.TAMPERED, Parking(ParkReason.TAMPERED, reason.name)
    if reason is ReasonCode.STALE_SEQUENCE:
        # No answer to a frame still open can be stale unless the label counts further
        # than the record (frames it signed lost with its database's last commits).
        return Verdict.RESIGN, Parking(ParkReason.REJECTED, reason.name)
    if reason is ReasonCode.UNKNOWN_BASE_IMAGE:
        return Verdict.RESEND_FULL, None
    if scheduled and reason in _NO_SCHEDULING:
        return Verdict.SEND_AT_INSTANT, None
    if reason is ReasonCode.INSUFFICIENT_BATTERY:
        # Transient for the label (a battery may recover a little), final for the shelf.
        return Verdict.RETRY, Parking(ParkReason.FLAT_BATTERY)
    if reason in _BUSY:
        return Verdict.RETRY, Parking(ParkReason.BUSY)
    if reason is ReasonCode.CORRUPT_CHUNK:
        # Damaged in transit: the radio link is bad, the frame itself is fine.
        return Verdict.RETRY, Parking(ParkReason.OFFLINE)
    return Verdict.PARK, Parking(ParkReason.REJECTED, reason.name)


def _shows_after_update(response: LabelResponse, *, content_hash: str, scheduled: bool) -> bool:
    """Whether the panel an acknowledgement describes is one the image update of
    `content_hash` leaves: that image, or, for a timed one the label stores, the image
    before it with the flip pending. A label that took the update answers right after
    acting on it, so any other panel (none, or another image) says it took another frame.
    """
    shown = response.displayed_hash
    if shown is not None and shown.hex() == content_hash:
        return True
    return scheduled and BasicStateFlag.PENDING_DISPLAY_UPDATE in response.flags
