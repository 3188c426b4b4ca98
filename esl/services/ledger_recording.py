"""Recording applied prices: what changed between two catalogues at an instant, as entries.

Used by publications and by price imports alike, so both leave the ledger right for the
30-day prior price; and what applies at an instant that arrives by itself (a promotion
or rule starting or ending later, `esl.services.ledger_instants`) or when a store moves
to another zone (`esl.services.stores`), by `record_applied_prices`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.mapping import ledger_entry_values
from esl.db.models import LedgerEntryRow, core_table
from esl.db.repositories import CHUNK, in_chunks
from esl.db.repositories.catalogue import load_catalogue_slice
from esl.db.repositories.ledger import entries_at, load_ledger_for_skus, remove_entries_at
from pricing.catalogue import Catalogue
from pricing.errors import EslError, NoApplicablePriceError
from pricing.impact import change_impact
from pricing.ledger import LedgerEntry, PriceKey, PriceLedger
from pricing.money import Money
from pricing.products import Channel
from pricing.resolution import resolve_key

__all__ = [
    "LedgerPlan",
    "plan_ledger",
    "record_applied_prices",
    "record_moved_keys",
    "write_ledger_entries",
]

# Which keys changed is judged on their resolved labels, and resolving writes label texts
# in some locale. The ledger records amounts and promotions, which every locale shows:
# a change in them changes the label in any locale, so the answer is the same in all.
LEDGER_TEXT_LOCALE = "pl_PL"

WRITE_BATCH = 5_000


@dataclass(slots=True)
class LedgerPlan:
    changed_keys: list[PriceKey] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def impact(self) -> dict[str, int]:
        """What the plan puts in its publication's impact, for a price and a promotion
        import alike: the keys whose label price changes, the ledger entries written."""
        return {"prices_changed": len(self.changed_keys), "ledger_entries": len(self.entries)}


def plan_ledger(
    before: Catalogue, after: Catalogue, *, at: datetime, ledger: PriceLedger, into: LedgerPlan
) -> None:
    """Add to `into` every key whose label changes at `at`, and the entry its new price needs.

    `ledger` is appended to as entries are planned; an entry that would rewrite the past
    (the key's ledger already runs beyond `at`) becomes a problem instead.
    """
    changed = change_impact(before, after, at=at, ledger=ledger, locale=LEDGER_TEXT_LOCALE)
    for key in sorted(changed, key=lambda k: (k.sku, k.store, k.channel.value)):
        into.changed_keys.append(key)
        try:
            resolved = resolve_key(after, key, at=at, ledger=ledger, locale=LEDGER_TEXT_LOCALE)
        except NoApplicablePriceError:
            resolved = None  # the key lost its price: recorded as a withdrawal
        try:
            entry = ledger.record(resolved) if resolved is not None else ledger.withdraw(key, at=at)
        except EslError as error:
            into.problems.append(
                {
                    "item": None,
                    "reason": error.message,
                    "code": error.code,
                    "sku": key.sku,
                    "channel": key.channel.value,
                    "store": key.store,
                }
            )
            continue
        if entry is not None:
            into.entries.append(entry)


def write_ledger_entries(
    session: Session,
    entries: Iterable[LedgerEntry],
    *,
    publication_id: int | None,
    source: str,
    now: datetime,
) -> int:
    rows = [
        ledger_entry_values(entry, source=source, publication_id=publication_id, recorded_at=now)
        for entry in entries
    ]
    return insert_rows(session, core_table(LedgerEntryRow), rows)


def record_moved_keys(
    session: Session,
    skus: Collection[str],
    *,
    stores: Collection[str] | None,
    at: datetime,
    currency: str,
    source: str,
    publication_id: int | None,
    chunk: int,
    opened: Collection[str] = (),
) -> list[LedgerEntry]:
    """After products or stores moved (to another category or zone; flushed): the ledger
    entries, at `at`, of every key of `skus` in `stores` (every store when None), each
    channel, whose applied price the move changed; `opened`: stores among them created
    in this transaction, which have no ledger yet. The catalogue is read `chunk` SKUs at
    a time: each read holds every rule and promotion of its SKUs (with `stores`, only the
    rules that can apply in them)."""
    session.flush()
    entries: list[LedgerEntry] = []
    for part in in_chunks(sorted(skus), chunk):
        catalogue = load_catalogue_slice(session, part, currency=currency, stores=stores)
        keys = [
            PriceKey(sku, channel, store)
            for sku in catalogue.products
            for store in (catalogue.stores if stores is None else stores)
            for channel in Channel
        ]
        entries += record_applied_prices(
            session,
            catalogue,
            keys,
            at=at,
            source=source,
            publication_id=publication_id,
            now=at,
            without_ledger=opened,
        )
    return entries


def record_applied_prices(
    session: Session,
    catalogue: Catalogue,
    keys: Iterable[PriceKey],
    *,
    at: datetime,
    source: str,
    publication_id: int | None,
    now: datetime,
    without_ledger: Collection[str] = (),
) -> list[LedgerEntry]:
    """Write the entry of every key of `keys` whose price applying at `at` (in
    `catalogue`) differs from the one its ledger has in force just before (a withdrawal
    when no price applies any more); the entries written. Only the ledger of the keys'
    stores is read, none of `without_ledger` (stores just opened: nothing to read).

    One entry per key and instant: an entry already at `at` was written ahead of the
    instant (a publication effective then); what applies now that the instant is being
    recorded replaces it when they differ, and a change it announced that did not happen
    (the rule it expected was replaced since) is removed. Entries of earlier or later
    instants are left as they are.
    """
    wanted = sorted(
        {key for key in keys if key.sku in catalogue.products and key.store in catalogue.stores},
        key=lambda k: (k.sku, k.store, k.channel.value),
    )
    skus = {key.sku for key in wanted}
    stores = {key.store for key in wanted}
    ledger, written_ahead = _ledger_of(
        session, skus, stores - set(without_ledger), every_store=catalogue.stores, at=at
    )
    applied = _AppliedPrices(catalogue, at=at, ledger=ledger, stores=stores)
    entries: list[LedgerEntry] = []
    superseded: list[PriceKey] = []
    for key in wanted:
        price = applied.of(key)
        entry = None
        last = ledger.entry_at(key, at)
        if price is not None:
            if last is None or (last.price, last.regular_price) != price[:2]:
                entry = LedgerEntry(key, at, price[0], price[1], price[2])
        elif last is not None and not last.is_withdrawn:
            # The key's price ended without a successor (a rule or promotion ending, a
            # store moved out of its zone): from now on nothing is charged.
            entry = LedgerEntry.withdrawn(key, effective_from=at)
        ahead = written_ahead.entry_at(key, at)
        if ahead is None:
            if entry is not None:
                entries.append(entry)
            continue
        if entry is None and price is not None:
            # Unchanged from before: the entry written ahead announced a change that
            # did not happen.
            superseded.append(key)
            continue
        if entry is not None and (ahead.price, ahead.regular_price) == (
            entry.price,
            entry.regular_price,
        ):
            continue
        superseded.append(key)
        if entry is not None:
            entries.append(entry)
    remove_entries_at(session, superseded, at=at)
    write_ledger_entries(session, entries, publication_id=publication_id, source=source, now=now)
    return entries


def _ledger_of(
    session: Session,
    skus: Collection[str],
    stores: Collection[str],
    *,
    every_store: Collection[str],
    at: datetime,
) -> tuple[PriceLedger, PriceLedger]:
    """The ledger of `skus` in `stores` before `at`, and the entries written ahead at `at`.

    A key's price and its prior price need its own history only: a store moved or opened
    reads its own, not the whole chain's (opening a store read every store's history of
    every SKU, once per store opened: a minute for a store file over a big ledger)."""
    if not stores or not skus:
        return PriceLedger(), PriceLedger()
    # Every store (or more than one bound-parameter list holds): read without the filter.
    only = None if len(stores) > CHUNK or set(stores) >= set(every_store) else stores
    return (
        load_ledger_for_skus(session, skus, stores=only, before=at),
        entries_at(session, skus, stores=only, at=at),
    )


_Applied = tuple[Money, Money, str | None]  # price, regular price, promotion


class _AppliedPrices:
    """The price, regular price and promotion applying to keys at one instant, resolved
    once per class of stores that no rule or promotion of the SKU tells apart (a big
    promotion starting reaches every store and channel of thousands of SKUs; resolving
    each key on its own took minutes)."""

    def __init__(
        self, catalogue: Catalogue, *, at: datetime, ledger: PriceLedger, stores: Collection[str]
    ) -> None:
        self._catalogue = catalogue
        self._at = at
        self._ledger = ledger
        # The keys' stores, whose ledger is read: each class is resolved in one of them.
        self._stores = sorted(stores)
        self._classes: dict[str, dict[str, str]] = {}  # SKU -> store -> its class's store
        self._resolved: dict[tuple[str, Channel, str], _Applied | None] = {}

    def of(self, key: PriceKey) -> _Applied | None:
        """None when no price applies."""
        classes = self._classes.get(key.sku)
        if classes is None:
            classes = self._classes[key.sku] = self._store_classes(key.sku)
        representative = (key.sku, key.channel, classes[key.store])
        if representative not in self._resolved:
            self._resolved[representative] = self._resolve(PriceKey(*representative))
        return self._resolved[representative]

    def _resolve(self, key: PriceKey) -> _Applied | None:
        try:
            resolved = resolve_key(
                self._catalogue, key, at=self._at, ledger=self._ledger, locale=LEDGER_TEXT_LOCALE
            )
        except NoApplicablePriceError:
            return None
        promotion = (
            resolved.promotion.id
            if resolved.promotion is not None and resolved.price != resolved.regular_price
            else None
        )
        return resolved.price, resolved.regular_price, promotion

    def _store_classes(self, sku: str) -> dict[str, str]:
        """Store (of the keys') -> the first store of its class: a store some rule or
        promotion of `sku` names stands alone, a named zone's other stores form one
        class, every other store another."""
        catalogue = self._catalogue
        named = catalogue.named_scopes(sku)
        classes: dict[str, str] = {}
        first: dict[str | None, str] = {}
        for store in self._stores:
            if store in named.stores:
                classes[store] = store
                continue
            zone = catalogue.store_zone(store)
            group = zone if zone in named.zones else None
            classes[store] = first.setdefault(group, store)
        return classes
