"""Gateway reports (kind 0x83): a store gateway's own word about a label it could not
reach, or reached again (docs/protocol.md, "Gateway reports").

Nothing in a report is signed by the label: a Bluetooth ESL gateway holds no label key.
What vouches for it is the broker: only the login of that store's gateway may publish on
its `up` topic. So the controller believes a report only about that gateway's own labels
and only this much:

- "gave up on frame N": the frame is answered by silence, now instead of at its
  timeout. It is retried with the usual backoff and, when its attempts run out, parked
  as offline; the update shows the gateway's reason ("offline: gateway: out of range
  after 3 attempts at 12:01 UTC"). Nothing about the panel, the battery or when the
  label was last heard changes: those come only from answers the label signed.
- "refused frame N for good" (`FINAL`: not in its label file, it failed on the frame at
  every try): sent again, the frame would only be refused again, so the update is parked
  at once as `refused by gateway` with the gateway's words ("refused by gateway: not in
  this gateway's label file at 12:01 UTC"), whichever of its tries the report is about.
  It says nothing of the label's reach: the label is not counted offline, and neither
  its check-ins nor "within reach again" revive the update; newer content replaces it,
  as any parked update (`esl label refresh` plans its image again). A gateway lying
  about it parks its own store's update, as dropping the frame would, with its words.
- "within reach again": updates parked as offline are tried again now, as after a
  check-in. A gateway lying about it costs one more round of attempts, no more.
- "frame N is waiting for the radio" (`WAITING`): its answer is waited for another answer
  timeout instead of the frame being sent again (an OEPL tag queued behind a hundred
  others at its AP's one radio), spending no attempt, up to ESL_RETRY_WAITING_LIMIT_S
  from the update's first send (`Dispatcher.extend_flight`); then it is parked as offline.
  Nothing is taken as delivered: only the label's signed answer, verified as ever, says
  so. A gateway lying about it delays its own store's update, as dropping it would.

A report about a staff action's frame (flash, ping) is logged only: the action ends
unanswered at its own timeout. A report that does not parse, names a label of another
gateway (or none), or names no frame in flight is refused with its reason, counted and
logged; it records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import LabelRow
from esl.delivery_states import OutboxStatus, ParkReason
from esl.pipeline.label_actions import signed_action_sequences
from esl.pipeline.outbox_rows import OUTBOX, OutboxEntry, outbox_entries
from esl.pipeline.verdicts import Parking
from gateways.base import Uplink
from gateways.protocol import (
    FrameRejectedError,
    GatewayReport,
    ReportFlag,
    decode_gateway_report,
)

__all__ = [
    "ReportHandling",
    "TakenReports",
    "refusal_text",
    "report_text",
    "take_gateway_reports",
]

log = logging.getLogger(__name__)

_DETAIL_COLUMN = 64  # outbox.parked_detail
_IN_FLIGHT = (OutboxStatus.SENT.value, OutboxStatus.PENDING.value)


@dataclass(frozen=True, slots=True)
class ReportHandling:
    """What taking a report may do to the pipeline (settlement's own steps)."""

    retry_or_park: Callable[[OutboxEntry, datetime, Parking], None]
    park: Callable[[OutboxEntry, datetime, Parking], None]
    release_flight: Callable[[str, int, int], None]
    extend_flight: Callable[[str, int], bool]
    unpark: Callable[[Session, Mapping[str, bool], datetime], None]


@dataclass(slots=True)
class TakenReports:
    entries: list[OutboxEntry]  # rows the reports changed (to save)
    refused: dict[str, int]  # refusal reason -> count


def report_text(report: GatewayReport) -> str:
    """The gateway's reason as the update shows it, within the detail column: the
    gateway named, as the reason (offline, or none while it waits) does not."""
    return _fitted("gateway: ", report)


def refusal_text(report: GatewayReport) -> str:
    """A final refusal's words as the update parked `refused by gateway` shows them."""
    return _fitted("", report)


def _fitted(prefix: str, report: GatewayReport) -> str:
    # UTC said: what shows it next to instants read on the store's clock (the audit's
    # "not heard since 2026-12-07 12:02:03 (+01:00)") must not pass for one of them.
    at = f" at {report.at.astimezone(UTC):%H:%M} UTC"
    room = _DETAIL_COLUMN - len(prefix) - len(at)
    detail = report.detail if len(report.detail) <= room else report.detail[: room - 3] + "..."
    return f"{prefix}{detail}{at}"


def take_gateway_reports(
    session: Session, uplinks: list[Uplink], *, handling: ReportHandling, now: datetime
) -> TakenReports:
    taken = TakenReports(entries=[], refused={})
    parsed: list[tuple[Uplink, GatewayReport]] = []
    for uplink in uplinks:
        try:
            parsed.append((uplink, decode_gateway_report(uplink.payload)))
        except FrameRejectedError as rejected:
            _refuse(taken, uplink, rejected.label_id, f"malformed: {rejected.detail}")
    owners = {
        label_id: (store, gateway)
        for label_id, store, gateway in session.execute(
            select(LabelRow.id, LabelRow.store, LabelRow.gateway).where(
                LabelRow.id.in_({report.label_id for _, report in parsed})
            )
        )
    }
    for uplink, report in parsed:
        owner = owners.get(report.label_id)
        if owner is None:
            _refuse(taken, uplink, report.label_id, "unknown label")
        elif owner != (uplink.store, uplink.gateway):
            _refuse(taken, uplink, report.label_id, "label of another gateway")
        elif report.waiting:
            # Only a frame in flight, sent and not yet answered, is waited for longer; one
            # waiting for its retry goes out again as planned (answered as a duplicate).
            if handling.extend_flight(report.label_id, report.sequence):
                log.debug(
                    "%s seq %d waits for its gateway's radio", report.label_id, report.sequence
                )
        elif report.reachable:
            if report.sequence != 0:
                _refuse(taken, uplink, report.label_id, "reachable report names a frame")
                continue
            log.info(
                "gateway %s/%s reached %s again", uplink.store, uplink.gateway, report.label_id
            )
            handling.unpark(session, {report.label_id: False}, now)
        else:
            _gave_up(session, taken, uplink, report, handling=handling, now=now)
    return taken


def _gave_up(
    session: Session,
    taken: TakenReports,
    uplink: Uplink,
    report: GatewayReport,
    *,
    handling: ReportHandling,
    now: datetime,
) -> None:
    rows = outbox_entries(
        session,
        OUTBOX.c.label_id == report.label_id,
        OUTBOX.c.sequence == report.sequence,
        OUTBOX.c.status.in_(_IN_FLIGHT),
        # Settled meanwhile by another transaction (the answer came after all): left alone.
        lock=True,
    )
    if not rows:
        if signed_action_sequences(session, [(report.label_id, report.sequence)]):
            # A staff action's frame (flash, ping): it ends unanswered at its own
            # timeout, as it must; the gateway's words are in the log.
            log.info(
                "gateway %s/%s on %s action seq %d: %s",
                uplink.store,
                uplink.gateway,
                report.label_id,
                report.sequence,
                report.detail,
            )
            return
        _refuse(taken, uplink, report.label_id, "names no update in flight")
        return
    if ReportFlag.FINAL in report.flags:
        _refused_for_good(uplink, report, rows, taken, handling=handling, now=now)
        return
    text = report_text(report)
    log.info(
        "gateway %s/%s on %s seq %d: %s",
        uplink.store,
        uplink.gateway,
        report.label_id,
        report.sequence,
        text,
    )
    sent_at = dict(
        session.execute(
            select(OUTBOX.c.id, OUTBOX.c.sent_at).where(OUTBOX.c.id.in_([r.id for r in rows]))
        ).all()
    )
    for row in rows:
        sent = sent_at.get(row.id)
        if row.status == OutboxStatus.SENT and sent is not None and sent <= report.at:
            # The answer to this very try will not come: the frame is due for its retry
            # now, not at its timeout. (A report about an earlier try, which the
            # timeout has already sent again, only leaves its words: one try, one
            # attempt.) A frame parked at last keeps the gateway's reason.
            handling.release_flight(row.label_id, row.sequence, row.id)
            handling.retry_or_park(row, now, Parking(ParkReason.OFFLINE, text))
        if row.status != OutboxStatus.PARKED:
            # Waiting for its retry: the reason stays with it until it is answered or
            # parked (`dispatch` parks an unanswered frame with the detail it holds).
            row.parked_detail, row.changed, row.only_settled = text, True, False
        taken.entries.append(row)


def _refused_for_good(
    uplink: Uplink,
    report: GatewayReport,
    rows: list[OutboxEntry],
    taken: TakenReports,
    *,
    handling: ReportHandling,
    now: datetime,
) -> None:
    """The gateway will refuse this frame whenever it is sent: parked now, whichever try
    the report is about (one sent again since would be refused as well)."""
    parking = Parking(ParkReason.REFUSED_BY_GATEWAY, refusal_text(report))
    log.info(
        "gateway %s/%s refused %s seq %d for good: %s",
        uplink.store,
        uplink.gateway,
        report.label_id,
        report.sequence,
        parking.detail,
    )
    for row in rows:
        if row.status == OutboxStatus.SENT:
            handling.release_flight(row.label_id, row.sequence, row.id)
        handling.park(row, now, parking)
        taken.entries.append(row)


def _refuse(taken: TakenReports, uplink: Uplink, label_id: str | None, reason: str) -> None:
    key = reason.split(":", 1)[0]
    taken.refused[key] = taken.refused.get(key, 0) + 1
    log.warning(
        "refused a gateway report on %s/%s (label %s): %s",
        uplink.store,
        uplink.gateway,
        label_id or "?",
        reason,
    )
