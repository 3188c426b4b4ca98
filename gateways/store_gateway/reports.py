"""The gateway's own reports about its labels (kind 0x83, unsigned; docs/protocol.md).

Sent in place of an answer when the radio gave up on a frame, and when a label that was
out of reach answers the radio again. The gateway holds no key of a Bluetooth ESL label,
so it cannot sign for it: these say what the gateway saw, nothing about the panel.

A report flagged `FINAL` says the frame is refused for good: the controller parks the
update at once as `refused by gateway` with the report's words, does not count the
label offline for it, and does not send it again on a check-in (only newer content, a
refresh or the label's move to another gateway do). Flag only what would be refused
again; what may work later (out of range, the AP busy) goes without it.
"""

from __future__ import annotations

from datetime import datetime

from gateways.protocol import (
    MAX_REPORT_DETAIL,
    FrameRejectedError,
    GatewayReport,
    ReportFlag,
    encode_gateway_report,
    peek_header,
)
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.radio import RadioError

__all__ = [
    "NOT_IN_LABEL_FILE",
    "failed_every_try",
    "failed_every_try_report",
    "gave_up_report",
    "not_in_label_file_report",
    "reachable_report",
    "waiting_report",
]

# Why a frame for a label the gateway's label file does not list is refused.
NOT_IN_LABEL_FILE = "not in this gateway's label file"


def gave_up_report(
    label: LabelRecord, frame: bytes, error: RadioError, *, now: datetime
) -> bytes | None:
    """Why `frame` got no answer; None when the frame's header cannot be read."""
    try:
        sequence = peek_header(frame).sequence
    except FrameRejectedError:
        return None
    report = GatewayReport(
        label_id=label.label_id,
        sequence=sequence,
        at=now,
        detail=_detail(error.reason),
        attempts=max(1, min(error.attempts, 0xFF)),
        flags=ReportFlag.FINAL if error.final else ReportFlag.NONE,
    )
    return encode_gateway_report(report)


def not_in_label_file_report(label_id: str, sequence: int, *, now: datetime) -> bytes:
    """Frame `sequence` for `label_id` is refused for good: the gateway's label file does
    not list the label (taken out of it: the tag off the shelf, or in another store), so
    the gateway drives nothing and signs nothing for it. The controller parks the update
    at once as `refused by gateway` with this reason, and records nothing shown."""
    report = GatewayReport(
        label_id=label_id,
        sequence=sequence,
        at=now,
        detail=NOT_IN_LABEL_FILE,
        flags=ReportFlag.FINAL,
    )
    return encode_gateway_report(report)


def failed_every_try(tries: int) -> str:
    """Why a frame that made the gateway fail at each of its `tries` is refused."""
    return f"failed on this frame {tries} times, gave up"


def failed_every_try_report(label_id: str, sequence: int, *, tries: int, now: datetime) -> bytes:
    """Frame `sequence` for `label_id` is refused for good: handling it made the gateway
    fail (and stop) at each of its `tries` (a bug in answering that payload, a radio
    error nothing expected), so it is not tried again, nor is a copy sent again. Nothing
    was signed for it; the controller parks the update at once as `refused by gateway`
    with this reason."""
    report = GatewayReport(
        label_id=label_id,
        sequence=sequence,
        at=now,
        detail=failed_every_try(tries),
        attempts=max(1, min(tries, 0xFF)),
        flags=ReportFlag.FINAL,
    )
    return encode_gateway_report(report)


def waiting_report(label: LabelRecord, sequence: int, *, now: datetime) -> bytes:
    """Frame `sequence` is still being carried out (queued at the radio): its answer will
    come, so the controller waits for it instead of sending it again."""
    report = GatewayReport(
        label_id=label.label_id,
        sequence=sequence,
        at=now,
        detail="waiting for the radio",
        flags=ReportFlag.WAITING,
    )
    return encode_gateway_report(report)


def reachable_report(label: LabelRecord, *, now: datetime) -> bytes:
    """The label answered the radio again (no frame: sequence 0)."""
    report = GatewayReport(
        label_id=label.label_id,
        sequence=0,
        at=now,
        detail="within reach again",
        flags=ReportFlag.REACHABLE,
    )
    return encode_gateway_report(report)


def _detail(reason: str) -> str:
    """The radio's reason within the report's 48 characters, its point kept: what the
    controller shows next to the label names the label already, so a radio's context
    ("AP http://…, tag …: ") goes first, then an aside in brackets."""
    text = "".join(c if " " <= c <= "~" else "?" for c in reason).strip() or "no answer"
    if len(text) > MAX_REPORT_DETAIL and ": " in text:
        text = text.rsplit(": ", 1)[1].strip() or text
    if len(text) > MAX_REPORT_DETAIL and " (" in text:
        text = text.split(" (", 1)[0].strip() or text
    if len(text) <= MAX_REPORT_DETAIL:
        return text
    return text[: MAX_REPORT_DETAIL - 3] + "..."
