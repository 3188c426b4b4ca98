"""`label_states` rows as plain objects: read in bulk, changed in memory, written in bulk.

Planning and settling touch thousands of labels per transaction. ORM objects cost more
to build and flush than everything else a label needs (measured: about half of the
planning time of a 10,000-label publication), so both read rows with Core into
`LabelState`, and `save_label_states` writes back only the rows that changed, with one
executemany statement.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
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
    # Not columns: whether the row exists yet, and whether it changed since it was read.
    stored: bool = False
    changed: bool = False

    def settled_on(self, digest: str) -> bool:
        """Whether the label is known to show the image `digest` and nothing on its way
        could change that: the image last planned is the one it confirmed (no frame of
        another is sent or queued) and it holds no timed image (flipped unheard, or
        still to flip). Only then may a plan of `digest` send nothing; otherwise the
        image is sent again, which a label already showing it acknowledges without
        drawing."""
        return (
            self.displayed_hash == digest
            and self.desired_hash == self.confirmed_hash
            and self.desired_display_at is None
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
    }
)


def load_label_states(
    session: Session, label_ids: Collection[str], *, create: bool = True
) -> dict[str, LabelState]:
    """The states of `label_ids`; a label without a row gets a fresh state when `create`."""
    ordered = sorted(set(label_ids))
    found: dict[str, LabelState] = {}
    columns = [_TABLE.c[name] for name in _COLUMNS]
    for chunk in in_chunks(ordered):
        rows = session.execute(select(*columns).where(_TABLE.c.label_id.in_(chunk))).all()
        for row in rows:
            state = LabelState(*cast("tuple[Any, ...]", row))
            state.stored = True
            found[state.label_id] = state
    if create:
        for label_id in ordered:
            if label_id not in found:
                found[label_id] = LabelState(label_id, changed=True)
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
