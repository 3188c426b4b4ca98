"""What a verified label response means for the outbox row it answers: a pure decision.

The dispatcher matches a response to the row by `(label_id, sequence)` and asks
`verdict_for` what to do. The reason codes are the protocol's (docs/protocol.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from esl.delivery_states import ParkReason
from gateways.protocol import LabelResponse, ReasonCode

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


def verdict_for(response: LabelResponse, *, scheduled: bool) -> tuple[Verdict, Parking | None]:
    """The verdict, and why the update is parked: now for PARK, or once the attempts run
    out for RETRY and TAMPERED; None for the others."""
    reason = response.reason
    if reason is ReasonCode.SUCCESS:
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
