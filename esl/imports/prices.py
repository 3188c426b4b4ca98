"""`esl import prices`: a regular-price file, validated whole and written in one transaction.

Rows stream through `csv`; reference data (SKUs, stores, zones) and the current rules are
read once into sets and dicts, so validation is O(rows) without a query per row. Writing
uses Core `insert`/`update` with executemany, never an ORM object per row.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows, update_rows
from esl.db.mapping import price_rule_from_row
from esl.db.models import PriceRuleRow, ProductRow, PromotionTargetRow, core_table
from esl.db.repositories import (
    ColumnReader,
    driver_rows,
    in_chunks,
    load_catalogue_slice,
    raw,
)
from esl.imports.csv_fields import (
    BadRowError,
    CsvFile,
    CsvRow,
    Problems,
    check_width,
    optional_instant,
    optional_word,
    parse_currency,
    parse_money_amount,
    parse_word,
)
from esl.imports.ledger_publication import open_import_ledger
from esl.imports.references import ImportReferences
from esl.imports.report import ImportReport
from esl.imports.windows import Window, first_overlap
from esl.planning_queue import (
    hand_published_change,
    instants_published_ahead,
    later_instants,
)
from esl.services.ledger_instants import WriteClock, begin_price_write
from esl.services.ledger_recording import LedgerWriter
from esl.services.ledger_refusals import refusals_in_words
from esl.services.rule_versions import record_stored_rule_versions
from pricing.catalogue import Catalogue
from pricing.errors import PricingError
from pricing.products import Channel
from pricing.rules import PriceRule

__all__ = ["PRICE_COLUMNS", "PriceLine", "import_prices", "price_rule_id"]

PRICE_COLUMNS = (
    "sku",
    "scope",
    "channel",
    "store_or_zone",
    "price",
    "currency",
    "valid_from",
    "valid_until",
)
REQUIRED = ("sku", "scope", "price", "currency")
PRICE_FILE = CsvFile(
    "price", PRICE_COLUMNS, REQUIRED, repeated="same sku, scope and valid_from as line {line}"
)
SCOPES = ("national", "zone", "store")
ENGINE_CHUNK = 2_000
MAX_ENGINE_RETRIES = 100
# From this many SKUs on, reading every stored rule in one pass beats IN lists by SKU.
WHOLE_TABLE_FROM = 10_000


class PriceLine(NamedTuple):
    """A `price_rules` row: one validated line of a file, or a stored rule as the checks
    read it (a tuple: the stored table is read a row at a time, 100,000 for a chain)."""

    id: str
    sku: str
    amount: Decimal
    currency: str
    channel: str | None
    zone: str | None
    store: str | None
    valid_from: datetime | None
    valid_until: datetime | None

    @property
    def scope_key(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.sku, self.channel, self.zone, self.store)

    @property
    def window(self) -> Window:
        return (self.valid_from, self.valid_until)

    def as_rule(self) -> PriceRule:
        return price_rule_from_row(self)

    def as_row(self, publication_id: int | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "sku": self.sku,
            "amount": self.amount,
            "currency": self.currency,
            "channel": self.channel,
            "zone": self.zone,
            "store": self.store,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "publication_id": publication_id,
        }


def price_rule_id(
    *,
    sku: str,
    channel: str | None,
    zone: str | None,
    store: str | None,
    valid_from: datetime | None,
) -> str:
    """A rule's identity is its scope and start: the same row imported twice is the same rule.

    The SKU leads the id so that a file sorted by SKU appends to the primary-key index
    instead of scattering inserts over it (about twice as fast on SQLite).
    """
    start = valid_from.isoformat() if valid_from else ""
    key = "\x1f".join((channel or "", zone or "", store or "", start))
    return f"{sku}#{hashlib.blake2b(key.encode('utf-8'), digest_size=8).hexdigest()}"


def _parse(row: CsvRow, refs: ImportReferences, currency: str) -> PriceLine:
    check_width(row)
    sku = row.require("sku")
    refs.refuse_unknown_on_line("sku", (sku,))
    scope = parse_word(row.require("scope"), "scope", SCOPES)
    place = row.get("store_or_zone")
    zone = store = None
    if scope == "national":
        if place:
            raise BadRowError("a national price names no store or zone")
    elif not place:
        raise BadRowError(f"a {scope} price needs store_or_zone")
    elif scope == "zone":
        # Stored, and a store belongs to it: a zone no store belongs to is priced nowhere.
        refs.refuse_unknown_on_line("zone", (place,))
        zone = place
    else:
        refs.refuse_unknown_on_line("store", (place,))
        store = place
    channel = optional_word(row, "channel", sorted(refs.channels))
    amount = parse_money_amount(row, "price", currency=currency)
    currency_code = parse_currency(row, "currency", expected=currency)
    # A store's price is written on its clock: a time without an offset is told that.
    clock = refs.clock_of(() if store is None else (store,), otherwise=row.time_zone)
    valid_from = optional_instant(row, "valid_from", time_zone=clock)
    valid_until = optional_instant(row, "valid_until", time_zone=clock)
    if valid_from and valid_until and valid_until <= valid_from:
        raise BadRowError("valid_until is not after valid_from")
    return PriceLine(
        id=price_rule_id(sku=sku, channel=channel, zone=zone, store=store, valid_from=valid_from),
        sku=sku,
        amount=amount,
        currency=currency_code,
        channel=channel,
        zone=zone,
        store=store,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def import_prices(
    session: Session,
    source: IO[str] | str,
    *,
    currency: str,
    imported_by: str,
    now: WriteClock,
    title: str = "price file",
    record_ledger: bool = True,
    time_zone: str | None = None,
) -> ImportReport:
    """Validate every row, then write all of them or none; the caller commits.

    Besides the row checks, the changed SKUs are run through the engine's `Catalogue`
    (so a new price cannot fall below a running fixed-price promotion, say), and with
    `record_ledger` every (SKU, channel, store) whose price changes now gets its ledger
    entry, exactly as a publication would record it.

    `now` (a clock) is read once the price writers' lock is held (`begin_price_write`).
    """
    now = begin_price_write(session, now=now, currency=currency)
    refs = ImportReferences(session)
    parsed = PRICE_FILE.parse_rows(
        source,
        lambda row: _parse(row, refs, currency),
        key=lambda line: line.id,
        time_zone=time_zone,
    )
    problems = parsed.problems
    lines = parsed.by_key

    existing = _stored_rules(session, {line.sku for line in parsed.values()})
    _check_overlaps(lines, existing, problems)
    problems.raise_if_any()

    inserts: list[PriceLine] = []
    updates: list[PriceLine] = []
    for line in parsed.values():
        current = existing.get(line.id)
        if current is None:
            inserts.append(line)
        elif (current.amount, current.currency, current.valid_until) != (
            line.amount,
            line.currency,
            line.valid_until,
        ):
            updates.append(line)
    publication_id = None
    if inserts or updates:
        ledger = open_import_ledger(session, title=title, by=imported_by, now=now)
        publication_id = ledger.publication_id
        _check_with_engine(
            session,
            [*inserts, *updates],
            lines,
            problems,
            currency=currency,
            now=now,
            record_ledger=record_ledger,
            ledger=ledger,
        )
        problems.raise_if_any()
        shelves, everywhere = _shelves_changed(
            ledger, [*inserts, *updates], record_ledger=record_ledger
        )
        hand_published_change(
            session,
            publication_id,
            impact={
                "prices_inserted": len(inserts),
                "prices_updated": len(updates),
                **ledger.impact(),
                "ledger_recorded": record_ledger,
            },
            shelves=shelves,
            everywhere=everywhere,
            # A price that starts or ends later changes its labels then, not now.
            later=later_instants(session, rules=[*inserts, *updates], after=now),
            now=now,
        )
        _write(session, inserts, updates, publication_id, now)
    return parsed.report(
        "prices", inserted=len(inserts), updated=len(updates), publication_id=publication_id
    )


def _shelves_changed(
    ledger: LedgerWriter, changed: list[PriceLine], *, record_ledger: bool
) -> tuple[set[tuple[str, str]], set[str]]:
    """The (SKU, store) shelves and the SKUs on every shelf whose labels the import may
    change now. With the ledger, exactly the store keys whose applied price changed (now,
    or at a later instant written ahead that the import replanned).
    Without it (a bulk load) those keys are not worked out, so every shelf a changed
    store-channel rule may price is planned: the planner sends only what differs."""
    if record_ledger:
        return ledger.shelves, set()
    on_shelves = [line for line in changed if line.channel in (None, Channel.STORE.value)]
    return (
        {(line.sku, line.store) for line in on_shelves if line.store is not None},
        {line.sku for line in on_shelves if line.store is None},
    )


def _skus_with_promotions(session: Session, skus: list[str]) -> set[str]:
    """Which of `skus` a promotion names, directly or through the product's category."""
    # Every SKU target in one query, intersected here: promotions name a few thousand SKUs
    # at most, where asking about a 100,000-SKU file in IN lists took 50 queries.
    targets = select(PromotionTargetRow.value).where(PromotionTargetRow.dimension == "sku")
    categories = select(PromotionTargetRow.value).where(PromotionTargetRow.dimension == "category")
    by_category = select(ProductRow.sku).where(ProductRow.category.in_(categories))
    named = set(session.scalars(targets)) | set(session.scalars(by_category))
    return named.intersection(skus)


def _check_with_engine(
    session: Session,
    changed: list[PriceLine],
    lines: dict[str, tuple[int, PriceLine]],
    problems: Problems,
    *,
    currency: str,
    now: datetime,
    record_ledger: bool,
    ledger: LedgerWriter,
) -> None:
    """Run the changed rules through the engine's `Catalogue`, ENGINE_CHUNK SKUs at a time.

    The row checks already did what the engine does for a rule on its own (references,
    overlaps, currency, a positive amount); what is left is how rules meet promotions,
    so without ledger recording only SKUs some promotion names need a catalogue. With
    ledger recording every changed SKU does, to resolve its keys before and after, and
    each chunk's entries are written by `ledger` as soon as they are planned.
    Rows the engine refuses are each reported (up to MAX_ENGINE_RETRIES per chunk).
    """
    if problems.total or not changed:
        return
    skus = sorted({line.sku for line in changed})
    if not record_ledger:
        promoted = _skus_with_promotions(session, skus)
        skus = [sku for sku in skus if sku in promoted]
    wanted = set(skus)
    by_sku: dict[str, list[PriceRule]] = defaultdict(list)
    for line in changed:
        if line.sku in wanted:
            by_sku[line.sku].append(line.as_rule())
    instants_ahead = instants_published_ahead(session, after=now) if record_ledger else []
    for chunk in in_chunks(skus, ENGINE_CHUNK):
        base = load_catalogue_slice(session, chunk, currency=currency)
        new_rules = [rule for sku in chunk for rule in by_sku[sku]]
        replaced = {rule.id for rule in new_rules}
        kept = [r for r in base.rules.values() if r.id not in replaced]
        after = None
        # The engine stops at its first objection: set that rule aside and ask again, so
        # every refused row of the chunk is reported (a bounded number of times).
        for _ in range(MAX_ENGINE_RETRIES):
            try:
                # Built afresh rather than by `with_changes`: one catalogue per chunk. Its
                # promotions are checked against the rules the file makes them meet, not
                # against those they met as stored (one taken under an older check).
                candidate = Catalogue(
                    products=base.products.values(),
                    stores=base.stores.values(),
                    rules=kept + new_rules,
                    promotions=base.promotions.values(),
                    currency=currency,
                    promotion_prices_checked=True,
                )
                candidate.check_promotions_met_anew(base)
                after = candidate
                break
            except PricingError as error:
                if not problems.add_engine_refusal(error, lines, field="rule_id"):
                    break
                new_rules = [rule for rule in new_rules if rule.id != error.fields["rule_id"]]
        if after is None or problems.total:
            continue
        if record_ledger:
            ledger.plan_and_write(session, base, after, chunk, instants_ahead=instants_ahead)
    first_line = {line.sku: number for number, line in sorted(lines.values(), reverse=True)}
    problems.add_sku_refusals(
        refusals_in_words(session, ledger.problems, then="import the file again"), first_line
    )


def _stored_rules(session: Session, skus: set[str]) -> dict[str, PriceLine]:
    """The stored rules of `skus` by id: only a file's own SKUs can clash with it or be
    restated by it. A file naming most of the catalogue reads the whole table in one pass,
    a smaller one (a day's 500 price changes) only its SKUs' rules, by their index.

    Read at the driver: SQLAlchemy's Row objects and a result processor per cell were a
    third of re-importing an unchanged 100,000-row file. Amounts and instants go through
    their columns' own types, once per distinct value."""
    table = core_table(PriceRuleRow)
    amount = ColumnReader(session, table.c.amount)
    valid_from = ColumnReader(session, table.c.valid_from)
    valid_until = ColumnReader(session, table.c.valid_until)
    statement = select(
        table.c.id,
        table.c.sku,
        raw(table.c.amount),
        table.c.currency,
        table.c.channel,
        table.c.zone,
        table.c.store,
        raw(table.c.valid_from),
        raw(table.c.valid_until),
    )
    if len(skus) >= WHOLE_TABLE_FROM:
        rows = driver_rows(session, statement)
    else:
        rows = [
            row
            for chunk in in_chunks(sorted(skus))
            for row in driver_rows(session, statement.where(table.c.sku.in_(chunk)))
        ]
    return {
        row[0]: PriceLine(
            row[0],
            row[1],
            amount(row[2]),
            row[3],
            row[4],
            row[5],
            row[6],
            valid_from(row[7]),
            valid_until(row[8]),
        )
        for row in rows
    }


def _check_overlaps(
    lines: dict[str, tuple[int, PriceLine]],
    existing: dict[str, PriceLine],
    problems: Problems,
) -> None:
    """The engine rejects two rules of one scope valid at the same instant; so do we, per line."""
    # Most scopes hold one window: keep those in a flat dict, lists only for shared scopes.
    alone: dict[tuple[Any, ...], tuple[Window, object]] = {}
    shared: dict[tuple[Any, ...], list[tuple[Window, object]]] = {}
    for line_number, line in lines.values():
        key = line.scope_key
        entry = (line.window, line_number)
        if key in shared:
            shared[key].append(entry)
        elif key in alone:
            shared[key] = [alone[key], entry]
        else:
            alone[key] = entry
    for rule_id, rule in existing.items():
        if rule_id in lines:
            continue  # this file restates the rule: its row replaces the stored one
        key = (rule.sku, rule.channel, rule.zone, rule.store)
        if key in alone:
            stored = ((rule.valid_from, rule.valid_until), _stored_rule_text(rule))
            shared.setdefault(key, [alone[key]]).append(stored)
    for windows in shared.values():
        clash = first_overlap(windows)
        if clash is None:
            continue
        first, second = clash
        # Blame a line of the file; the other side may be a stored rule.
        blamed, other = (second, first) if isinstance(second, int) else (first, second)
        other_text = f"line {other}" if isinstance(other, int) else str(other)
        assert isinstance(blamed, int)
        problems.add(blamed, f"validity overlaps {other_text} in the same scope")


def _stored_rule_text(rule: PriceLine) -> str:
    """A stored rule as its importer knows it: SKU, scope, validity (not its internal id)."""
    if rule.store is not None:
        scope = f"store {rule.store}"
    elif rule.zone is not None:
        scope = f"zone {rule.zone}"
    else:
        scope = "national"
    if rule.channel is not None:
        scope += f", channel {rule.channel}"

    def instant(value: datetime | None, unbounded: str) -> str:
        if value is None:
            return unbounded
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    since = instant(rule.valid_from, "the beginning")
    until = instant(rule.valid_until, "further notice")
    return (
        f"the stored {rule.sku} price ({scope}, {rule.amount} {rule.currency}) "
        f"valid from {since} until {until}"
    )


def _write(
    session: Session,
    inserts: list[PriceLine],
    updates: list[PriceLine],
    publication_id: int,
    now: datetime,
) -> None:
    table = core_table(PriceRuleRow)
    insert_rows(session, table, [line.as_row(publication_id) for line in inserts])
    update_rows(
        session,
        table,
        key="id",
        rows=[
            {
                "id": line.id,
                "amount": line.amount,
                "currency": line.currency,
                "valid_until": line.valid_until,
                "publication_id": publication_id,
            }
            for line in updates
        ],
    )
    # The record as it is from now on: a past instant is priced with the rules then.
    # Copied from the rules just written, once the updates are in.
    record_stored_rule_versions(
        session,
        [line.id for line in [*inserts, *updates]],
        publication_id=publication_id,
        recorded_at=now,
    )
