"""`esl import promotions`: one row per promotion, lists separated by `|`."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import IO, Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from esl.db.mapping import promotion_target_values, promotion_values
from esl.db.models import PromotionRow, PromotionTargetRow, core_table
from esl.db.repositories import in_chunks, load_catalogue_slice, load_promotions
from esl.decimal_digits import PERCENT_DIGITS
from esl.imports.csv_fields import (
    BadRowError,
    CsvFile,
    CsvRow,
    Problems,
    check_ascii_digits,
    check_lengths,
    check_one_line,
    check_width,
    optional_instant,
    parse_bool,
    parse_currency,
    parse_decimal,
    parse_money_amount,
    parse_word,
)
from esl.imports.ledger_publication import open_import_ledger
from esl.imports.references import ImportReferences, ReferenceKind
from esl.imports.report import ImportReport
from esl.planning_queue import (
    hand_published_change,
    instants_published_ahead,
    later_instants,
    promotion_reach,
)
from esl.promotion_ids import promotion_id_problem
from esl.services.ledger_instants import WriteClock, begin_price_write
from esl.services.ledger_recording import LedgerWriter
from esl.services.ledger_refusals import refusals_in_words
from esl.services.publication_commands import (
    MAX_PROMOTION_COUNT,
    MAX_PROMOTION_PRIORITY,
    MIN_PROMOTION_COUNT,
    MIN_PROMOTION_PRIORITY,
)
from esl.services.rule_versions import record_promotion_versions
from esl.text_lengths import CATEGORY_LENGTH, PROMOTION_ID_LENGTH, PROMOTION_NAME_LENGTH
from pricing.catalogue import Catalogue
from pricing.errors import PricingError
from pricing.money import Money
from pricing.products import Channel
from pricing.promotions import Promotion, PromotionKind

__all__ = ["PROMOTION_COLUMNS", "import_promotions", "promotion_line"]

PROMOTION_COLUMNS = (
    "id",
    "name",
    "kind",
    "skus",
    "categories",
    "channels",
    "zones",
    "stores",
    "percent",
    "amount",
    "currency",
    "quantity",
    "free_quantity",
    "priority",
    "exclusive",
    "valid_from",
    "valid_until",
)
REQUIRED = ("id", "name", "kind")
PROMOTION_FILE = CsvFile(
    "promotion", PROMOTION_COLUMNS, REQUIRED, repeated="id {key} repeats line {line}"
)
LENGTHS = {"id": PROMOTION_ID_LENGTH, "name": PROMOTION_NAME_LENGTH}
# Reached SKUs whose catalogue and ledger are read, planned and written at a time, as a
# price file's (`esl.imports.prices.ENGINE_CHUNK`).
LEDGER_CHUNK = 2_000


def _list(row: CsvRow, column: str) -> frozenset[str]:
    return frozenset(part.strip() for part in row.get(column).split("|") if part.strip())


def _check_item_lengths(column: str, values: frozenset[str], most: int) -> None:
    """Refuse a list item longer than any can be (a category is at most a product's
    category's length), naming the column and the length, as the API does."""
    for value in sorted(values):
        if len(value) > most:
            raise BadRowError(
                f"{column}: {value[:20]!r}... is {len(value)} characters long, at most {most}"
            )


# Digits only, as for amounts: int() also reads "1_0" as 10, "+10", and other scripts'
# digits ("١٠"). A priority may be below zero. Both are held to the API's range, so a
# promotion is lawful through either door, and a count past a 32-bit column is refused
# by its line rather than by the database.
_COUNT = re.compile(r"[0-9]+")
_PRIORITY = re.compile(r"-?[0-9]+")


def _int(
    row: CsvRow,
    column: str,
    *,
    digits: re.Pattern[str] = _COUNT,
    least: int = MIN_PROMOTION_COUNT,
    most: int = MAX_PROMOTION_COUNT,
) -> int | None:
    text = row.get(column)
    if not text:
        return None
    check_ascii_digits(row, (column,))
    if not digits.fullmatch(text):
        written = "digits" if digits is _COUNT else "digits, after a '-' if below zero"
        raise BadRowError(f"{column} {text!r} is not a whole number written in {written}")
    value = int(text)
    if not least <= value <= most:
        raise BadRowError(f"{column} {text} is outside {least}..{most}")
    return value


def promotion_line(row: CsvRow, refs: ImportReferences, currency: str) -> Promotion:
    """A validated promotion from one CSV row."""
    check_width(row)
    check_lengths(row, LENGTHS)
    check_one_line(row, ("name",))
    # The API's rule for a promotion id (`esl.promotion_ids`), so one id names one
    # promotion through either door.
    if id_problem := promotion_id_problem(row.get("id")):
        raise BadRowError(f"id {id_problem}")
    kind = PromotionKind(parse_word(row.require("kind"), "kind", list(PromotionKind)))
    skus, categories = _list(row, "skus"), _list(row, "categories")
    _check_item_lengths("categories", categories, CATEGORY_LENGTH)
    channels = frozenset(
        parse_word(channel, "channel", sorted(refs.channels)) for channel in _list(row, "channels")
    )
    zones, stores = _list(row, "zones"), _list(row, "stores")
    targets: tuple[tuple[ReferenceKind, frozenset[str]], ...] = (
        ("sku", skus),
        ("category", categories),
        ("channel", channels),
        ("zone", zones),
        ("store", stores),
    )
    for kind_name, values in targets:
        # The check a publication's upsert_promotion asks too (`ImportReferences.unknown`).
        refs.refuse_unknown_on_line(kind_name, values)
    # A promotion of one store (no zone) is written on its clock: a time without an
    # offset is told that one's; any other, the installation's.
    clock = refs.clock_of(() if zones else stores, otherwise=row.time_zone)
    amount = None
    if row.get("amount"):
        amount = Money.of(
            parse_money_amount(row, "amount", currency=currency),
            parse_currency(row, "currency", expected=currency),
        )
    try:
        return Promotion(
            id=row.require("id"),
            name=row.require("name"),
            kind=kind,
            skus=skus,
            categories=categories,
            channels=frozenset(Channel(c) for c in channels),
            zones=zones,
            stores=stores,
            valid_from=optional_instant(row, "valid_from", time_zone=clock),
            valid_until=optional_instant(row, "valid_until", time_zone=clock),
            priority=_int(
                row,
                "priority",
                digits=_PRIORITY,
                least=MIN_PROMOTION_PRIORITY,
                most=MAX_PROMOTION_PRIORITY,
            )
            or 0,
            exclusive=parse_bool(row, "exclusive"),
            percent=parse_decimal(row, "percent", digits=PERCENT_DIGITS, required=False),
            amount=amount,
            quantity=_int(row, "quantity"),
            free_quantity=_int(row, "free_quantity"),
        )
    except PricingError as error:
        raise BadRowError(error.message) from error


def import_promotions(
    session: Session,
    source: IO[str] | str,
    *,
    currency: str,
    imported_by: str,
    now: WriteClock,
    title: str = "promotion file",
    time_zone: str | None = None,
) -> ImportReport:
    # `now` (a clock) is read once the price writers' lock is held.
    now = begin_price_write(session, now=now, currency=currency)
    refs = ImportReferences(session)
    parsed = PROMOTION_FILE.parse_rows(
        source,
        lambda row: promotion_line(row, refs, currency),
        key=lambda p: p.id,
        time_zone=time_zone,
    )
    problems = parsed.problems
    problems.raise_if_any()

    stored = load_promotions(session, parsed.by_key)
    inserts = [p for p in parsed.values() if p.id not in stored]
    updates = [p for p in parsed.values() if p.id in stored and stored[p.id] != p]
    publication_id = None
    if inserts or updates:
        written = [*inserts, *updates]
        # Read before the updated promotions' targets are rewritten: the labels of a
        # target a promotion no longer names must go back.
        reached = promotion_reach(
            session,
            skus=(sku for p in written for sku in p.skus),
            categories=(category for p in written for category in p.categories),
            promotion_ids=(p.id for p in updates),
        )
        ledger = open_import_ledger(session, title=title, by=imported_by, now=now)
        publication_id = ledger.publication_id
        _record_ledger(
            session,
            written,
            reached,
            lines=parsed.by_key,
            problems=problems,
            currency=currency,
            now=now,
            ledger=ledger,
        )
        problems.raise_if_any()
        hand_published_change(
            session,
            publication_id,
            impact={
                "promotions_inserted": len(inserts),
                "promotions_updated": len(updates),
                **ledger.impact(),
            },
            everywhere=reached,
            later=later_instants(session, promotions=written, after=now),
            now=now,
        )
        write_promotions(session, inserts, updates, publication_id, recorded_at=now)
    return parsed.report(
        "promotions", inserted=len(inserts), updated=len(updates), publication_id=publication_id
    )


def _record_ledger(
    session: Session,
    written: list[Promotion],
    reached: set[str],
    *,
    lines: dict[str, tuple[int, Promotion]],
    problems: Problems,
    currency: str,
    now: datetime,
    ledger: LedgerWriter,
) -> None:
    """Record the ledger entries of the prices the file changes now, as a publication
    records them (the 30-day prior price of a later reduction must see this promotion's
    price), LEDGER_CHUNK reached SKUs at a time, each chunk's written by `ledger` as soon
    as it is planned: a file of category promotions reaches the whole catalogue, whose
    ledger and entries held gigabytes at once. What the engine or the ledger refuses is a
    problem of the line that caused it."""
    instants_ahead = instants_published_ahead(session, after=now)
    first_line: dict[str, int] = {}
    for chunk in in_chunks(sorted(reached), LEDGER_CHUNK):
        base = load_catalogue_slice(session, chunk, currency=currency)
        changed, removed = _in_slice(written, base)
        try:
            after = base.with_changes(promotions=changed, removed_promotion_ids=removed)
        except PricingError as error:
            problems.add_engine_refusal(error, lines, field="promotion_id")
            return
        planned = ledger.plan_and_write(session, base, after, chunk, instants_ahead=instants_ahead)
        if planned.problems:
            first_line.update(_first_lines(lines, after))
    problems.add_sku_refusals(
        refusals_in_words(session, ledger.problems, then="import the file again"), first_line
    )


def _in_slice(written: list[Promotion], base: Catalogue) -> tuple[list[Promotion], list[str]]:
    """The file's promotions as a slice of the catalogue sees them, as the slice holds
    stored ones (`load_catalogue_slice`): those reaching its SKUs, named SKUs outside it
    left out; and the ids of stored ones it holds that the file no longer has reach it."""
    skus = set(base.products)
    categories = {product.category for product in base.products.values()}
    changed: list[Promotion] = []
    removed: list[str] = []
    for promotion in written:
        named = promotion.skus & skus
        if named or promotion.categories & categories:
            changed.append(promotion if named == promotion.skus else replace(promotion, skus=named))
        elif promotion.id in base.promotions:
            removed.append(promotion.id)
    return changed, removed


def _first_lines(lines: dict[str, tuple[int, Promotion]], after: Catalogue) -> dict[str, int]:
    """The SKUs of `after` each line's promotion reaches -> the first such line."""
    first_line: dict[str, int] = {}
    for number, promotion in sorted(lines.values(), reverse=True):
        first_line.update(dict.fromkeys(promotion.skus, number))
        for category in promotion.categories:
            first_line.update(dict.fromkeys(after.skus_in_category(category), number))
    return first_line


def write_promotions(
    session: Session,
    inserts: list[Promotion],
    updates: list[Promotion],
    publication_id: int | None,
    *,
    recorded_at: datetime,
) -> None:
    """Insert new promotions, replace changed ones with their targets; each recorded as it
    is from `recorded_at` on (`promotion_versions`: a past instant is priced with the
    promotions then)."""
    if updates:
        changed = [p.id for p in updates]
        session.execute(
            delete(PromotionTargetRow).where(PromotionTargetRow.promotion_id.in_(changed))
        )
        session.execute(delete(PromotionRow).where(PromotionRow.id.in_(changed)))
    everything = [*inserts, *updates]
    if not everything:
        return
    record_promotion_versions(session, everything, recorded_at=recorded_at)
    rows: list[dict[str, Any]] = [promotion_values(p, publication_id) for p in everything]
    session.execute(insert(core_table(PromotionRow)), rows)
    targets = [t for p in everything for t in promotion_target_values(p)]
    if targets:
        session.execute(insert(core_table(PromotionTargetRow)), targets)
