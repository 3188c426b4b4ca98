"""Open outbox rows as plain objects for settling: read in bulk, written back in one statement.

The dispatcher settles up to 1,000 answers per transaction; reading and flushing them as
ORM objects cost more than verifying them. `OutboxEntry` carries the columns settling
reads and the six it may change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from esl.db.bulk import update_rows
from esl.db.models import OutboxRow, core_table
from esl.db.repositories import in_chunks
from esl.delivery_states import OutboxStatus
from esl.pipeline.verdicts import Parking

__all__ = [
    "OUTBOX",
    "OutboxEntry",
    "acknowledged_since",
    "first_sent_since",
    "outbox_entries",
    "save_outbox_entries",
    "unparked",
]

OUTBOX = core_table(OutboxRow)


def unparked(now: datetime) -> dict[str, Any]:
    """The columns of a parked update made due again at `now`, as a fresh one: its
    label heard again (settlement), or the packet limit maybe raised (dispatch)."""
    return {
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        # Its wait for a gateway's queue starts anew with its attempts.
        "first_sent_at": None,
        "not_before": now,
        "parked_reason": None,
        "parked_detail": None,
        "parked_at": None,
    }


_READ = (
    OUTBOX.c.id,
    OUTBOX.c.label_id,
    OUTBOX.c.store,
    OUTBOX.c.gateway,
    OUTBOX.c.sequence,
    OUTBOX.c.content_hash,
    OUTBOX.c.display_at,
    OUTBOX.c.status,
    OUTBOX.c.attempts,
    OUTBOX.c.not_before,
    OUTBOX.c.parked_reason,
    OUTBOX.c.parked_detail,
    OUTBOX.c.settled_at,
    OUTBOX.c.parked_at,
    OUTBOX.c.created_at,
    OUTBOX.c.sent_at,
)


@dataclass(slots=True)
class OutboxEntry:
    id: int
    label_id: str
    store: str
    gateway: str
    sequence: int
    content_hash: str
    display_at: datetime | None
    status: str
    attempts: int
    not_before: datetime
    parked_reason: str | None  # a ParkReason
    parked_detail: str | None
    settled_at: datetime | None
    parked_at: datetime | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None  # its last send
    changed: bool = False
    # Only `settle` changed it: written with one UPDATE ... WHERE id IN (...) per batch.
    only_settled: bool = False

    @property
    def answered_after(self) -> datetime | None:
        """When the label can have signed an answer to this frame at the earliest, as far
        as it matters: its last send (its signing if never sent). An answer to an earlier
        copy arriving after a repeat is judged against the repeat: a clock behind may be
        found that is not (a needless SetClock), never the reverse; against the first
        send, a label retried for minutes was never found behind, and flipped late while
        the audit said `match` (review)."""
        return self.sent_at or self.created_at

    def settle(self, status: str, *, at: datetime) -> None:
        self.only_settled = not self.changed or self.only_settled
        self.status, self.settled_at, self.changed = status, at, True

    def park(self, parking: Parking, *, at: datetime) -> None:
        self.status, self.changed = OutboxStatus.PARKED, True
        self.parked_reason, self.parked_detail = parking.reason, parking.detail
        self.parked_at = at
        self.only_settled = False

    def retry_at(self, instant: datetime) -> None:
        self.status, self.not_before, self.changed = OutboxStatus.PENDING, instant, True
        self.only_settled = False


def outbox_entries(
    session: Session, *where: ColumnElement[bool], lock: bool = False
) -> list[OutboxEntry]:
    """The outbox rows matching every condition of `where` (on `OUTBOX` columns); with
    `lock`, locked until the transaction ends (`FOR UPDATE`: a row another transaction
    is writing is read, and matched, as that transaction leaves it)."""
    statement = select(*_READ).where(*where)
    if lock:
        statement = statement.with_for_update()
    rows = session.execute(statement).all()
    return [OutboxEntry(*cast("tuple[Any, ...]", row)) for row in rows]


def save_outbox_entries(session: Session, entries: Iterable[OutboxEntry]) -> int:
    """Write back the entries that changed; the number written.

    Rows only settled (acked, superseded) at one instant go in one statement per 500
    ids; the rest row by row in one executemany.
    """
    entries = [entry for entry in entries if entry.changed]
    settled: dict[tuple[str, datetime | None], list[int]] = {}
    changed: list[dict[str, object]] = []
    for entry in entries:
        if entry.only_settled:
            settled.setdefault((entry.status, entry.settled_at), []).append(entry.id)
        else:
            changed.append(
                {
                    "id": entry.id,
                    "status": _value(entry.status),
                    "attempts": entry.attempts,
                    "not_before": entry.not_before,
                    "parked_reason": _value(entry.parked_reason),
                    "parked_detail": entry.parked_detail,
                    "settled_at": entry.settled_at,
                    "parked_at": entry.parked_at,
                }
            )
        entry.changed = entry.only_settled = False
    for (status, at), ids in settled.items():
        for chunk in in_chunks(ids):
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(chunk))
                .values(status=_value(status), settled_at=at)
            )
    update_rows(session, OUTBOX, key="id", rows=changed)
    return len(entries)


def _value(word: str | None) -> str | None:
    # The plain string of an enum member: database drivers need not know our enums.
    return None if word is None else str(word)


def acknowledged_since(
    session: Session, label_id: str, *, after_id: int | None, content_hash: str
) -> bool:
    """Whether the label acknowledged a frame of `content_hash` above outbox row
    `after_id`: the panel took that image after the watermark, which the record saying
    it shows it does not prove (a check-in, or a frame planned before and signed again)."""
    return (
        session.scalar(
            select(OUTBOX.c.id)
            .where(
                OUTBOX.c.label_id == label_id,
                OUTBOX.c.status == OutboxStatus.ACKED,
                OUTBOX.c.id > (after_id or 0),
                OUTBOX.c.content_hash == content_hash,
            )
            .limit(1)
        )
        is not None
    )


def first_sent_since(
    session: Session, label_id: str, *, after_id: int | None, content_hash: str
) -> datetime | None:
    """When a frame of `content_hash` above outbox row `after_id` that can still be
    answered went out to the label (the earliest of those rows' sends; a row sent again
    keeps only its latest), or None while none has: what the label can answer only once
    it has been sent. A superseded row is not one: its answer, however late, is a late
    answer that acknowledges nothing (`acknowledged_since` reads acknowledged rows), so
    a copy sent, superseded (planned again, signed again) and then sent anew is waited
    for from the new copy's send, not the old one's."""
    sent_at: datetime | None = session.scalar(
        select(func.min(OUTBOX.c.sent_at)).where(
            OUTBOX.c.label_id == label_id,
            OUTBOX.c.id > (after_id or 0),
            OUTBOX.c.content_hash == content_hash,
            OUTBOX.c.sent_at.is_not(None),
            OUTBOX.c.status != OutboxStatus.SUPERSEDED,
        )
    )
    return sent_at
