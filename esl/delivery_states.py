"""The words of delivery: an outbox row's status, why an update was parked, and the
delivery state of a label (`esl.services.label_status` decides which applies).

Defined below the pipeline (which writes them), the audit and the services (which read
them back), so that each compares enum members instead of copying strings. The values
are what the database stores and what `esl health` and the API show.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "IN_PROGRESS_STATUSES",
    "OPEN_STATUSES",
    "LabelStatus",
    "OutboxStatus",
    "PanelForgottenBy",
    "ParkReason",
    "RecordedPanel",
    "park_metric_reason",
    "park_text",
]


class OutboxStatus(StrEnum):
    """Where a frame of the outbox stands."""

    HELD = "held"  # waits for the label's earlier frames (a timed image behind the image of now)
    PENDING = "pending"  # due at `not_before`
    SENT = "sent"  # handed to the transport, no answer yet
    PARKED = "parked"  # stopped until the label is heard again; `parked_reason` says why
    ACKED = "acked"  # the label holds the content
    SUPERSEDED = "superseded"  # newer content (or a re-signed copy) replaced it


# Rows that still expect an answer (or a check-in, when parked), or that wait for the
# label's earlier frames (held).
OPEN_STATUSES = (
    OutboxStatus.PENDING,
    OutboxStatus.SENT,
    OutboxStatus.PARKED,
    OutboxStatus.HELD,
)
# A frame still on its way to the label (or waiting to be): it blocks a held frame.
IN_PROGRESS_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.PARKED)


class ParkReason(StrEnum):
    """Why an update stopped being retried, as shown by `esl health` and the API."""

    OFFLINE = "offline"  # no answer after every attempt
    BUSY = "busy"  # answered every attempt, but was always busy (refreshing, queue full)
    FLAT_BATTERY = "flat battery"
    REJECTED = "rejected"  # the label refused it for good; the detail names the reason code
    TAMPERED = "tampered in transit"  # altered or displaced on every attempt; detail: how
    # The transport refused the frame for good (larger than the broker's packet limit):
    # never sent, so never retried; detail: why. Newer content replaces it.
    UNDELIVERABLE = "undeliverable"
    # The label's store gateway refused the frame for good (a gateway report flagged
    # FINAL: not in its label file, it failed on the frame at every try): parked at once,
    # not revived by check-ins (the gateway would refuse it again); detail: the gateway's
    # words and when. Newer content, or `esl label refresh`, replaces it.
    REFUSED_BY_GATEWAY = "refused by gateway"


class RecordedPanel(StrEnum):
    """What the record made of a label's word on its panel (a check-in's, an answer's),
    kept with the word (`label_acknowledgements.panel`): the past audit reads each
    label's panel then as the pipeline took it, not as the label said it.

    A word the pipeline did not take as the panel (refused: busy, a damaged frame; older
    than a claim held: a replay, a gateway's backlog relayed late, an acknowledgement
    behind the check-in after it) is kept, so the panel is the one taken before it; one
    whose weighing made the record forget what the label shows (an older word that
    differs, nothing on its way) leaves it unknown from then on, as the live audit has
    it (`unconfirmed`), never the image taken before it."""

    REPORTED = "reported"  # the panel it reports: its displayed hash, else the image it
    # acknowledged; neither: a blank panel
    KEPT = "kept"  # the panel taken before it
    FORGOTTEN = "forgotten"  # unknown


class PanelForgottenBy(StrEnum):
    """An operation, no word of the label's, that made the record forget what a label
    shows: kept in its history as a `RecordedPanel.FORGOTTEN` row with this as its
    reason (`esl.pipeline.panel_history`), so the past audit says `unconfirmed` from
    then on, as the live audit did, not the panel taken before it."""

    REFRESH = "refresh asked"  # its whole image sent again (`label_actions`)
    MODEL_CHANGED = "panel model changed"  # drawn on the old panel (`label_models`)
    ASSOCIATED = "associated anew"  # shown under an earlier BLE association


class LabelStatus(StrEnum):
    """A label's delivery state, one per label (`esl.services.label_status`)."""

    UNBOUND = "unbound"
    UNPLANNED = "unplanned"
    FAILED = "failed"
    PENDING = "pending"
    SCHEDULED = "scheduled"
    UP_TO_DATE = "up_to_date"


def park_metric_reason(reason: str | None) -> str:
    """The parked reason as a metric label: the bare reason in snake_case
    ("flat_battery", "tampered_in_transit"), without its detail."""
    return "unknown" if reason is None else reason.replace(" ", "_")


def park_text(reason: str | None, detail: str | None) -> str | None:
    """The parked reason as users read it: "rejected: INVALID_OPCODE", "offline"."""
    if reason is None:
        return None
    return f"{reason}: {detail}" if detail else reason
