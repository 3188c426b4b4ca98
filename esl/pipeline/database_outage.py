"""Riding out a database that does not answer: how long to wait, since when, what to say.

The controller's database may refuse work for a while: another writer holds SQLite's
lock, PostgreSQL restarts, the network to it drops. None of that is a reason to stop:
every piece of work the controller does is a transaction that either committed or rolled
back, so the controller waits (exponential backoff, capped, never giving up), keeps the
answers that arrived in the meantime in memory, and carries on from what the database
says once it answers again. `DatabaseOutage` holds the one view of the outage that the
planner, the dispatcher, the logs and the health report share.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from gateways.base import Clock

__all__ = ["DatabaseOutage", "DatabaseRetry", "OutageReport", "is_database_outage"]

log = logging.getLogger(__name__)

# After the first failure, say so again every this many failed tries (not at every one).
_REPEAT_WARNING_EVERY = 10


# SQLite's primary result codes that mean "not now" (another writer, the file or disk
# away), not "never": https://www.sqlite.org/rescode.html
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_CANTOPEN = 5, 6, 10, 14
_SQLITE_OUTAGE_CODES = frozenset({_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_CANTOPEN})
# The same, by message, for an error that carries no code (raised by hand, or an old
# driver).
_SQLITE_OUTAGE_WORDS = ("database is locked", "database is busy", "disk i/o", "unable to open")
# PostgreSQL's SQLSTATEs of a server that is away: class 08 (connection exception) and
# the shutdown family (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
# now, 57P05 idle session timeout). 57P04 (database dropped) is not waited for.
_POSTGRES_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "57P05"})
# A transaction the server rolled back to end a conflict with another one: 40P01 (a
# deadlock, as two workers' planning and settlement may meet on one label's state) and
# 40001 (serialization failure). Nothing is wrong with the data; the remedy is the same
# as for an outage, trying again.
_POSTGRES_TRY_AGAIN_STATES = frozenset({"40001", "40P01"})


def is_database_outage(error: BaseException) -> bool:
    """The database is unavailable (locked, restarting, unreachable) or rolled back this
    transaction to end a deadlock, not wrong about data: waiting and trying again helps.

    Constraint violations, programming errors and a schema that is not there ("no such
    table": a database not upgraded) are not outages: waiting would not fix them, and the
    controller must stop and say so instead of waiting forever. SQLite's errors are told
    apart by their result code, PostgreSQL's by their SQLSTATE.
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    original = error.orig
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_OUTAGE_CODES
        message = str(original).lower()
        return any(words in message for words in _SQLITE_OUTAGE_WORDS)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state is None:
        # No answer from a server at all (refused, reset, timed out): nothing to classify.
        return True
    return (
        str(state).startswith("08")
        or state in _POSTGRES_OUTAGE_STATES
        or state in _POSTGRES_TRY_AGAIN_STATES
    )


@dataclass(frozen=True, slots=True)
class DatabaseRetry:
    """Waits between tries while the database does not answer: `first`, doubling, at most
    `longest`. There is no last try."""

    first: timedelta = timedelta(milliseconds=500)
    longest: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.longest < self.first:
            raise ValueError("need 0 < first <= longest")

    def delay_after(self, failures: int) -> timedelta:
        exponent = min(max(failures - 1, 0), 32)
        delay: timedelta = min(self.first * (2**exponent), self.longest)
        return delay


@dataclass(frozen=True, slots=True)
class OutageReport:
    """What the health report says about the database, as the controller sees it."""

    unreachable_since: datetime | None  # None: it answers
    failed_tries: int
    last_error: str | None


class DatabaseOutage:
    """Since when the database has not answered and how long to wait before the next try."""

    def __init__(self, *, clock: Clock, retry: DatabaseRetry | None = None) -> None:
        self.clock = clock
        self.retry = retry or DatabaseRetry()
        self.since: datetime | None = None
        # What is failing (planning, dispatching): with SQLite locked by another writer,
        # reads still work, so one piece of work may succeed while another keeps failing;
        # the outage is over when every one of them succeeded again.
        self._failing: set[str] = set()
        self.failed_tries = 0
        self.last_error: str | None = None
        self.outages = 0  # outages ridden out since start (for health and metrics)

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, *, doing: str) -> float:
        """Note a failed try; the seconds to wait before the next one."""
        now = self.clock()
        self._failing.add(doing)
        self.failed_tries += 1
        self.last_error = _one_line(error)
        delay = self.retry.delay_after(self.failed_tries)
        if self.since is None:
            self.since = now
            self.outages += 1
            log.warning(
                "database unreachable since %s (%s): %s; trying again in %.1f s, for as long "
                "as it takes",
                now.isoformat(),
                doing,
                self.last_error,
                delay.total_seconds(),
            )
        elif self.failed_tries % _REPEAT_WARNING_EVERY == 0:
            log.warning(
                "database still unreachable since %s (%d tries, %s): %s",
                self.since.isoformat(),
                self.failed_tries,
                doing,
                self.last_error,
            )
        return delay.total_seconds()

    def answered(self, *, doing: str) -> None:
        """The database did this work: the outage is over once all work succeeds again."""
        self._failing.discard(doing)
        if self.since is None or self._failing:
            return
        log.warning(
            "database reachable again after %.1f s (%d failed tries)",
            (self.clock() - self.since).total_seconds(),
            self.failed_tries,
        )
        self.since = None
        self.failed_tries = 0
        self.last_error = None

    def report(self) -> OutageReport:
        return OutageReport(
            unreachable_since=self.since,
            failed_tries=self.failed_tries,
            last_error=self.last_error,
        )


def _one_line(error: BaseException) -> str:
    # SQLAlchemy appends the statement and a link to its docs: the first line is the news.
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
