"""`esl import products`: product master data, validated by the engine's own `Product`."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.case_twins import CaseTwins
from esl.db.bulk import insert_rows, update_rows
from esl.db.mapping import product_values
from esl.db.models import ProductRow, core_table
from esl.decimal_digits import NET_CONTENT_DIGITS, VAT_RATE_DIGITS
from esl.imports.csv_fields import (
    BadRowError,
    CsvFile,
    CsvRow,
    check_ascii_digits,
    check_lengths,
    check_new_sku,
    check_one_line,
    check_width,
    hint_decimal_sign,
    parse_bool,
    parse_decimal,
    parse_instant,
)
from esl.imports.report import ImportReport
from esl.planning_queue import category_promotion_instants, record_published_change
from esl.services.amounts import thousands_group_question
from esl.services.ledger_instants import WriteClock, begin_price_write, read_instant
from esl.services.product_codes import gtin_clashes
from esl.services.products import (
    on_sale_since_refusals,
    record_category_moves,
    record_product_versions,
    sku_reuses,
)
from esl.text_lengths import (
    BRAND_LENGTH,
    CATEGORY_LENGTH,
    PRODUCT_NAME_LENGTH,
    SKU_LENGTH,
    WEB_URL_LENGTH,
)
from pricing.errors import PricingError
from pricing.products import Product

__all__ = ["PRODUCT_COLUMNS", "import_products"]

PRODUCT_COLUMNS = (
    "sku",
    "name",
    "brand",
    "gtin",
    "category",
    "vat_rate",
    "net_content",
    "net_unit",
    "perishable",
    "on_sale_since",
    "web_url",
    "unit_price_per_100",
)
REQUIRED = ("sku", "name", "vat_rate", "net_content", "net_unit", "on_sale_since")
PRODUCT_FILE = CsvFile(
    "product", PRODUCT_COLUMNS, REQUIRED, repeated="sku {key} repeats line {line}"
)
FIELDS = (*PRODUCT_COLUMNS[1:],)
LENGTHS = {
    "sku": SKU_LENGTH,
    "name": PRODUCT_NAME_LENGTH,
    "brand": BRAND_LENGTH,
    "category": CATEGORY_LENGTH,
    "web_url": WEB_URL_LENGTH,
}


def _parse(row: CsvRow, stored: Collection[str], twins: CaseTwins) -> Product:
    """The row's product; `stored`: the SKUs stored already, which keep their spelling;
    `twins`: those and the file's earlier lines, which a new SKU may not differ from only
    in case."""
    check_width(row)
    check_lengths(row, LENGTHS)
    check_one_line(row, ("name", "brand", "category", "web_url"))
    # Its other numbers are refused so by `parse_decimal`.
    check_ascii_digits(row, ("gtin",))
    vat_rate = parse_decimal(row, "vat_rate", digits=VAT_RATE_DIGITS)
    net_content = _net_content(row)
    try:
        product = Product(
            sku=_sku(row, stored),
            name=row.require("name"),
            brand=row.get("brand"),
            gtin=row.get("gtin"),
            category=row.get("category"),
            vat_rate=vat_rate,  # type: ignore[arg-type]
            net_content=net_content,  # type: ignore[arg-type]
            net_unit=row.require("net_unit"),  # type: ignore[arg-type]
            perishable=parse_bool(row, "perishable"),
            on_sale_since=parse_instant(
                row.require("on_sale_since"), "on_sale_since", time_zone=row.time_zone
            ),
            web_url=row.get("web_url") or None,
            unit_price_per_100=parse_bool(row, "unit_price_per_100"),
        )
    except PricingError as error:
        raise BadRowError(error.message) from error
    # Checked last: a line refused for another reason claims no SKU.
    if twin := twins.refusal(product.sku, row.line):
        raise BadRowError(twin)
    return product


def _net_content(row: CsvRow) -> Decimal | None:
    """The net content as written, refused where it reads as a thousands group: in de_DE
    and de_AT the dot groups thousands, and a German file's "1.000" g (a kilogram) was
    read as 1 g, so its label's Grundpreis was a thousand times too high."""
    net_content = parse_decimal(row, "net_content", digits=NET_CONTENT_DIGITS)
    if net_content is not None:
        text = row.require("net_content")
        question = thousands_group_question(net_content, decimal_sign=hint_decimal_sign(text))
        if question is not None:
            raise BadRowError(f"net_content {text!r}: {question}")
    return net_content


def _sku(row: CsvRow, stored: Collection[str]) -> str:
    sku = row.require("sku")
    # A product stored before the spelling rule is updated under its SKU; a new one is
    # spelled as the API can name it.
    return sku if sku in stored else check_new_sku(sku)


def import_products(
    session: Session,
    source: IO[str] | str,
    *,
    imported_by: str,
    now: WriteClock,
    currency: str,
    title: str = "product file",
    time_zone: str | None = None,
) -> ImportReport:
    """Insert new SKUs, update changed ones, leave identical ones alone; the caller commits.

    Product data is drawn on labels (name, brand, unit price, the prior price's rules):
    a file that changes a product already on sale is recorded as a publication, handed
    to planning with the changed SKUs. A new SKU has no label yet. A product moved to
    another category enters the Omnibus ledger at `now` where that changed its price
    (`currency`: the ledger's); one moved or created in a category is queued at its
    promotions' later starts and ends, which change its price too."""
    table = core_table(ProductRow)
    existing = {
        r.sku: {name: getattr(r, name) for name in FIELDS}
        for r in session.execute(select(*[table.c[c] for c in PRODUCT_COLUMNS]))
    }
    ledger_since: dict[str, datetime] = dict(
        session.execute(
            select(table.c.sku, table.c.ledger_since).where(table.c.ledger_since.is_not(None))
        ).all()
    )
    twins = CaseTwins(existing, "SKU")
    parsed = PRODUCT_FILE.parse_rows(
        source,
        lambda row: product_values(_parse(row, existing, twins)),
        key=lambda v: str(v["sku"]),
        time_zone=time_zone,
    )
    problems = parsed.problems
    # A scanned barcode binds a label to the product it names: one GTIN, one product,
    # whether another holds it already or another line of this file gives it too.
    clashes = gtin_clashes(
        session, {sku: str(v["gtin"] or "") for sku, (_, v) in parsed.by_key.items()}
    )
    for sku, reason in clashes.items():
        problems.add(parsed.by_key[sku][0], reason)
    checked_at = read_instant(now)
    # A SKU re-used for another product (its GTIN, on sale after the old one sold) starts
    # its ledger then; any other product (one not sold yet, its launch postponed) keeps
    # the start it has.
    reused = sku_reuses(
        session,
        {sku: (str(v["gtin"] or ""), v["on_sale_since"]) for sku, (_, v) in parsed.by_key.items()},
        {sku: (facts["gtin"], facts["on_sale_since"]) for sku, facts in existing.items()},
        now=checked_at,
    )
    for sku, (_, values) in parsed.by_key.items():
        values["ledger_since"] = reused.get(sku, ledger_since.get(sku))
    # The 30-day prior price counts the ledger from `on_sale_since`: a stored product's
    # date is not moved past prices the ledger shows it charged (its own prices).
    late = on_sale_since_refusals(
        session,
        {sku: v["on_sale_since"] for sku, (_, v) in parsed.by_key.items() if sku not in reused},
        {sku: facts["on_sale_since"] for sku, facts in existing.items()},
        now=checked_at,
    )
    for sku, reason in late.items():
        problems.add(parsed.by_key[sku][0], reason)
    problems.raise_if_any()

    inserts = [v for v in parsed.values() if v["sku"] not in existing]
    updates = [
        v
        for v in parsed.values()
        if v["sku"] in existing and {n: v[n] for n in FIELDS} != existing[v["sku"]]
    ]
    # SKU -> its new and old category, of the products the file moves to another one.
    moves = {
        str(v["sku"]): {v["category"], existing[v["sku"]]["category"]}
        for v in updates
        if v["category"] != existing[v["sku"]]["category"]
    }
    moved = list(moves)
    # A price writer when it moves products (categories carry promotions): the instants
    # already due are recorded in the categories that stood then, and the clock is read
    # once the lock is held.
    now = begin_price_write(session, now=now, currency=currency) if moved else read_instant(now)
    # Products put into (or taken out of) a category: its promotions' later starts and
    # ends change their prices too.
    later = category_promotion_instants(
        session,
        {**{str(v["sku"]): {v["category"]} for v in inserts}, **moves},
        after=now,
    )
    publication_id = None
    if updates or later:
        publication_id = record_published_change(
            session,
            kind="import",
            title=title,
            by=imported_by,
            now=now,
            impact={"products_inserted": len(inserts), "products_updated": len(updates)},
            everywhere=[v["sku"] for v in updates],
            later=later,
        )
    insert_rows(session, table, inserts)
    update_rows(
        session,
        table,
        key="sku",
        rows=[
            {"sku": v["sku"], **{n: v[n] for n in FIELDS}, "ledger_since": v["ledger_since"]}
            for v in updates
        ],
    )
    # Each product as it is from now on: a past instant is priced with it as it was then.
    record_product_versions(session, [*inserts, *updates], valid_from=now)
    if moved:
        # The Omnibus ledger: their prices changed at the move, in every store and channel.
        record_category_moves(
            session,
            {sku: existing[sku]["category"] for sku in moved},
            at=now,
            currency=currency,
            publication_id=publication_id,
        )
    return parsed.report(
        "products", inserted=len(inserts), updated=len(updates), publication_id=publication_id
    )
