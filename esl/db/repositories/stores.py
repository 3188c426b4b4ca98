"""The stores as they were at an instant: each one's version valid then (`store_versions`,
written with every store created or changed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import StoreVersionRow, core_table
from pricing.products import Store

__all__ = ["stores_as_at"]

_versions = core_table(StoreVersionRow)


def stores_as_at(session: Session, at: datetime) -> list[Store]:
    """Each store as it was at `at`: its newest version valid from then or before. A store
    with no version that early (opened since, or written without one) is left out: the
    caller takes it as it is now."""
    newest: dict[str, Store] = {}
    rows = session.execute(
        select(_versions.c.store, _versions.c.name, _versions.c.zone, _versions.c.time_zone)
        .where(_versions.c.valid_from <= at)
        .order_by(_versions.c.store, _versions.c.valid_from)
    )
    for code, name, zone, time_zone in rows:
        # Ordered by instant: a later version of the store replaces the earlier one.
        newest[code] = Store(code=code, name=name, zone=zone, time_zone=time_zone)
    return list(newest.values())
