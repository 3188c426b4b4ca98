"""`label_states` rows as plain objects: read in bulk, changed in memory, written in bulk.

Planning and settling touch thousands of labels per transaction. ORM objects cost more
to build and flush than everything else a label needs (measured: about half of the
planning time of a 10,000-label publication), so both read rows with Core into
`LabelState`, and `save_label_states` writes back only the rows that changed, with one
executemany statement.

A label's sequence counter (`last_sequence`) is read here and written back at the end
of the transaction. Workers sharing the stores on PostgreSQL may both plan or settle one
label for a moment (a takeover, a worker whose leases went stale while it planned), so
a transaction that signs frames reads the states with `lock=True`: the rows are locked
(`SELECT ... ORDER BY label_id FOR UPDATE`, in one order, so two transactions never wait
on each other in a circle) until it commits, and the other worker's transaction reads
the counter only after that, never the same number to sign again. A label without a
row gets one first (`INSERT ... ON CONFLICT DO NOTHING`, which waits for another
worker's uncommitted insert of it instead of failing at commit), so there is always a
row to lock. On SQLite (one controller, one writer) the lock is a no-op.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows, update_rows
from esl.db.models import LabelStateRow, core_table
from esl.db.repositories import in_chunks

__all__ = [
    "ANSWERED_COLUMNS",
    "PLANNED_COLUMNS",
    "LabelState",
    "load_label_states",
    "save_label_states",
]

_TABLE = core_table(LabelStateRow)


@dataclass(slots=True)
class LabelState:
    """One label as the pipeline knows it (the columns of `label_states`)."""

    label_id: str
    last_sequence: int = 0
    binding_id: int | None = None
    desired_key: str | None = None
    desired_hash: str | None = None
    desired_display_at: datetime | None = None
    confirmed_hash: str | None = None
    displayed_hash: str | None = None
    can_schedule: bool = True
    battery_mv: int | None = None
    rssi_dbm: int | None = None
    temperature_tenths_c: int | None = None
    firmware: str | None = None
    state: int | None = None
    last_seen: datetime | None = None
    # The newest displayed-content claim believed (`answer_acceptance`).
    claim_sequence: int = 0
    claim_label_time: datetime | None = None
    # The latest the label's clock read in any answer it signed (`answer_acceptance`).
    latest_label_time: datetime | None = None
    # A later-signed word not believed as the label's newest: its clock, panel, arrival
    # (`answer_acceptance.signed_before_a_later_word`).
    later_word_label_time: datetime | None = None
    later_word_hash: str | None = None
    later_word_heard_at: datetime | None = None
    # The label's clock minus the controller's (ms) when last found off (`label_clocks`).
    clock_offset_ms: int | None = None
    # The timed image the label acknowledged holding, and its instant (`held_flips`).
    held_hash: str | None = None
    held_display_at: datetime | None = None
    # Why the content due now could not be planned, until it is planned again (`planning`).
    unplanned_reason: str | None = None
    # Not columns: whether the row exists yet, and whether it changed since it was read.
    stored: bool = False
    changed: bool = False

    def settled_on(self, digest: str) -> bool:
        """Whether the label is known to show the image `digest` and nothing on its way
        could change that: the image last planned is the one it confirmed, it holds no
        timed image (flipped unheard, or still to flip), and its newest word believed
        answers the last number signed for it (`claim_sequence`): a label takes only
        increasing numbers, so no frame signed before can reach its panel any more. Only
        then may a plan of `digest` send nothing; otherwise the image is sent again,
        which a label already showing it acknowledges without drawing.

        The image last planned being the confirmed one does not say that alone: a price
        changed and changed back plans the confirmed image again while the change's
        frame, superseded but sent, may have reached the panel unheard
        (`tests/pipeline/test_reverted_price_in_flight.py`)."""
        return (
            self.displayed_hash == digest
            and self.desired_hash == self.confirmed_hash
            and self.desired_display_at is None
            and self.claim_sequence >= self.last_sequence
        )

    def next_sequence(self) -> int:
        """Take the next sequence number to sign a frame with."""
        self.last_sequence += 1
        self.changed = True
        return self.last_sequence


_COLUMNS = tuple(f.name for f in fields(LabelState) if f.name not in ("stored", "changed"))
# What an answer changes (unless it makes the controller re-sign or stop timing frames).
ANSWERED_COLUMNS = frozenset(
    {
        "confirmed_hash",
        "displayed_hash",
        "battery_mv",
        "rssi_dbm",
        "temperature_tenths_c",
        "firmware",
        "state",
        "last_seen",
        "claim_sequence",
        "claim_label_time",
        "latest_label_time",
        "later_word_label_time",
        "later_word_hash",
        "later_word_heard_at",
        "clock_offset_ms",
        "held_hash",
        "held_display_at",
    }
)
# What planning may change (the rest is health, which only answers change).
PLANNED_COLUMNS = frozenset(
    {
        "last_sequence",
        "binding_id",
        "desired_key",
        "desired_hash",
        "desired_display_at",
        "confirmed_hash",
        "unplanned_reason",
    }
)


def load_label_states(
    session: Session, label_ids: Collection[str], *, create: bool = True, lock: bool = False
) -> dict[str, LabelState]:
    """The states of `label_ids`; a label without a row gets a fresh state when `create`.

    `lock`: the rows are locked until the transaction ends, and a label without a row gets
    one first (when `create`), so another worker signing for the same label waits for
    this transaction and then reads its sequence counter (see the module docstring).
    """
    ordered = sorted(set(label_ids))
    found = _read_states(session, ordered, lock=lock)
    if lock and create and len(found) < len(ordered):
        missing = [label_id for label_id in ordered if label_id not in found]
        upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        for chunk in in_chunks(missing):
            session.execute(
                upsert(_TABLE).on_conflict_do_nothing(),
                [{"label_id": label_id} for label_id in chunk],
            )
        found.update(_read_states(session, missing, lock=lock))
    if create:
        for label_id in ordered:
            if label_id not in found:
                found[label_id] = LabelState(label_id, changed=True)
    return found


def _read_states(session: Session, ordered: list[str], *, lock: bool) -> dict[str, LabelState]:
    found: dict[str, LabelState] = {}
    columns = [_TABLE.c[name] for name in _COLUMNS]
    for chunk in in_chunks(ordered):
        statement = select(*columns).where(_TABLE.c.label_id.in_(chunk))
        if lock:
            statement = statement.order_by(_TABLE.c.label_id).with_for_update()
        for row in session.execute(statement).all():
            state = LabelState(*cast("tuple[Any, ...]", row))
            state.stored = True
            found[state.label_id] = state
    return found


def save_label_states(
    session: Session, states: Iterable[LabelState], *, columns: Collection[str] | None = None
) -> int:
    """Write the changed states (insert the new ones); the number of rows written.

    `columns` (default: all) are those the caller may have changed: an existing row
    gets only these updated, which halves the cost of a planning chunk's update.
    """
    updated = tuple(
        name for name in _COLUMNS if name != "label_id" and (columns is None or name in columns)
    )
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for state in states:
        if not state.changed:
            continue
        if state.stored:
            values = {name: getattr(state, name) for name in updated}
            values["label_id"] = state.label_id
            updates.append(values)
        else:
            inserts.append({name: getattr(state, name) for name in _COLUMNS})
        state.stored, state.changed = True, False
    insert_rows(session, _TABLE, inserts)
    update_rows(session, _TABLE, key="label_id", rows=updates)
    return len(inserts) + len(updates)
