"""Stores: codes named by a caller (unknown ones are refused, not reported as empty
stores), and stores saved (the API's PUT, the store file): a changed store's labels are
planned again, a store moved to another zone has its new zone's prices, and a new one
its prices from its opening, in the Omnibus ledger; each store created or changed gets a
version valid from then on (`store_versions`), what an audit of a past instant prices it
as. A store's opening (`stores.opened`) is given with it or is its creation; it may be put
right later (`opening_of`), and imported history moves it back (`open_since_history`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.mapping import store_from_row
from esl.db.models import LedgerEntryRow, ProductRow, StoreRow, StoreVersionRow
from esl.db.repositories import in_chunks
from esl.errors import InvalidItemError, NotFoundError
from esl.planning_queue import record_published_change, shelves_in_store
from esl.services.ledger_instants import WriteClock, begin_price_write, read_instant
from esl.services.ledger_recording import record_moved_keys
from esl.services.recording_start import recorded_since_of_an_earlier_start
from pricing.ledger import LedgerEntry
from pricing.products import Channel, Store

__all__ = [
    "SINCE_EVER",
    "SavedStores",
    "open_since_history",
    "opening_of",
    "record_store_versions",
    "record_zone_move",
    "require_known_stores",
    "save_stores",
]

ZONE_MOVE_SOURCE = "store"
ZONE_MOVE_CHUNK = 2_000  # SKUs per catalogue read
# The first version of a store nothing recorded before: as migration 0029 gave the stores
# it found, valid for as far back as anyone may audit.
SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)


def require_known_stores(session: Session, codes: Iterable[str]) -> None:
    """NotFoundError("store", code) for the first code (in sorted order) not stored."""
    wanted = set(codes)
    if not wanted:
        return
    known = set(session.scalars(select(StoreRow.code).where(StoreRow.code.in_(wanted))))
    for code in sorted(wanted - known):
        raise NotFoundError("store", code)


def record_zone_move(
    session: Session,
    moved: Mapping[str, str | None],
    *,
    opened: Collection[str] = (),
    at: datetime,
    currency: str,
    publication_id: int | None,
) -> list[LedgerEntry]:
    """After stores moved to another zone (`moved`: code -> its zone before) or were
    opened (flushed): the ledger entries, at `at`, of every key of those stores (each
    channel) whose applied price the move changed, or that has a price in a store just
    opened. A move or an opening making a promotion meet a rule it never met, above whose
    price it would sell, is refused (`record_moved_keys`): a store just opened is named by
    no stored rule or promotion, but a promotion reaching every store meets there the
    price of its zone (or the nation's), which the stores before it may all have shadowed.

    One pass over the catalogue for all of them, reading the ledger of the moved stores
    only: a store just opened has none yet (a store is never deleted, and an entry names
    a stored store), so opening one costs what pricing its keys costs, whatever the
    chain's history."""
    session.flush()
    return record_moved_keys(
        session,
        session.scalars(select(ProductRow.sku)).all(),
        stores=sorted({*moved, *opened}),
        opened=opened,
        at=at,
        currency=currency,
        source=ZONE_MOVE_SOURCE,
        publication_id=publication_id,
        chunk=ZONE_MOVE_CHUNK,
        zones_before=moved,
    )


def record_store_versions(
    session: Session, stores: Sequence[Store], *, valid_from: datetime
) -> None:
    """Record each of `stores` as it is from `valid_from` on, its opening too (an opening
    moved keeps the one before, by which the audit dates a prior price it made wrong); a
    version of it already recorded at that very instant (changed twice at one reading of
    the clock) is replaced."""
    codes = [store.code for store in stores]
    existing = {
        row.store: row
        for chunk in in_chunks(sorted(codes))
        for row in session.scalars(
            select(StoreVersionRow).where(
                StoreVersionRow.store.in_(chunk), StoreVersionRow.valid_from == valid_from
            )
        )
    }
    for store in stores:
        row = existing.get(store.code) or StoreVersionRow(store=store.code, valid_from=valid_from)
        row.name, row.zone, row.time_zone = store.name, store.zone, store.time_zone
        row.opened = store.opened
        session.add(row)


def _without_versions(session: Session, codes: Sequence[str]) -> set[str]:
    """Of `codes`, the stores no version was recorded for (written around this module:
    a test's or a benchmark's rows)."""
    versioned = {
        code
        for chunk in in_chunks(sorted(codes))
        for code in session.scalars(
            select(StoreVersionRow.store).where(StoreVersionRow.store.in_(chunk)).distinct()
        )
    }
    return set(codes) - versioned


def opening_of(
    session: Session, store: Store, stored: StoreRow | None, *, now: datetime
) -> datetime | None:
    """The opening `store` is saved with: the one it is given (`Store.opened`), else the
    one stored, else (a new store) `now`. InvalidItemError(field="opened") for one after
    `now`, or one moving a stored store's opening later than the first price its shelves
    have in the ledger (imported history, or the prices it got when it was created): the
    ledger shows it selling then. An earlier one always stands: a correction."""
    if store.opened is None:
        return stored.opened if stored is not None else now
    if store.opened > now:
        raise InvalidItemError(
            f"store {store.code}: opened {store.opened.isoformat()} is in the future "
            f"(now {now.isoformat()}): a store is created once it sells, or before",
            field="opened",
            store=store.code,
        )
    if stored is None or (stored.opened is not None and store.opened <= stored.opened):
        return store.opened
    first_price = session.scalar(
        select(func.min(LedgerEntryRow.effective_at)).where(
            LedgerEntryRow.store == store.code,
            LedgerEntryRow.channel == Channel.STORE.value,
            LedgerEntryRow.amount.is_not(None),  # a withdrawal charged nothing
        )
    )
    if first_price is not None and store.opened > first_price:
        raise InvalidItemError(
            f"store {store.code}: opened {store.opened.isoformat()} is after the first price "
            f"its shelves have in the ledger ({first_price.isoformat()}): it sold then; "
            "an opening can be moved later only up to that",
            field="opened",
            store=store.code,
        )
    return store.opened


def open_since_history(
    session: Session, earliest: Mapping[str, datetime], *, now: datetime
) -> list[str]:
    """Move back the opening of each store of `earliest` (code -> its earliest shelf price
    imported as history) opened after that price: the history proves it sold then. A store
    with no opening (always sold) is left so. Each store moved gets a version from `now`
    on (the import's instant), the opening before kept in the one before it. The codes of
    the stores moved back."""
    # Under the price writers' lock (the history import's): read here, moved as read.
    rows = _stored_rows(session, list(earliest), again=True)
    moving = [
        row
        for code, at in sorted(earliest.items())
        if (row := rows.get(code)) is not None and row.opened is not None and row.opened > at
    ]
    # A store stored without a version was so until now, as far as anyone knows.
    unversioned = _without_versions(session, [row.code for row in moving])
    record_store_versions(
        session,
        [store_from_row(row) for row in moving if row.code in unversioned],
        valid_from=SINCE_EVER,
    )
    for row in moving:
        row.opened = earliest[row.code]
    session.flush()
    record_store_versions(session, [store_from_row(row) for row in moving], valid_from=now)
    moved = [row.code for row in moving]
    return moved


@dataclass(frozen=True, slots=True)
class SavedStores:
    inserted: int
    updated: int
    publication_id: int | None  # the change handed to planning (None: nothing changed)


def _stored_rows(
    session: Session, codes: Collection[str], *, again: bool = False
) -> dict[str, StoreRow]:
    """Code -> its row, of the stores of `codes` stored; `again`: as stored now, not as
    this session read them before."""
    statement = select(StoreRow).where(StoreRow.code.in_(sorted(codes)))
    if again:
        statement = statement.execution_options(populate_existing=True)
    return {row.code: row for row in session.scalars(statement)}


def _new_opening(store: Store, row: StoreRow | None) -> bool:
    return row is not None and store.opened is not None and store.opened != row.opened


def _writes_anything(stores: Sequence[Store], rows: Mapping[str, StoreRow]) -> bool:
    """Whether saving `stores` over `rows` (as read) creates or changes any store."""
    return any(
        store.code not in rows
        or (rows[store.code].name, rows[store.code].zone, rows[store.code].time_zone)
        != (store.name, store.zone, store.time_zone)
        or _new_opening(store, rows[store.code])
        for store in stores
    )


def _keeping(store: Store, row: StoreRow | None, keep: Collection[str]) -> Store:
    """`store` with the facts named in `keep` (`zone`, `time_zone`) as `row` has them
    now: a file without that column leaves them as stored, also when another writer
    changed them after the file was read."""
    if row is None or not keep:
        return store
    return replace(store, **{name: getattr(row, name) for name in keep})


def save_stores(
    session: Session,
    stores: Sequence[Store],
    *,
    title: str,
    kind: str,
    by: str,
    now: WriteClock,
    currency: str,
    impact: dict[str, Any] | None = None,
    keep: Collection[str] = (),
) -> SavedStores:
    """Create `stores` or change their name, zone, time zone or opening (zones known: the
    caller checks; the opening as `opening_of` allows); identical ones are left alone.

    A changed store's labels may print its name, date a promotion's last day in its time
    zone and carry its zone's prices, so they are handed to planning as one change
    (`title`, `kind`, `by`, `impact`; None: the counts); a store moved to another zone
    enters the Omnibus ledger at `now` (`currency`: the ledger's) where the move changed
    an applied price, and a new store with every price that applies in it. Each store
    created or changed gets a version valid from `now` on (`record_store_versions`). A
    store whose opening moved has its labels planned again too: a reduction's prior price
    caption depends on it (`pricing.ledger.key_on_sale_since`).

    `keep`: the facts (`zone`, `time_zone`) a stored store keeps as stored whatever
    `stores` says (a file without that column), read under the price writers' lock."""
    rows = _stored_rows(session, [store.code for store in stores])
    # A price writer whenever it writes anything: a store's row sets its zone, and one read
    # in a zone may have been moved out since (a concurrent write), so writing the zone as
    # read moves it back. Known only under the lock: the instants already due are recorded
    # in the zones that stood then, the clock is read once the lock is held, and the stored
    # stores are read again. Moving an opening needs the lock as well: a history import
    # moves openings back under it, and the ledger's first price of the store, which bounds
    # a later opening, is read after it.
    if _writes_anything(stores, rows):
        now = begin_price_write(session, now=now, currency=currency)
        rows = _stored_rows(session, [store.code for store in stores], again=True)
        stores = [_keeping(store, rows.get(store.code), keep) for store in stores]
    else:
        now = read_instant(now)
    changed = [
        store
        for store in stores
        if store.code in rows
        and (rows[store.code].name, rows[store.code].zone, rows[store.code].time_zone)
        != (store.name, store.zone, store.time_zone)
    ]
    # Code -> the zone before, of the stores moved to another zone.
    moved = {
        store.code: rows[store.code].zone
        for store in changed
        if rows[store.code].zone != store.zone
    }
    opened = [store.code for store in stores if store.code not in rows]
    # The stored stores given another opening; `reopened`: those whose opening alone is.
    new_opening = {store.code for store in stores if _new_opening(store, rows.get(store.code))}
    changed_codes = {store.code for store in changed}
    reopened = [s for s in stores if s.code in new_opening and s.code not in changed_codes]
    if changed or reopened:
        # A store stored without a version was so until now, as far as anyone knows.
        unversioned = _without_versions(session, [s.code for s in [*changed, *reopened]])
        record_store_versions(
            session,
            [store_from_row(rows[code]) for code in sorted(unversioned)],
            valid_from=SINCE_EVER,
        )
    saved: dict[str, StoreRow] = {}
    for store in stores:
        row = rows.get(store.code) or StoreRow(code=store.code, recorded_since=now)
        opening = opening_of(session, store, rows.get(store.code), now=now)
        row.recorded_since = recorded_since_of_an_earlier_start(
            row.recorded_since, start=opening, stored_start=row.opened, at=now
        )
        row.opened = opening
        row.name, row.zone, row.time_zone = store.name, store.zone, store.time_zone
        session.add(row)
        saved[store.code] = row
    session.flush()  # the versions name the stores
    # As saved, with the opening each now has: one moved alone is a version too.
    fresh = {*opened, *(store.code for store in changed), *new_opening}
    record_store_versions(
        session, [store_from_row(saved[code]) for code in sorted(fresh)], valid_from=now
    )
    inserted = len(opened)
    updated = [*changed, *reopened]
    publication_id = None
    if updated:
        publication_id = record_published_change(
            session,
            title=title,
            kind=kind,
            by=by,
            now=now,
            impact=impact or {"stores_inserted": inserted, "stores_updated": len(updated)},
            shelves={shelf for store in updated for shelf in shelves_in_store(session, store.code)},
        )
    if moved or opened:
        # The Omnibus ledger: their prices changed at the move, in every channel; a new
        # store sells at its zone's (or the nation's) prices from its opening, and a later
        # reduction there must find them in its 30 days.
        record_zone_move(
            session, moved, opened=opened, at=now, currency=currency, publication_id=publication_id
        )
    return SavedStores(
        inserted=inserted,
        updated=len(updated),
        publication_id=publication_id,
    )
