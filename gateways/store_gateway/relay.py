"""The store gateway relaying for a label that signs for itself (a Bluetooth ESL label).

Such a label holds its key, checks every frame itself (MAC, sequence, fields) and signs
its answer, refusals included, so the gateway neither verifies nor signs: it moves the
frame's bytes to the label and the label's answer back, and cannot forge either. What it
keeps per label is when the label last answered and, when it did not, why (`last_error`).

A label that gave no answer (out of range after every connection attempt, not
associated, a transfer it refused) gets silence, as a tag behind the stand-in does: the
frame leaves the queue without an answer, the controller hears nothing, resends with its
backoff and finally parks the update as offline, visibly. Nothing could sign a refusal.
"""

from __future__ import annotations

import logging
from datetime import datetime

from gateways.store_gateway.label_stand_in import Outcome
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.radio import RadioError, SelfSigningRadio

__all__ = ["relay_frame"]

_log = logging.getLogger(__name__)


async def relay_frame(
    label: LabelRecord, data: bytes, *, radio: SelfSigningRadio, now: datetime
) -> Outcome:
    """Hand `data` to the label as it is; its signed answer, or silence with the reason."""
    try:
        answer = await radio.exchange(label.label_id, data)
    except RadioError as error:
        _log.warning("label %s: %s", label.label_id, error.reason)
        return Outcome(label.evolve(last_error=error.reason), None)
    heard = max(label.last_seen_s, now.timestamp())
    return Outcome(label.evolve(last_error="", last_seen_s=heard), answer)
