"""One writer of prices at a time.

Publishing and importing read the current state, decide, then write. Two of them
interleaved could each pass validation and together store overlapping rules, so each
takes this lock first, inside its transaction, and holds it until commit or rollback:
PostgreSQL through a transaction-level advisory lock, SQLite by taking its write lock
up front (its deferred transactions would otherwise let both read before either writes).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["PRICE_WRITER_LOCK", "lock_price_writes"]

PRICE_WRITER_LOCK = 0x45534C01  # "ESL" + 1: an arbitrary, fixed advisory-lock key


def lock_price_writes(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PRICE_WRITER_LOCK})
    elif dialect == "sqlite":
        # Any write statement begins the transaction and takes SQLite's RESERVED lock.
        session.execute(text("UPDATE channels SET name = name WHERE code = 'store'"))
