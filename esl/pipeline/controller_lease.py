"""One controller per database: a lease row, taken atomically, renewed, released.

Two controllers on one database would plan the same publications twice and send each
label two frames with one sequence number. So a controller takes the `controller_leases`
row before it connects to anything: it may when there is no row, when the row is its own,
or when the row's heartbeat is older than `stale_after` (its holder died without
releasing it: `kill -9`, power loss). It renews the heartbeat every `renew_every` and
deletes the row when it stops. Taking is one `UPDATE ... WHERE` (or one `INSERT` against
the primary key), so two controllers starting at the same instant cannot both win.
Heartbeats are written and compared on the database's clock (`database_clock`): on
SQLite, the one host's.

The identity also names the controller's MQTT session (`mqtt_client_id`): unique per
process, so two controllers, even on two databases, never take each other's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from esl.db.lease_models import ControllerLeaseRow
from esl.pipeline.database_clock import WallClock, host_clock_offset, in_database_time
from esl.pipeline.database_outage import DatabaseOutage, DatabaseRetry, is_database_outage
from esl.pipeline.errors import ControllerAlreadyRunningError, ControllerLeaseLostError
from gateways.base import Clock

__all__ = [
    "ControllerIdentity",
    "LeaseTerms",
    "release_lease",
    "renew_lease",
    "take_lease",
    "take_lease_when_reachable",
]

LEASE_NAME = "controller"
_NOT_IN_CLIENT_ID = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    stale_after: timedelta = timedelta(seconds=60)
    renew_every: timedelta = timedelta(seconds=10)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.renew_every < self.stale_after:
            raise ValueError("need 0 < renew_every < stale_after")


@dataclass(frozen=True, slots=True)
class ControllerIdentity:
    holder: str
    pid: int
    host: str
    started_at: datetime

    @classmethod
    def of_this_process(cls, *, now: datetime) -> ControllerIdentity:
        return cls(
            holder=uuid.uuid4().hex, pid=os.getpid(), host=socket.gethostname(), started_at=now
        )

    @property
    def mqtt_client_id(self) -> str:
        host = _NOT_IN_CLIENT_ID.sub("-", self.host)[:40]
        return f"esl-controller-{host}-{self.pid}-{self.holder[:8]}"


def take_lease(
    sessions: sessionmaker[Session],
    identity: ControllerIdentity,
    *,
    now: datetime,
    terms: LeaseTerms,
    wall: WallClock = time.time,
) -> None:
    """Take the lease or raise `ControllerAlreadyRunningError` naming its holder. `now`
    is this controller's clock, `wall` its host's (`database_clock`)."""
    for _ in range(2):  # a second look when another controller inserted the row first
        try:
            with sessions.begin() as session:
                at = in_database_time(now, host_clock_offset(session, wall=wall))
                if _take(session, identity, now=at, terms=terms):
                    return
                holder = session.get(ControllerLeaseRow, LEASE_NAME)
                if holder is None:
                    session.add(_row(identity, now=at))
                    session.flush()
                    return
                raise ControllerAlreadyRunningError(
                    pid=holder.pid,
                    host=holder.host,
                    since=holder.started_at,
                    heartbeat_at=holder.heartbeat_at,
                    stale_after=terms.stale_after,
                )
        except IntegrityError:
            continue
    raise AssertionError("the lease row exists and does not: unreachable")  # pragma: no cover


def renew_lease(
    session: Session, identity: ControllerIdentity, *, now: datetime, wall: WallClock = time.time
) -> None:
    """Move the heartbeat on; `ControllerLeaseLostError` when another controller holds it."""
    at = in_database_time(now, host_clock_offset(session, wall=wall))
    renewed = session.execute(
        update(ControllerLeaseRow)
        .where(ControllerLeaseRow.name == LEASE_NAME, ControllerLeaseRow.holder == identity.holder)
        .values(heartbeat_at=at)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount == 1:  # type: ignore[attr-defined]
        return
    holder = session.get(ControllerLeaseRow, LEASE_NAME)
    raise ControllerLeaseLostError(
        pid=None if holder is None else holder.pid, host=None if holder is None else holder.host
    )


def release_lease(session: Session, identity: ControllerIdentity) -> None:
    session.execute(
        delete(ControllerLeaseRow)
        .where(ControllerLeaseRow.name == LEASE_NAME, ControllerLeaseRow.holder == identity.holder)
        .execution_options(synchronize_session=False)
    )


def _take(
    session: Session, identity: ControllerIdentity, *, now: datetime, terms: LeaseTerms
) -> bool:
    taken = session.execute(
        update(ControllerLeaseRow)
        .where(
            ControllerLeaseRow.name == LEASE_NAME,
            or_(
                ControllerLeaseRow.holder == identity.holder,
                ControllerLeaseRow.heartbeat_at < now - terms.stale_after,
            ),
        )
        .values(
            holder=identity.holder,
            pid=identity.pid,
            host=identity.host,
            started_at=identity.started_at,
            heartbeat_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def _row(identity: ControllerIdentity, *, now: datetime) -> ControllerLeaseRow:
    return ControllerLeaseRow(
        name=LEASE_NAME,
        holder=identity.holder,
        pid=identity.pid,
        host=identity.host,
        started_at=identity.started_at,
        heartbeat_at=now,
    )


async def take_lease_when_reachable(
    sessions: sessionmaker[Session],
    identity: ControllerIdentity,
    *,
    clock: Clock,
    terms: LeaseTerms,
    retry: DatabaseRetry,
    stop: asyncio.Event,
) -> bool:
    """`take_lease`, waiting out a database that does not answer yet; False if stopped
    first. Refusal (`ControllerAlreadyRunningError`) is raised at once."""
    outage = DatabaseOutage(clock=clock, retry=retry)
    while not stop.is_set():
        try:
            await asyncio.to_thread(take_lease, sessions, identity, now=clock(), terms=terms)
        except Exception as error:
            if not is_database_outage(error):
                raise
            delay = outage.failed(error, doing="taking the controller lease")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            continue
        outage.answered(doing="taking the controller lease")
        return True
    return False
