"""The applied-price ledger, read back as the engine's `PriceLedger`.

Three questions read it: a quote (one key, every entry), a publication, an import or the
planner (many SKUs, perhaps only some channels), and the audit (many SKUs in some stores,
only up to an instant; and, for labels not showing their due price, when that price
started). Entries are read as driver tuples with one `Money` per distinct amount: a
publication of 10,000 labels reads tens of thousands of entries, and building them was a
third of its planning time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, String, and_, bindparam, column, select, values
from sqlalchemy.orm import Session

from esl.db.models import LedgerEntryRow, core_table
from esl.db.repositories.chunks import in_chunks
from esl.db.repositories.fast_reads import ColumnReader, raw
from pricing.ledger import LedgerEntry, PriceKey, PriceLedger
from pricing.money import Money
from pricing.products import Channel

__all__ = [
    "KnownEntry",
    "StorePriceRun",
    "entries_at",
    "load_key_ledger",
    "load_ledger_for_skus",
    "remove_entries",
    "remove_entries_at",
    "store_ledger_known",
    "store_price_runs",
]

_ledger = core_table(LedgerEntryRow)
# An entry's columns after its key, in the order `_EntryReader.entry` takes them.
_ENTRY_FACTS = (
    raw(_ledger.c.effective_at),
    raw(_ledger.c.amount),
    raw(_ledger.c.regular_amount),
    _ledger.c.currency,
    _ledger.c.promotion_id,
    raw(_ledger.c.card_amount),
)
_ENTRY_COLUMNS = (_ledger.c.sku, _ledger.c.channel, _ledger.c.store, *_ENTRY_FACTS)
_KEY_ORDER = (_ledger.c.sku, _ledger.c.channel, _ledger.c.store, _ledger.c.effective_at)
# One key's entries by the unique (sku, channel, store, effective_at) index, compiled once.
_KEY_ENTRIES = (
    select(*_ENTRY_COLUMNS)
    .where(
        _ledger.c.sku == bindparam("sku"),
        _ledger.c.channel == bindparam("channel"),
        _ledger.c.store == bindparam("store"),
    )
    .order_by(_ledger.c.effective_at)
)


def load_key_ledger(session: Session, key: PriceKey) -> PriceLedger:
    """The ledger of one key, every entry in time order (one index range scan)."""
    ledger = PriceLedger()
    params = {"sku": key.sku, "channel": key.channel.value, "store": key.store}
    _append_entries(session, ledger, session.execute(_KEY_ENTRIES, params))
    return ledger


def load_ledger_for_skus(
    session: Session,
    skus: Collection[str],
    *,
    channels: Collection[Channel] | None = None,
    stores: Collection[str] | None = None,
    up_to: datetime | None = None,
    before: datetime | None = None,
    since: datetime | None = None,
    after: datetime | None = None,
    into: PriceLedger | None = None,
) -> PriceLedger:
    """Every key's ledger for `skus` (only `channels` and `stores` when given; only the
    entries effective at or before `up_to`, strictly before `before`, at or after `since`,
    strictly after `after`, when given), in time order, in a new ledger or appended to
    `into` (which must not hold these SKUs yet)."""
    ledger = PriceLedger() if into is None else into
    statement = select(*_ENTRY_COLUMNS).order_by(*_KEY_ORDER)
    if channels is not None:
        statement = statement.where(_ledger.c.channel.in_(sorted(c.value for c in channels)))
    if stores is not None:
        statement = statement.where(_ledger.c.store.in_(sorted(stores)))
    if up_to is not None:
        statement = statement.where(_ledger.c.effective_at <= up_to)
    if before is not None:
        statement = statement.where(_ledger.c.effective_at < before)
    if since is not None:
        statement = statement.where(_ledger.c.effective_at >= since)
    if after is not None:
        statement = statement.where(_ledger.c.effective_at > after)
    return _append_for_skus(session, ledger, statement, skus)


class StorePriceRun(NamedTuple):
    """A key's `store`-channel price in force at an instant, from the ledger."""

    started: datetime  # when the entry in force began
    # When the amount it charges began: the first of the unbroken run of entries charging
    # that amount. An entry is written for a loyalty-card price or a regular price changed
    # beside an unchanged amount too, so the entry in force may be later.
    amount_since: datetime
    price: Money | None  # the amount charged; None: withdrawn


def store_price_runs(
    session: Session, keys: Collection[tuple[str, str]], *, at: datetime
) -> dict[tuple[str, str], StorePriceRun]:
    """(sku, store) -> its `store`-channel price in force at `at`, when that entry began
    and when the amount it charges began (keys without an entry by then left out). One
    index range per key, its entries up to `at`: asked for the few labels the audit finds
    not showing their due price."""
    instant = ColumnReader(session, _ledger.c.effective_at)
    amount = ColumnReader(session, _ledger.c.amount)
    found: dict[tuple[str, str], StorePriceRun] = {}
    for chunk in in_chunks(sorted(keys)):
        statement = _store_shelf_entries(
            chunk,
            [raw(_ledger.c.effective_at), raw(_ledger.c.amount), _ledger.c.currency],
            _ledger.c.effective_at <= at,
        )
        for sku, store, effective, charged, currency in session.execute(statement):
            began = instant(effective)
            price = None if charged is None else Money(amount(charged), currency)
            run = found.get((sku, store))
            same = run is not None and run.price is not None and run.price == price
            found[sku, store] = StorePriceRun(
                began, run.amount_since if same and run is not None else began, price
            )
    return found


class KnownEntry(NamedTuple):
    """A ledger entry and since when the record knew it applied."""

    known: datetime  # the later of its instant and when it was recorded
    entry: LedgerEntry


def store_ledger_known(
    session: Session, keys: Collection[tuple[str, str]], *, at: datetime
) -> dict[tuple[str, str], list[KnownEntry]]:
    """(sku, store) -> every entry of its `store`-channel ledger effective and recorded
    by `at`, in time order, each with since when the record knew it applied: the later
    of its instant and when it was recorded. Imported history applied months before it
    was recorded, and what it does to a prior price is due only since then; a price
    written ahead of its instant from that instant. For the few labels the audit finds
    printing another prior price than the due one (keys without such an entry left out)."""
    reader = _EntryReader(session)
    found: dict[tuple[str, str], list[KnownEntry]] = {}
    for chunk in in_chunks(sorted(keys)):
        statement = _store_shelf_entries(
            chunk,
            [raw(_ledger.c.recorded_at), *_ENTRY_FACTS],
            _ledger.c.effective_at <= at,
            _ledger.c.recorded_at <= at,
        )
        for sku, store, recorded, *facts in session.execute(statement):
            entry = reader.entry(PriceKey(sku, Channel.STORE, store), *facts)
            found.setdefault((sku, store), []).append(
                KnownEntry(max(entry.effective_from, reader.instant(recorded)), entry)
            )
    return found


def entries_at(
    session: Session,
    skus: Collection[str],
    *,
    at: datetime,
    stores: Collection[str] | None = None,
) -> PriceLedger:
    """The entries of `skus` (in `stores` only, when given) effective exactly at `at`
    (at most one per key)."""
    ledger = PriceLedger()
    statement = select(*_ENTRY_COLUMNS).where(_ledger.c.effective_at == at)
    if stores is not None:
        statement = statement.where(_ledger.c.store.in_(sorted(stores)))
    return _append_for_skus(session, ledger, statement, skus)


def _append_for_skus(
    session: Session, ledger: PriceLedger, statement: Select[Any], skus: Collection[str]
) -> PriceLedger:
    """Append to `ledger` the entries `statement` selects for `skus`, read a chunk of SKUs
    at a time (a bound-parameter list has a limit)."""
    rows = (
        row
        for chunk in in_chunks(sorted(skus))
        for row in session.execute(statement.where(_ledger.c.sku.in_(chunk)))
    )
    _append_entries(session, ledger, rows)
    return ledger


def remove_entries_at(session: Session, keys: Iterable[PriceKey], *, at: datetime) -> None:
    """Delete the entries of `keys` effective exactly at `at`: only for entries written
    ahead of an instant that has now arrived and says otherwise (docs/pricing.md)."""
    remove_entries(session, ((key, at) for key in keys))


def remove_entries(session: Session, entries: Iterable[tuple[PriceKey, datetime]]) -> None:
    """Delete the entry of each (key, instant): only for entries written ahead of their
    instant that no longer say what will apply then (docs/pricing.md)."""
    for key, at in entries:
        session.execute(
            _ledger.delete().where(
                _ledger.c.sku == key.sku,
                _ledger.c.channel == key.channel.value,
                _ledger.c.store == key.store,
                _ledger.c.effective_at == at,
            )
        )


def _append_entries(session: Session, ledger: PriceLedger, rows: Iterable[Any]) -> None:
    """Append rows of `_ENTRY_COLUMNS`, in time order per key, to `ledger`."""
    entry = _EntryReader(session).entry
    channels = {c.value: c for c in Channel}
    append = ledger.append
    for sku, channel, store, effective, price, regular, currency, promotion, card in rows:
        key = PriceKey(sku, channels[channel], store)
        append(entry(key, effective, price, regular, currency, promotion, card))


class _EntryReader:
    """Ledger entries from the driver's values of `_ENTRY_FACTS`, with one `Money` per
    distinct amount and currency (a ledger repeats few)."""

    __slots__ = ("_amount", "_money", "instant")

    def __init__(self, session: Session) -> None:
        # Reads `effective_at` and `recorded_at` alike: both are the same instant type.
        self.instant = ColumnReader(session, _ledger.c.effective_at)
        self._amount = ColumnReader(session, _ledger.c.amount)
        self._money: dict[tuple[Any, str], Money] = {}

    def entry(
        self,
        key: PriceKey,
        effective: Any,
        price: Any,
        regular: Any,
        currency: str,
        promotion: str | None,
        card: Any,
    ) -> LedgerEntry:
        if price is None:
            return LedgerEntry.withdrawn(key, effective_from=self.instant(effective))
        return LedgerEntry(
            key=key,
            effective_from=self.instant(effective),
            price=self._money_of(price, currency),
            regular_price=self._money_of(regular, currency),
            promotion_id=promotion,
            # NULL in rows written before migration 0043: no card price known.
            card_price=self._money_of(card, currency) if card is not None else None,
        )

    def _money_of(self, value: Any, currency: str) -> Money:
        found = self._money.get((value, currency))
        if found is None:
            found = self._money[(value, currency)] = Money(self._amount(value), currency)
        return found


def _store_shelf_entries(
    keys: Sequence[tuple[str, str]], columns: Sequence[Any], *bounds: ColumnElement[bool]
) -> Select[Any]:
    """`columns` of the `store`-channel ledger entries of `keys` ((sku, store), one chunk)
    within `bounds`, each row led by its key's sku and store, in key and time order: one
    index range per key."""
    wanted = values(column("sku", String), column("store", String), name="wanted").data(keys).cte()
    return (
        select(wanted.c.sku, wanted.c.store, *columns)
        .select_from(wanted)
        .join(
            _ledger,
            and_(
                _ledger.c.sku == wanted.c.sku,
                _ledger.c.channel == Channel.STORE.value,
                _ledger.c.store == wanted.c.store,
                *bounds,
            ),
        )
        .order_by(wanted.c.sku, wanted.c.store, _ledger.c.effective_at)
    )
