"""`esl import products`: product master data, validated by the engine's own `Product`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import IO, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.case_twins import CaseTwins
from esl.db.models import ProductRow
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
    parse_word,
)
from esl.imports.report import ImportReport
from esl.services.amounts import thousands_group_question
from esl.services.ledger_instants import WriteClock, read_instant
from esl.services.product_writes import (
    PRODUCT_FACTS,
    ProductRefusal,
    PublishedAs,
    check_products,
    write_products,
)
from esl.text_lengths import (
    BRAND_LENGTH,
    CATEGORY_LENGTH,
    PRODUCT_NAME_LENGTH,
    SKU_LENGTH,
    WEB_URL_LENGTH,
)
from pricing.errors import PricingError
from pricing.products import NetUnit, Product

__all__ = ["PRODUCT_COLUMNS", "import_products"]

# A product file names a product's facts by their names, after its SKU.
PRODUCT_COLUMNS = ("sku", *PRODUCT_FACTS)
REQUIRED = ("sku", "name", "vat_rate", "net_content", "net_unit", "on_sale_since")
PRODUCT_FILE = CsvFile(
    "product", PRODUCT_COLUMNS, REQUIRED, repeated="sku {key} repeats line {line}"
)
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
            net_unit=NetUnit(parse_word(row.require("net_unit"), "net_unit", list(NetUnit))),
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

    The rules of a product write (a GTIN, a re-used SKU, `on_sale_since`, versions,
    category moves, the labels handed to planning) are `esl.services.product_writes`'s,
    as for `PUT /products/{sku}`; a file that changes a product already on sale is
    recorded as a publication of kind `import`. Every refusal is reported with its line,
    and a file with any changes nothing."""
    stored = set(session.scalars(select(ProductRow.sku)))
    twins = CaseTwins(stored, "SKU")
    parsed = PRODUCT_FILE.parse_rows(
        source,
        lambda row: _parse(row, stored, twins),
        key=lambda product: product.sku,
        time_zone=time_zone,
    )
    problems = parsed.problems

    def refuse(refusals: Sequence[ProductRefusal]) -> NoReturn:
        # Every refusal with its line, beside the lines refused as they were read.
        for refusal in refusals:
            problems.add(parsed.by_key[refusal.sku][0], refusal.reason)
        problems.raise_if_any()
        raise AssertionError("raise_if_any raises once a refusal is added")

    checked = check_products(session, parsed.values(), now=read_instant(now))
    if checked.refusals:
        refuse(checked.refusals)
    problems.raise_if_any()
    # Checked again under the price writers' lock, with the instants already due recorded:
    # what that check refuses is told with its line too, and so is a category move the
    # engine refuses as it is written (a deal of the new category dearer than its price).
    try:
        written = write_products(
            session,
            checked,
            now=now,
            currency=currency,
            published_as=PublishedAs(
                kind="import",
                title=title,
                by=imported_by,
                impact=lambda inserted, updated: {
                    "products_inserted": inserted,
                    "products_updated": updated,
                },
            ),
            refuse=refuse,
        )
    except PricingError as error:
        problems.add_engine_refusal(error, parsed.by_key, field="sku")
        problems.raise_if_any()
        raise
    return parsed.report(
        "products",
        inserted=len(written.inserted),
        updated=len(written.updated),
        publication_id=written.publication_id,
    )
