"""The price writers' lock held by a test: what a request does while another writer holds it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from esl.db.engine import session_factory
from esl.db.locks import lock_price_writes

__all__ = ["Waiters", "price_writes_held"]

# What `lock_price_writes` sends on each backend (esl/db/locks.py).
LOCK_STATEMENTS = ("pg_advisory_xact_lock", "UPDATE channels SET name = name")


class Waiters:
    """How many other connections asked for the lock (and so wait for it)."""

    def __init__(self) -> None:
        self._asked = 0
        self._changed = threading.Condition()

    def noticed(self) -> None:
        with self._changed:
            self._asked += 1
            self._changed.notify_all()

    def wait(self, timeout: float, *, count: int = 1) -> bool:
        """Whether `count` connections asked within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._asked >= count, timeout)


@contextmanager
def price_writes_held(engine: Engine) -> Iterator[Waiters]:
    """The price writers' lock, held by the test until the block ends, and who asked for
    it meanwhile."""
    asked = Waiters()

    def noticed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if any(lock in statement for lock in LOCK_STATEMENTS):
            asked.noticed()

    with session_factory(engine)() as holder, holder.begin():
        lock_price_writes(holder)
        event.listen(engine, "before_cursor_execute", noticed)
        try:
            yield asked
        finally:
            event.remove(engine, "before_cursor_execute", noticed)
