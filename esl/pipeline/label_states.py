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

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from esl.db.models import LabelStateRow, core_table

__all__ = ["LabelState", "load_label_states", "save_label_states"]

_TABLE = core_table(LabelStateRow)
_CHUNK = 500


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
    # Not columns: whether the row exists yet, and whether it changed since it was read.
    stored: bool = False
    changed: bool = False

    def next_sequence(self) -> int:
        """Take the next sequence number to sign a frame with."""
        self.last_sequence += 1
        self.changed = True
        return self.last_sequence


_COLUMNS = tuple(f.name for f in fields(LabelState) if f.name not in ("stored", "changed"))


def load_label_states(
    session: Session, label_ids: Collection[str], *, create: bool = True
) -> dict[str, LabelState]:
    """The states of `label_ids`; a label without a row gets a fresh state when `create`."""
    ordered = sorted(set(label_ids))
    found: dict[str, LabelState] = {}
    columns = [_TABLE.c[name] for name in _COLUMNS]
    for start in range(0, len(ordered), _CHUNK):
        for row in session.execute(
            select(*columns).where(_TABLE.c.label_id.in_(ordered[start : start + _CHUNK]))
        ):
            state = LabelState(**row._asdict())
            state.stored = True
            found[state.label_id] = state
    if create:
        for label_id in ordered:
            if label_id not in found:
                found[label_id] = LabelState(label_id, changed=True)
    return found


def save_label_states(session: Session, states: Iterable[LabelState]) -> int:
    """Write the changed states (insert the new ones); the number of rows written."""
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for state in states:
        if not state.changed:
            continue
        values = {name: getattr(state, name) for name in _COLUMNS}
        if state.stored:
            values["b_label_id"] = values.pop("label_id")
            updates.append(values)
        else:
            inserts.append(values)
        state.stored, state.changed = True, False
    if inserts:
        session.execute(insert(_TABLE), inserts)
    if updates:
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.label_id == bindparam("b_label_id"))
            .values({name: bindparam(name) for name in _COLUMNS if name != "label_id"}),
            updates,
        )
    return len(inserts) + len(updates)
