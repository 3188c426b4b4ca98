"""What a verified label response means for the outbox row it answers: a pure decision.

The dispatcher matches a response to the row by `(label_id, sequence)` and asks
`verdict_for` what to do. The reason codes are the protocol's (docs/protocol.md).
"""

from __future__ import annotations

from enum import StrEnum

from gateways.protocol import LabelResponse, ReasonCode

__all__ = ["INTEGRITY_FAILURES", "ParkReason", "Verdict", "verdict_for"]


class Verdict(StrEnum):
    ACKED = "acked"  # the label holds the content: done
    RETRY = "retry"  # send the same frame again after a backoff
    RESEND_FULL = "resend_full"  # the label lacks the delta's base: rebuild as a full image
    SEND_AT_INSTANT = "send_at_instant"  # cannot hold a scheduled image: send it at the instant
    # The label received our frame altered: re-sign it with a new sequence and send again.
    TAMPERED = "tampered"
    PARK = "park"  # stop until the label checks in again


class ParkReason(StrEnum):
    """Why an update stopped being retried, as shown by `esl health` and the API."""

    OFFLINE = "offline"  # no answer after every attempt
    BUSY = "busy"  # answered every attempt, but was always busy (refreshing, queue full)
    FLAT_BATTERY = "flat battery"
    REJECTED = "rejected"  # the label refused it for good; the reason code says why
    TAMPERED = "tampered in transit"  # altered or displaced on every attempt


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


def verdict_for(response: LabelResponse, *, scheduled: bool) -> tuple[Verdict, str]:
    """The verdict, and the reason an update is parked with: now for PARK, or once the
    attempts run out for RETRY."""
    reason = response.reason
    if reason is ReasonCode.SUCCESS:
        return Verdict.ACKED, ""
    if reason in INTEGRITY_FAILURES:
        return Verdict.TAMPERED, f"{ParkReason.TAMPERED.value}: {reason.name}"
    if reason is ReasonCode.UNKNOWN_BASE_IMAGE:
        return Verdict.RESEND_FULL, ""
    if scheduled and reason in _NO_SCHEDULING:
        return Verdict.SEND_AT_INSTANT, ""
    if reason is ReasonCode.INSUFFICIENT_BATTERY:
        # Transient for the label (a battery may recover a little), final for the shelf.
        return Verdict.RETRY, ParkReason.FLAT_BATTERY.value
    if reason in _BUSY:
        return Verdict.RETRY, ParkReason.BUSY.value
    if reason is ReasonCode.CORRUPT_CHUNK:
        # Damaged in transit: the radio link is bad, the frame itself is fine.
        return Verdict.RETRY, ParkReason.OFFLINE.value
    return Verdict.PARK, f"{ParkReason.REJECTED.value}: {reason.name}"
