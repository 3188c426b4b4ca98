"""Arrivals stamped while the controller host's clock ran fast, since set right (NTP).

The controller stamps what it hears with its own clock (`label_states.last_seen`, the
vitals history). A label heard while that clock ran an hour fast was stamped an hour
ahead; once the clock is set right, a label that never answers again (flat, taken off
the shelf) looked heard in the future: silence counted from a stamp that had not come
yet, so it was neither pinged (`label_keepalive`) nor called offline (`label_status`,
`ESL_LABEL_OFFLINE_AFTER_S`) until real time passed the stamp, an hour and a half after
the correction instead of half an hour. A stamp later than now was never a real
arrival: the keep-alive look brings it back to now, and silence counts from the
correction.

`stamped_ahead` is the one test of "taken on a clock since set back" for every instant
the controller stamped and later compares with its now: a `last_seen`, a battery
sample, a keep-alive ping's request (`label_keepalive`), a frame's send and its retry
delay, the last round (`dispatch`), a label action's send (`label_actions`). Only a
stamp later than now by more than `STAMPED_AHEAD_BEYOND` was: NTP steps any offset over
128 ms, a resumed VM steps its clock, and a worker on a host a second behind takes over
a store another stamped. Counting such a small step as a set-back called a flash the
label answered within a second unanswered and sent every frame of the last seconds
again; not counting it only makes a wait longer by the step. (`periodic.due` takes no
margin: a periodic step taken early costs one turn, and late it stalls what it guards.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from esl.db.models import LabelRow, LabelStateRow

__all__ = ["STAMPED_AHEAD_BEYOND", "bring_back_last_seen", "stamped_ahead"]

# Workers on other hosts share the label states (a store taken over), and their clocks
# may run a little ahead of this one's: only a stamp further ahead than this was made on
# a clock since set back.
STAMPED_AHEAD_BEYOND = timedelta(minutes=2)


def stamped_ahead(stamp: datetime, *, now: datetime) -> bool:
    """Whether `stamp` lies later than `now` by more than another host's clock could."""
    return stamp - now > STAMPED_AHEAD_BEYOND


def bring_back_last_seen(
    session: Session, *, now: datetime, stores: frozenset[str] | None = None
) -> int:
    """Set to `now` every `last_seen` (of a label in `stores`) stamped ahead of it; how
    many. One UPDATE: a host set back an hour has every label it heard in that hour."""
    statement = update(LabelStateRow).where(LabelStateRow.last_seen > now + STAMPED_AHEAD_BEYOND)
    if stores is not None:
        statement = statement.where(
            LabelStateRow.label_id.in_(select(LabelRow.id).where(LabelRow.store.in_(stores)))
        )
    result = session.execute(
        statement.values(last_seen=now).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
