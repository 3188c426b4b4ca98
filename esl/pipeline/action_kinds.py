"""The words of label actions: what staff (or the controller) ask a label to do, and
where each request stands. Below `label_actions` (which sends and settles them) and
`ble_unassociation` (an action's steps), which both compare these members, not strings.
The values are what the database stores and what the API and console show."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OPEN_STATUSES", "RETIRED_NOT_SENT", "ActionKind", "ActionStatus"]


class ActionKind(StrEnum):
    FLASH = "flash"
    PING = "ping"
    REFRESH = "refresh"
    # The label's clock to the controller's, signed at sending (esl/pipeline/label_clocks.py
    # asks for it when a check-in's clock is off; staff may too).
    SET_CLOCK = "set_clock"
    # A BLE label released: its screen, then Unassociate (esl/pipeline/ble_unassociation.py).
    UNASSOCIATE = "unassociate"


class ActionStatus(StrEnum):
    REQUESTED = "requested"
    SENT = "sent"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    FAILED = "failed"


OPEN_STATUSES = (ActionStatus.REQUESTED.value, ActionStatus.SENT.value)

# Why an action of a retired label failed unsent: it was queued when the label was retired,
# or asked of it since (the controller asks a retired label nothing of its own).
RETIRED_NOT_SENT = "not sent: label retired"
