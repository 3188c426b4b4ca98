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
