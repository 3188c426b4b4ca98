"""Since when a product or store stored before migration 0048 has been recorded, once a
write moves its start earlier (`on_sale_since`, a store's opening).

Such a row has no `recorded_since`: all its shelves sold at is taken as recorded, from
its start on. An earlier start says they sold during days before it, which the ledger
holds nothing for, so the row must then say since when it was recorded, else a
reduction is announced against the days recorded, a low that may be too high
(`pricing.ledger.sold_before_its_ledger`).
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["recorded_since_of_an_earlier_start"]


def recorded_since_of_an_earlier_start(
    recorded_since: datetime | None,
    *,
    start: datetime | None,
    stored_start: datetime | None,
    at: datetime,
) -> datetime | None:
    """The `recorded_since` a product or store keeps when its start (`stored_start`, as
    stored) is given as `start` at `at`: as it is, unless it has none and `start` is
    earlier. Then the stored start, as far as the record has held all along: every key
    that began selling from it on is still recorded in full (a store opened since, a
    product launched after a store's opening), and only those said to have sold before
    it are not. Or `at` when the stored start had not come yet (a launch brought
    forward): the record holds everything from the write on.

    A row recorded since its creation (after migration 0048) keeps its instant: a start
    before it is already a start before its record."""
    if recorded_since is not None or start is None or stored_start is None:
        return recorded_since
    if start >= stored_start:
        return None
    return min(stored_start, at)
