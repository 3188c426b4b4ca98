"""One clock for the leases: the database's, whichever host reads or writes them.

A lease is stale when its heartbeat is older than the stale bound. Heartbeats written by
each host's clock and judged by another's turned a skew between hosts into silence: with
workers renewing every 2 s and going stale after 10 s, a host 9 s ahead counted the
other's fresh heartbeats as stale and took every store from a live worker, for good.

So whoever writes or compares lease instants first measures how far its host's clock is
from the database's (`host_clock_offset`: PostgreSQL's `clock_timestamp()` against this
host's wall clock read just before and just after, at the round trip's midpoint) and
works in `clock() - offset` (`in_database_time`). On a real host `clock()` is the wall
clock, so every lease instant is the database's time, and a skew changes nothing. Time
stays a parameter: a test driving `clock()` by hand on one host measures no offset, so
advancing its clock still ages the leases. An offset within the measurement's own
uncertainty (half the round trip) is none: on one host the two clocks are the same.
SQLite is a file on the controller's own host: no offset.

Only the leases are put on the database's clock: label flips, ledger instants and
everything a label is sent still use the host's clock, so a host off by more than
`HOST_CLOCK_TOLERANCE` is named in the log and in `esl workers` (fix its NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

__all__ = [
    "HOST_CLOCK_TOLERANCE",
    "WallClock",
    "host_clock_offset",
    "in_database_time",
]

# Seconds since the epoch, as `time.time`: the host's own clock, never a test's.
WallClock = Callable[[], float]

# A host off the database's clock by more than this is told to fix its NTP.
HOST_CLOCK_TOLERANCE = timedelta(seconds=2)

# Round trips measured; the shortest has the smallest uncertainty (the first one may
# also open the connection or the transaction).
_SAMPLES = 3
# PostgreSQL keeps microseconds: a same-host reading may fall that far outside the trip.
_ROUNDING = timedelta(milliseconds=1)


def host_clock_offset(session: Session, *, wall: WallClock = time.time) -> timedelta:
    """This host's clock minus the database's (positive: the host is ahead)."""
    if session.get_bind().dialect.name != "postgresql":
        return timedelta(0)
    samples = []
    for _ in range(_SAMPLES):
        before = wall()
        database = session.scalar(select(func.clock_timestamp()))
        after = wall()
        assert database is not None
        midpoint = datetime.fromtimestamp((before + after) / 2, UTC)
        uncertainty = timedelta(seconds=(after - before) / 2) + _ROUNDING
        samples.append((uncertainty, midpoint - database.astimezone(UTC)))
    uncertainty, offset = min(samples)
    return timedelta(0) if abs(offset) <= uncertainty else offset


def in_database_time(now: datetime, offset: timedelta) -> datetime:
    """`now` on this host's clock as the database's clock reads it."""
    return now - offset
