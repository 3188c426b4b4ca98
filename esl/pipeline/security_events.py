"""Security events: evidence that someone forged or altered what travels to or from labels.

Four things can only happen when a message was forged, changed or misrouted on its way:

- an uplink whose MAC does not verify with its label's key (`forged answer`): a rogue
  client on the broker, or a relay that damages what it carries;
- a label's signed refusal of a frame the controller itself signed, for a reason an
  unaltered frame can never earn (`tampered frame`): `BAD_MAC`, `WRONG_LABEL`,
  `MALFORMED_FRAME` or `UNSUPPORTED_VERSION`. The frame was altered, or displaced by a
  forged copy with the same label and sequence, between the controller and the label;
- a label counting further than every frame the record signed for it (`sequence ahead of
  record`): the database lost frames it signed (commits lost, a restore), or its key
  signed frames elsewhere;
- a label's genuine answer published on another store's `up` topic (`answer via another
  store`): that store's gateway login relays what it captured of this store's traffic.

Each is logged at warning level and recorded in `security_events` in the transaction that
handles it; `esl health` and `GET /api/v1/health/security` report them. A flood (one
store's login publishing forgeries as fast as it can) must not grow the table as fast:
events of one store, label and kind within an interval are one row that counts its
`repeats` (`SecurityEventCoalescing`), so every event is still counted, and when the
first and the last came and what each said (`detail`, `last_detail`) is kept: an operator
reads the latest forgery of a flood, not only its first.

An event is recorded under the store whose topic it came on (`store`), with the store of
the label it names (`label_store`): an answer of S01's label replayed on S02's topic is
S02's (its login relayed it) and S01's (its label's traffic was captured), and S02 reads
it without S01's label (`esl.services.security_events`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import SecurityEventRow, core_table
from gateways.base import Uplink

__all__ = [
    "SecurityEvent",
    "SecurityEventCoalescing",
    "SecurityEventKind",
    "record_security_events",
]

_TABLE = core_table(SecurityEventRow)


class SecurityEventKind(StrEnum):
    FORGED_ANSWER = "forged answer"
    TAMPERED_FRAME = "tampered frame"
    # A label's check-in counts further than every frame the record signed for it: frames
    # signed with its key are missing from the database (commits lost, a restore) or were
    # signed elsewhere.
    SEQUENCE_AHEAD = "sequence ahead of record"
    # Signed by the label, but on the topic of a store it does not belong to: only that
    # store's gateway login (or the broker) can publish there.
    OTHER_STORE = "answer via another store"


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    at: datetime
    kind: SecurityEventKind
    store: str | None
    gateway: str | None
    label_id: str | None
    sequence: int | None
    detail: str
    # The store of the registered label it names (None: none known); `store` is where it
    # came from. An event of another store's label is that store's to read in full.
    label_store: str | None = None

    @classmethod
    def on_uplink(
        cls,
        uplink: Uplink,
        kind: SecurityEventKind,
        *,
        label_id: str,
        label_store: str | None,
        sequence: int | None,
        detail: str,
        at: datetime,
    ) -> SecurityEvent:
        """An event heard on `uplink`: its store and gateway are where it came from,
        `label_store` the store of the label `label_id`."""
        return cls(at, kind, uplink.store, uplink.gateway, label_id, sequence, detail, label_store)


@dataclass(frozen=True, slots=True)
class SecurityEventCoalescing:
    """How many `security_events` rows a flood may write.

    Events of one (store, label, kind) within `every` of the row that first recorded
    them add to that row's `repeats` (and move its `last_at`, `last_sequence` and
    `last_detail` to the latest) instead of writing rows: the evidence (who, what first
    and last, when, how often) is kept, the table grows by
    at most one row per label and kind per `every`. Forgeries name label ids the sender
    chooses, so past `labels` rows of one (store, kind) in an `every`, further labels
    share one row without a label (`detail` says so), one per store of those labels.
    """

    every: timedelta = timedelta(minutes=1)
    labels: int = 100


_MANY_LABELS = "further labels (over the bound per interval); first: "
# (store, kind, label, label's store): a row shared by further labels is one per store
# of the labels, so that each store reads its own labels' and no other's.
_Key = tuple[str | None, str, str | None, str | None]
_DETAIL_CHARS = 256  # security_events.detail, last_detail


@dataclass(frozen=True, slots=True)
class _Last:
    """The latest event added to an existing row by one call."""

    at: datetime
    sequence: int | None
    detail: str


def record_security_events(
    session: Session,
    events: Iterable[SecurityEvent],
    *,
    coalescing: SecurityEventCoalescing | None = None,
) -> int:
    """Record `events` in `security_events`, coalesced (`SecurityEventCoalescing`); how
    many events were recorded (rows written or added to)."""
    terms = coalescing or SecurityEventCoalescing()
    new: dict[_Key, dict[str, Any]] = {}  # rows written by this call, still open
    written: list[dict[str, Any]] = []  # rows written by this call, closed
    added: dict[int, tuple[int, _Last]] = {}  # existing row -> (repeats, latest event)
    labels_seen: dict[tuple[str | None, str], int] = {}  # rows of (store, kind) this interval
    recorded = 0
    for event in events:
        recorded += 1
        kind = event.kind.value
        key: _Key = (event.store, kind, event.label_id, event.label_store)
        row = new.get(key)
        existing = None if row is not None else _open_row(session, key, event, terms)
        if row is None and existing is None and event.label_id is not None:
            pair = (event.store, kind)
            if pair not in labels_seen:
                since = event.at - terms.every
                labels_seen[pair] = _rows_of(session, event.store, kind, since=since)
            if labels_seen[pair] >= terms.labels:
                key = (event.store, kind, None, event.label_store)
                row = new.get(key)
                existing = None if row is not None else _open_row(session, key, event, terms)
        # A row shared by further labels says whose each last event was.
        said = event.detail if key[2] == event.label_id else f"{event.label_id}: {event.detail}"
        last = _Last(event.at, event.sequence, said[:_DETAIL_CHARS])
        if row is not None and event.at < row["at"] + terms.every:
            row["repeats"] += 1
            if event.at >= row["last_at"]:
                row.update(last_at=last.at, last_sequence=last.sequence, last_detail=last.detail)
            continue
        if existing is not None:
            repeats, latest = added.get(existing, (0, last))
            added[existing] = (repeats + 1, last if last.at >= latest.at else latest)
            continue
        detail = event.detail if key[2] == event.label_id else _MANY_LABELS + event.detail
        if key in new:
            written.append(new[key])  # its interval is over: kept as it is
        new[key] = {
            **asdict(event),
            "kind": kind,
            "label_id": key[2],
            "detail": detail[:_DETAIL_CHARS],
            "repeats": 0,
            "last_at": event.at,
            "last_sequence": event.sequence,
            "last_detail": last.detail,
        }
        if key[2] is not None:
            labels_seen[(event.store, kind)] = labels_seen.get((event.store, kind), 0) + 1
    insert_rows(session, _TABLE, [*written, *new.values()])
    for row_id, (repeats, latest) in added.items():
        # The row's own last event stays when it is later than this call's (a batch
        # settled late): each column from the later of the two, in one statement.
        later = _TABLE.c.last_at > latest.at
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == row_id)
            .values(
                repeats=_TABLE.c.repeats + repeats,
                last_at=case((later, _TABLE.c.last_at), else_=latest.at),
                last_sequence=case((later, _TABLE.c.last_sequence), else_=latest.sequence),
                last_detail=case((later, _TABLE.c.last_detail), else_=latest.detail),
            )
        )
    return recorded


def _open_row(
    session: Session, key: _Key, event: SecurityEvent, terms: SecurityEventCoalescing
) -> int | None:
    """The row of `key` whose interval `event` falls in, if any."""
    store, kind, label_id, label_store = key
    row_id: int | None = session.scalar(
        select(_TABLE.c.id)
        .where(
            _TABLE.c.kind == kind,
            _same(_TABLE.c.store, store),
            _same(_TABLE.c.label_id, label_id),
            _same(_TABLE.c.label_store, label_store),
            _TABLE.c.at > event.at - terms.every,
            _TABLE.c.at <= event.at,
        )
        .order_by(_TABLE.c.at.desc())
        .limit(1)
    )
    return row_id


def _rows_of(session: Session, store: str | None, kind: str, *, since: datetime) -> int:
    """Rows naming a label that (store, kind) started after `since`."""
    count: int = (
        session.scalar(
            select(func.count())
            .select_from(_TABLE)
            .where(
                _TABLE.c.kind == kind,
                _same(_TABLE.c.store, store),
                _TABLE.c.label_id.is_not(None),
                _TABLE.c.at > since,
            )
        )
        or 0
    )
    return count


def _same(column: ColumnElement[Any], value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value
