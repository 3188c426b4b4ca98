"""Recording applied prices: what changed between two catalogues at an instant, as entries.

Used by publications and by price and promotion imports alike, so all leave the ledger
right for the 30-day prior price, the entries written ahead for later instants included;
and what applies at an instant that arrives by itself (a promotion or rule starting or
ending later, `esl.services.ledger_instants`) or when a store moves to another zone
(`esl.services.stores`), by `record_applied_prices`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.mapping import ledger_entry_values
from esl.db.models import LedgerEntryRow, core_table
from esl.db.repositories import CHUNK, in_chunks
from esl.db.repositories.catalogue import load_catalogue_slice
from esl.db.repositories.ledger import (
    entries_at,
    load_ledger_for_skus,
    remove_entries,
    remove_entries_at,
)
from esl.planning_queue import instants_published_ahead, queue_shelves_ahead
from pricing.catalogue import Catalogue
from pricing.errors import EslError, NoApplicablePriceError
from pricing.impact import change_impact
from pricing.ledger import LedgerEntry, PriceKey, PriceLedger, card_price_of
from pricing.money import Money
from pricing.products import Channel
from pricing.resolution import resolve_key
from pricing.resolved import ResolvedPrice

__all__ = [
    "LedgerPlan",
    "LedgerWriter",
    "load_planning_ledger",
    "plan_change_ledger",
    "plan_ledger",
    "record_applied_prices",
    "record_moved_keys",
    "replan_written_ahead",
    "write_ledger_entries",
    "write_ledger_plan",
    "written_ahead_by_instant",
]

# Which keys changed is judged on their resolved labels, and resolving writes label texts
# in some locale. The ledger records amounts and promotions, which every locale shows:
# a change in them changes the label in any locale, so the answer is the same in all.
LEDGER_TEXT_LOCALE = "pl_PL"

# Ledger rows are built and inserted this many at a time: a chain's price file writes
# millions of entries, which as one list of row dicts held gigabytes.
WRITE_BATCH = 5_000


@dataclass(slots=True)
class LedgerPlan:
    changed_keys: list[PriceKey] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    # Entries written ahead of their instant that no longer say what will apply then:
    # deleted before `entries` (which hold their replacements, if any) are written.
    withdrawn_ahead: list[LedgerEntry] = field(default_factory=list)
    # The (SKU, store) shelves whose price (in any channel) it records or stops recording
    # at each later instant: named in the queue of the publication published ahead for it.
    ahead_shelves: dict[datetime, set[tuple[str, str]]] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def shelves(self) -> set[tuple[str, str]]:
        """The (SKU, store) shelves whose store price the plan records or stops recording,
        at its instant or a later one written ahead: their labels must be planned again
        (one holding a flip to a price that will not be charged too)."""
        return _store_shelves((*self.entries, *self.withdrawn_ahead))


@dataclass(slots=True)
class LedgerWriter:
    """Writes a file's ledger as it is planned, a chunk of SKUs at a time (`write`), and
    keeps of it only what the steps after need: the counts of its publication's impact,
    the shelves to plan and the problems.

    A chain's price file plans millions of entries: gathered into one `LedgerPlan` and
    written at the end they held gigabytes. The chunks' SKUs are disjoint, so a chunk's
    entries change nothing another chunk plans against. Once a problem is found nothing
    more is written: the file is refused and its transaction rolled back, whatever the
    earlier chunks wrote with it."""

    publication_id: int
    source: str
    now: datetime
    prices_changed: int = 0
    ledger_entries: int = 0
    ledger_entries_ahead_replaced: int = 0
    shelves: set[tuple[str, str]] = field(default_factory=set)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def write(self, session: Session, plan: LedgerPlan) -> None:
        """Count and write `plan`, one chunk's (unless a problem was found, here or before)."""
        self.problems += plan.problems
        self.prices_changed += len(plan.changed_keys)
        self.ledger_entries += len(plan.entries)
        self.ledger_entries_ahead_replaced += len(plan.withdrawn_ahead)
        self.shelves |= plan.shelves()
        if not self.problems:
            write_ledger_plan(
                session, plan, publication_id=self.publication_id, source=self.source, now=self.now
            )

    def plan_and_write(
        self,
        session: Session,
        before: Catalogue,
        after: Catalogue,
        skus: Collection[str],
        *,
        instants_ahead: Collection[datetime],
    ) -> LedgerPlan:
        """Plan one chunk's change of `skus` at the file's instant and write it; the plan,
        for its problems."""
        plan = LedgerPlan()
        plan_change_ledger(
            session,
            before,
            after,
            skus,
            at=self.now,
            now=self.now,
            into=plan,
            instants_ahead=instants_ahead,
        )
        self.write(session, plan)
        return plan

    def impact(self) -> dict[str, int]:
        """What the file's ledger puts in its publication's impact, for a price and a
        promotion import alike: the keys whose label price changes, the ledger entries
        written, and the entries written ahead for later instants that it replaced or
        removed."""
        return {
            "prices_changed": self.prices_changed,
            "ledger_entries": self.ledger_entries,
            "ledger_entries_ahead_replaced": self.ledger_entries_ahead_replaced,
        }


def _store_shelves(entries: Iterable[LedgerEntry]) -> set[tuple[str, str]]:
    return {
        (entry.key.sku, entry.key.store) for entry in entries if entry.key.channel is Channel.STORE
    }


def load_planning_ledger(
    session: Session, skus: Collection[str], *, at: datetime, now: datetime
) -> tuple[PriceLedger, PriceLedger]:
    """The ledger of `skus` a change at `at` is planned against, and the entries written
    ahead that it may have to plan again (`plan_ledger`'s `ahead`).

    A publication effective later writes its entries when it is published: entries of
    instants still to come are what will apply then as far as is known, not what was
    charged. Those from `at` on belong to the change's own future; an entry at `at` itself
    is one of them only when `at` is still ahead (at the present instant, it records what
    applies now, and a second entry there is refused)."""
    if at > now:
        return (
            load_ledger_for_skus(session, skus, before=at),
            load_ledger_for_skus(session, skus, since=at),
        )
    return (
        load_ledger_for_skus(session, skus, up_to=at),
        load_ledger_for_skus(session, skus, after=at),
    )


def plan_change_ledger(
    session: Session,
    before: Catalogue,
    after: Catalogue,
    skus: Collection[str],
    *,
    at: datetime,
    now: datetime,
    into: LedgerPlan,
    instants_ahead: Collection[datetime],
) -> None:
    """`plan_ledger` for a change of `skus` at `at`, against their ledger as
    `load_planning_ledger` reads it: what a publication and the price and promotion files
    each plan in the same way."""
    ledger, ahead = load_planning_ledger(session, skus, at=at, now=now)
    plan_ledger(
        before,
        after,
        at=at,
        ledger=ledger,
        into=into,
        ahead=ahead,
        instants_ahead=instants_ahead,
        since=now,
    )


def plan_ledger(
    before: Catalogue,
    after: Catalogue,
    *,
    at: datetime,
    ledger: PriceLedger,
    into: LedgerPlan,
    ahead: PriceLedger | None = None,
    instants_ahead: Collection[datetime] = (),
    since: datetime | None = None,
) -> None:
    """Add to `into` every key whose label changes at `at`, and the entry its new price needs.

    `ledger` (what applied up to `at`) is appended to as entries are planned; an entry
    that would rewrite the past (the key's ledger already runs to `at` or beyond) becomes a
    problem instead. `ahead` holds the entries written ahead for instants from `at` on
    (`load_planning_ledger`): an entry written ahead at `at` itself gives way to the
    change's own, and the later ones are planned again (`replan_written_ahead`), at every
    instant of `instants_ahead` too (`instants_published_ahead`: a publication published
    ahead for it may have written no entry of these SKUs, yet the change can bring a key
    into its price), with every key whose price then the change alters.
    """
    changed = change_impact(before, after, at=at, ledger=ledger, locale=LEDGER_TEXT_LOCALE)
    into.changed_keys += sorted(changed, key=_key_order)
    written_ahead = written_ahead_by_instant(ahead) if ahead is not None else {}
    replanned = _plan_instant(
        after,
        changed,
        at=at,
        written=written_ahead.pop(at, {}),
        ledger=ledger,
        into=into,
        since=since,
    )
    for instant in instants_ahead:
        if instant > at:
            written_ahead.setdefault(instant, {})
    if not written_ahead:
        return
    replan_written_ahead(
        after,
        written_ahead,
        replanned=replanned,
        ledger=ledger,
        into=into,
        # Exact and proportional to the change, like the keys changed at `at`.
        altered_then=lambda instant: change_impact(
            before, after, at=instant, ledger=ledger, locale=LEDGER_TEXT_LOCALE
        ),
        since=since,
    )


def replan_written_ahead(
    catalogue: Catalogue,
    written_ahead: dict[datetime, dict[PriceKey, LedgerEntry]],
    *,
    replanned: set[PriceKey],
    ledger: PriceLedger,
    into: LedgerPlan,
    altered_then: Callable[[datetime], Collection[PriceKey]],
    since: datetime | None = None,
) -> None:
    """Plan again, in `catalogue` and in time order, the entries written ahead for later
    instants (`written_ahead`, instant -> key -> entry; an instant of a publication
    published ahead with none of these keys maps to none) after a change whose entries
    up to them `ledger` holds, `replanned` the keys whose ledger the change altered,
    `altered_then` the keys whose price at an instant the change alters.

    At each instant, every key with an entry written ahead then, every key of
    `replanned`, and every key the change brings into (or out of) what applies then
    gets what applies then against its ledger before it: an entry written ahead that no
    longer says so is replaced or withdrawn (`into.withdrawn_ahead`), one that still does
    is kept, and a key whose price then the change alters although its price now stays
    (a store's own price ended, a store moved out of a zone at the same price) gets its
    entry there, its shelf named with the instant (`into.ahead_shelves`). Other keys get
    no entry ahead: a promotion or rule starting or ending later is recorded when its
    instant arrives (`esl.services.ledger_instants`); `since` (the present), as
    `plan_ledger`'s: each key is planned against its ledger carried forward by those.
    """
    for instant in sorted(written_ahead):
        written = written_ahead[instant]
        entries, withdrawn = len(into.entries), len(into.withdrawn_ahead)
        replanned |= _plan_instant(
            catalogue,
            set(written) | replanned | set(altered_then(instant)),
            at=instant,
            written=written,
            ledger=ledger,
            into=into,
            since=since,
        )
        # Every channel's shelf, not only those whose store price changes: the instant's
        # recording looks at every channel of the shelves it names, and drops a web or
        # app entry written ahead that repeats the one recorded before it, one entry per
        # change.
        entries_then = (*into.entries[entries:], *into.withdrawn_ahead[withdrawn:])
        shelves = {(entry.key.sku, entry.key.store) for entry in entries_then}
        if shelves:
            into.ahead_shelves.setdefault(instant, set()).update(shelves)


def written_ahead_by_instant(ledger: PriceLedger) -> dict[datetime, dict[PriceKey, LedgerEntry]]:
    """The entries of `ledger` by instant, then key."""
    found: dict[datetime, dict[PriceKey, LedgerEntry]] = {}
    for key in sorted(ledger.keys(), key=_key_order):
        for entry in ledger.entries(key):
            found.setdefault(entry.effective_from, {})[key] = entry
    return found


def _plan_instant(
    catalogue: Catalogue,
    keys: Collection[PriceKey],
    *,
    at: datetime,
    written: dict[PriceKey, LedgerEntry],
    ledger: PriceLedger,
    into: LedgerPlan,
    since: datetime | None = None,
) -> set[PriceKey]:
    """Plan the entries of `keys` at `at` in `catalogue` against `ledger` (appended to),
    in the place of those `written` ahead there; the keys whose ledger changed. An entry
    written ahead for a key not in `keys` is kept: neither its price then nor its history
    before it changed. `since`: see `plan_ledger`."""
    written = dict(written)
    changed: set[PriceKey] = set()
    instants: dict[str, list[datetime]] = {}
    for key in sorted(keys, key=_key_order):
        existing = written.pop(key, None)
        if since is not None and since < at:
            _carry_forward(catalogue, key, ledger, since=since, until=at, instants=instants)
        resolved = _resolved_or_none(catalogue, key, at=at, ledger=ledger)
        try:
            planned = (
                ledger.record(resolved) if resolved is not None else ledger.withdraw(key, at=at)
            )
        except EslError as error:
            # One per key; a publication names the items, a file the lines, that changed
            # the SKU (`esl.services.ledger_refusals` puts them in words, one per SKU).
            problem: dict[str, Any] = {
                "item": None,
                "reason": error.message,
                "code": error.code,
                "sku": key.sku,
                "channel": key.channel.value,
                "store": key.store,
            }
            if "last" in error.fields:
                problem["held_at"] = error.fields["last"]
            into.problems.append(problem)
            continue
        if _replan_ahead(existing, planned, into):
            changed.add(key)
    for entry in written.values():
        ledger.append(entry)
    return changed


def _carry_forward(
    catalogue: Catalogue,
    key: PriceKey,
    ledger: PriceLedger,
    *,
    since: datetime,
    until: datetime,
    instants: dict[str, list[datetime]],
) -> None:
    """Append to `ledger` (only: nothing is written) what `key` will be charged at each
    instant after `since` and before `until` at which a rule or promotion of its SKU in
    `catalogue` starts or ends, after the key's last entry: the entries the recording of
    those instants will write when they arrive (`record_applied_prices`). `instants`: the
    SKU's instants in that span, filled as SKUs come."""
    found = instants.get(key.sku)
    if found is None:
        windows = [(rule.valid_from, rule.valid_until) for rule in catalogue.rules_for(key.sku)]
        windows += [(p.valid_from, p.valid_until) for p in catalogue.promotions_for(key.sku)]
        found = instants[key.sku] = sorted(
            {
                instant
                for window in windows
                for instant in window
                if instant is not None and since < instant < until
            }
        )
    if not found:
        return
    last = ledger.entry_at(key, until)
    for instant in found:
        if last is not None and instant <= last.effective_from:
            continue
        resolved = _resolved_or_none(catalogue, key, at=instant, ledger=ledger)
        if resolved is not None:
            ledger.record(resolved)
        else:
            ledger.withdraw(key, at=instant)


def _resolved_or_none(
    catalogue: Catalogue, key: PriceKey, *, at: datetime, ledger: PriceLedger
) -> ResolvedPrice | None:
    """What applies to `key` at `at`; None when it has no price (recorded as a withdrawal)."""
    try:
        return resolve_key(catalogue, key, at=at, ledger=ledger, locale=LEDGER_TEXT_LOCALE)
    except NoApplicablePriceError:
        return None


def _replan_ahead(
    written: LedgerEntry | None, planned: LedgerEntry | None, into: LedgerPlan
) -> bool:
    """Put the `planned` entry (or None) in the place of the one `written` ahead at its
    instant (or None); whether the key's ledger changes."""
    if written is not None and planned is not None and _same_entry(written, planned):
        return False
    if written is not None:
        into.withdrawn_ahead.append(written)
    if planned is not None:
        into.entries.append(planned)
    return written is not None or planned is not None


def _same_entry(left: LedgerEntry, right: LedgerEntry) -> bool:
    return (left.price, left.regular_price, left.promotion_id, left.card_price) == (
        right.price,
        right.regular_price,
        right.promotion_id,
        right.card_price,
    )


def _key_order(key: PriceKey) -> tuple[str, str, str]:
    return (key.sku, key.store, key.channel.value)


def write_ledger_plan(
    session: Session, plan: LedgerPlan, *, publication_id: int | None, source: str, now: datetime
) -> int:
    """Write `plan`: the entries written ahead that it replaces or withdraws go first
    (one entry per key and instant), then its entries; the number written. The shelves
    of its entries at later instants are named in the queue of the publication published
    ahead for each (`queue_shelves_ahead`), so the instant is recorded for them when it
    arrives and their labels get its timed image."""
    remove_entries(session, ((entry.key, entry.effective_from) for entry in plan.withdrawn_ahead))
    written = write_ledger_entries(
        session, plan.entries, publication_id=publication_id, source=source, now=now
    )
    queue_shelves_ahead(session, plan.ahead_shelves)
    return written


def write_ledger_entries(
    session: Session,
    entries: Iterable[LedgerEntry],
    *,
    publication_id: int | None,
    source: str,
    now: datetime,
) -> int:
    """Insert `entries` (read once, as they come), WRITE_BATCH rows at a time; the number
    written."""
    table = core_table(LedgerEntryRow)
    written = 0
    for batch in in_chunks(entries, WRITE_BATCH):
        written += insert_rows(
            session,
            table,
            [
                ledger_entry_values(
                    entry, source=source, publication_id=publication_id, recorded_at=now
                )
                for entry in batch
            ],
        )
    return written


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
    zones_before: Mapping[str, str | None] | None = None,
    categories_before: Mapping[str, str] | None = None,
) -> list[LedgerEntry]:
    """After products or stores moved (to another category or zone; flushed): the ledger
    entries, at `at`, of every key of `skus` in `stores` (every store when None), each
    channel, whose applied price the move changed; `opened`: stores among them created
    in this transaction, which have no ledger yet; and those written ahead for later
    instants of these keys that the move changes (`_replan_moved_ahead`). The catalogue is
    read `chunk` SKUs at a time: each read holds every rule and promotion of its SKUs (with
    `stores`, only the rules that can apply in them).

    `zones_before` (the moved stores' zones before the move), `categories_before` (the
    moved products' categories) and `opened`: a promotion may meet rules it never met
    before the move or the opening (a national deal above the national price, taken
    because every store then had a dearer zone price, meets it in a store opened without
    a zone), and the move is refused (PromotionPriceAboveRegularError) if it would then
    sell above one; the rules it met before are not checked again."""
    session.flush()
    entries: list[LedgerEntry] = []
    for part in in_chunks(sorted(skus), chunk):
        catalogue = load_catalogue_slice(session, part, currency=currency, stores=stores)
        _check_promotions_met_by_the_move(
            session,
            catalogue,
            currency=currency,
            whole=stores is None,
            opened=opened,
            zones_before=zones_before or {},
            categories_before=categories_before or {},
            at=at,
        )
        keys = [
            PriceKey(sku, channel, store)
            for sku in catalogue.products
            for store in (catalogue.stores if stores is None else stores)
            for channel in Channel
        ]
        moved = record_applied_prices(
            session,
            catalogue,
            keys,
            at=at,
            source=source,
            publication_id=publication_id,
            now=at,
            without_ledger=opened,
        )
        entries += moved
        entries += _replan_moved_ahead(
            session,
            catalogue,
            keys,
            moved=moved,
            stores=stores,
            at=at,
            source=source,
            publication_id=publication_id,
        )
    return entries


def _check_promotions_met_by_the_move(
    session: Session,
    catalogue: Catalogue,
    *,
    currency: str,
    whole: bool,
    opened: Collection[str],
    zones_before: Mapping[str, str | None],
    categories_before: Mapping[str, str],
    at: datetime,
) -> None:
    """Refuse the move (at `at`) if a promotion of `catalogue`'s SKUs meets a rule it did not meet
    before it (`Catalogue.check_promotions_met_anew`). `whole`: `catalogue` holds every
    rule of its SKUs; otherwise only those of the moved stores, and the promoted SKUs are
    read again with all their rules: where a promotion meets a rule depends on the prices
    of every store (a zone whose stores each have their own price shadows the zone's), and
    one read without them would count the rule met before and not check it."""
    if not whole:
        promoted = _promoted_skus(catalogue)
        if not promoted:
            return
        catalogue = load_catalogue_slice(session, promoted, currency=currency)
    catalogue.check_promotions_met_anew(
        _before_the_move(catalogue, zones_before, categories_before, opened), since=at
    )


def _promoted_skus(catalogue: Catalogue) -> set[str]:
    """The SKUs of `catalogue` some promotion it holds reaches (by SKU or category)."""
    return {sku for sku in catalogue.products if catalogue.promotions_for(sku)}


def _before_the_move(
    catalogue: Catalogue,
    zones_before: Mapping[str, str | None],
    categories_before: Mapping[str, str],
    opened: Collection[str],
) -> Catalogue:
    """`catalogue` as it was before the move: without the stores just opened, the moved
    stores in their zones and the moved products (those it holds) in their categories as
    they were."""
    before = catalogue.without_stores(opened).with_stores(
        replace(catalogue.stores[code], zone=zone) for code, zone in zones_before.items()
    )
    return before.with_products(
        replace(product, category=categories_before[sku])
        for sku, product in catalogue.products.items()
        if sku in categories_before
    )


def _replan_moved_ahead(
    session: Session,
    catalogue: Catalogue,
    keys: Collection[PriceKey],
    *,
    moved: Collection[LedgerEntry],
    stores: Collection[str] | None,
    at: datetime,
    source: str,
    publication_id: int | None,
) -> list[LedgerEntry]:
    """After a move recorded its entries at `at` (written): the entries written ahead for
    later instants of `keys` planned again in `catalogue` (`replan_written_ahead`), as a
    publication plans those it reaches, and at the instant of every publication published
    ahead, the keys of `keys` whose SKU has a rule or promotion starting or ending then;
    the entries written. A store moved into a zone with its own price no longer takes a
    national rise published for next week; one moved out of a zone whose own price was the
    national one takes it."""
    wanted = set(keys)
    skus = {key.sku for key in wanted}
    only = None if stores is None or len(stores) > CHUNK else stores
    ahead = load_ledger_for_skus(session, skus, stores=only, after=at)
    written_ahead = {
        instant: {key: entry for key, entry in written.items() if key in wanted}
        for instant, written in written_ahead_by_instant(ahead).items()
    }
    written_ahead = {instant: written for instant, written in written_ahead.items() if written}
    for instant in instants_published_ahead(session, after=at):
        written_ahead.setdefault(instant, {})
    # Without the catalogue before the move, which keys it alters at an instant is not
    # known: a key's price can change only where a rule or promotion of its SKU starts or
    # ends, so those are planned there (most often a few SKUs of a price published ahead).
    changing = {
        instant: {sku for sku in skus if _starts_or_ends(catalogue, sku, instant)}
        for instant in written_ahead
    }
    reached = {key.sku for written in written_ahead.values() for key in written}
    reached |= {sku for named in changing.values() for sku in named}
    if not reached:
        return []
    ledger = load_ledger_for_skus(session, reached, stores=only, up_to=at)
    plan = LedgerPlan()
    replan_written_ahead(
        catalogue,
        written_ahead,
        replanned={entry.key for entry in moved if entry.key.sku in reached},
        ledger=ledger,
        into=plan,
        altered_then=lambda instant: {key for key in wanted if key.sku in changing[instant]},
        since=at,
    )
    write_ledger_plan(session, plan, publication_id=publication_id, source=source, now=at)
    return plan.entries


def _starts_or_ends(catalogue: Catalogue, sku: str, instant: datetime) -> bool:
    """Whether a rule or promotion of `sku` starts or ends at `instant`."""
    rules = catalogue.rules_for(sku)
    promotions = catalogue.promotions_for(sku)
    return any(instant in (rule.valid_from, rule.valid_until) for rule in rules) or any(
        instant in (promotion.valid_from, promotion.valid_until) for promotion in promotions
    )


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
            if last is None or (last.price, last.regular_price, last.card_price) != (
                price[0],
                price[1],
                price[3],
            ):
                entry = LedgerEntry(key, at, *price)
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
        if entry is not None and (ahead.price, ahead.regular_price, ahead.card_price) == (
            entry.price,
            entry.regular_price,
            entry.card_price,
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


# price, regular price, promotion, card price (`LedgerEntry`'s fields in its order)
_Applied = tuple[Money, Money, str | None, Money | None]


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
        return resolved.price, resolved.regular_price, promotion, card_price_of(resolved)

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
