"""The store gateway relaying for a label that signs for itself (a Bluetooth ESL label).

Such a label holds its key, checks every frame itself (MAC, sequence, fields) and signs
its answer, refusals included, so the gateway neither verifies nor signs: it moves the
frame's bytes to the label and the label's answer back, and cannot forge either. What it
keeps per label is when the label last answered and, when it did not, why (`last_error`).

A label that gave no answer (out of range after every connection attempt, not
associated, a transfer it refused) cannot sign a refusal, so the gateway says so itself:
the frame leaves the queue with a gateway report (docs/protocol.md, "Gateway reports")
in place of an answer, naming the frame, the reason and how often the radio tried. It
is the gateway's word, not the label's: the controller shows it with the update
(retried with its backoff, parked as offline in the end) and believes nothing about the
panel from it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from gateways.store_gateway.label_stand_in import Outcome
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.radio import RadioError, SelfSigningRadio
from gateways.store_gateway.reports import gave_up_report

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
        report = gave_up_report(label, data, error, now=now)
        return Outcome(label.evolve(last_error=error.reason), None, report)
    heard = max(label.last_seen_s, now.timestamp())
    return Outcome(label.evolve(last_error="", last_seen_s=heard), answer)
