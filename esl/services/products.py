"""Products: ones moved to another category, whose prices are then also their new
category's promotions' (and no longer their old one's); each product's facts from an
instant on (`product_versions`), what a past instant prices it with; and the date a
product went on sale, which may be put right later only up to the first price the ledger
shows it charged (`on_sale_since_refusals`) and which imported history moves back
(`on_sale_since_history`), unless the SKU is re-used for another product, whose ledger
starts then (`sku_reuses`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import LedgerEntryRow, ProductRow, ProductVersionRow, core_table
from esl.db.repositories.chunks import in_chunks
from esl.services.ledger_recording import record_moved_keys
from esl.services.product_codes import gtin_key
from pricing.ledger import LedgerEntry

__all__ = [
    "CATEGORY_MOVE_SOURCE",
    "on_sale_since_history",
    "on_sale_since_refusals",
    "record_category_moves",
    "record_product_versions",
    "sku_reuses",
]

CATEGORY_MOVE_SOURCE = "product"
CATEGORY_MOVE_CHUNK = 500  # SKUs per catalogue read: x stores x channels keys each


def record_category_moves(
    session: Session,
    categories_before: Mapping[str, str],
    *,
    at: datetime,
    currency: str,
    publication_id: int | None,
) -> list[LedgerEntry]:
    """After the products of `categories_before` (SKU -> its category before) moved to
    other categories (flushed): the ledger entries, at `at`, of every key of those products
    (each store and channel) whose applied price the move changed: a promotion of a
    category reduces every product in it. A move putting a product under a promotion that
    would sell it above a regular price is refused (`record_moved_keys`)."""
    return record_moved_keys(
        session,
        categories_before,
        stores=None,
        at=at,
        currency=currency,
        source=CATEGORY_MOVE_SOURCE,
        publication_id=publication_id,
        chunk=CATEGORY_MOVE_CHUNK,
        categories_before=categories_before,
    )


def record_product_versions(
    session: Session, products: Iterable[Mapping[str, Any]], *, valid_from: datetime
) -> None:
    """Record each of `products` (`products` rows: `esl.db.mapping.product_values`) as it
    is from `valid_from` on; a version of it already recorded at that very instant
    (changed twice at one reading of the clock) is replaced."""
    table = core_table(ProductVersionRow)
    rows = [{**values, "valid_from": valid_from} for values in products]
    for chunk in in_chunks(sorted(str(row["sku"]) for row in rows)):
        session.execute(
            delete(table).where(table.c.sku.in_(chunk), table.c.valid_from == valid_from)
        )
    insert_rows(session, table, rows)


def sku_reuses(
    session: Session,
    given: Mapping[str, tuple[str, datetime]],
    stored: Mapping[str, tuple[str | None, datetime]],
    *,
    now: datetime,
) -> dict[str, datetime]:
    """Of the products of `given` (SKU -> its GTIN and `on_sale_since`), the stored ones
    (`stored`: SKU -> its GTIN and `on_sale_since`) whose SKU is re-used for another
    product: SKU -> its `ledger_since`, the new `on_sale_since`, or now if that is
    earlier (prices loaded ahead of the launch after the change are the new product's).

    Re-used: given another GTIN than the stored one (both given) and an `on_sale_since`
    later than when the ledger shows the stored product sold (`_sold_from`), which
    `on_sale_since_refusals` would otherwise refuse. A GTIN names a trade item, so a new
    GTIN going on sale after the old one sold is another product. A product that has not
    sold yet (a launch not yet come, its price loaded ahead) is still the same one when
    its launch is postponed, its GTIN corrected or not: the price loaded ahead is the
    one it goes on sale at and stays in its ledger. A GTIN changed alone is the same goods
    relabelled, and a later date alone the same product's. A product without a GTIN,
    before or now, cannot be told from a correction: its SKU is never taken as re-used
    (docs/pricing.md, Re-used SKUs)."""
    candidates: dict[str, datetime] = {}
    for sku, (gtin, on_sale_since) in given.items():
        if sku not in stored:
            continue
        stored_gtin, stored_since = stored[sku]
        # One code in another form (an EAN-13 given as a GTIN-14) names the same goods.
        another = bool(gtin and stored_gtin) and gtin_key(gtin) != gtin_key(stored_gtin or "")
        if another and on_sale_since > stored_since:
            candidates[sku] = stored_since
    sold_from = _sold_from(session, candidates, now=now)
    return {
        sku: min(given[sku][1], now)
        for sku, first_sold in sold_from.items()
        if given[sku][1] > first_sold
    }


def _sold_from(
    session: Session, stored: Mapping[str, datetime], *, now: datetime
) -> dict[str, datetime]:
    """Of the products of `stored` (SKU -> its stored `on_sale_since`), those the ledger
    shows sold by `now`: SKU -> from when, the later of its first price (any store and
    channel; a withdrawal charged nothing) and its stored `on_sale_since`. A price loaded
    ahead of a launch not yet come sold nothing; a product never priced sold nothing."""
    sold: dict[str, datetime] = {}
    for chunk in in_chunks(sorted(stored)):
        for sku, first_price in session.execute(
            select(LedgerEntryRow.sku, func.min(LedgerEntryRow.effective_at))
            .where(LedgerEntryRow.sku.in_(chunk), LedgerEntryRow.amount.is_not(None))
            .group_by(LedgerEntryRow.sku)
        ):
            first_sold = max(first_price, stored[sku])
            if first_sold <= now:
                sold[sku] = first_sold
    return sold


def on_sale_since_refusals(
    session: Session,
    given: Mapping[str, datetime],
    stored: Mapping[str, datetime],
    *,
    now: datetime,
) -> dict[str, str]:
    """Of the products of `given` (SKU -> the `on_sale_since` it is given), those whose
    stored one (`stored`: SKU -> it, of the products stored) it moves later than the first
    instant the ledger shows the product sold (`_sold_from`): SKU -> why it is refused. A
    price loaded ahead of a launch sold nothing, so a launch not yet come may be postponed
    (docs/pricing.md, New products). The 30-day prior price ignores the ledger before a
    product's `on_sale_since`, so a move past what was sold would drop prices it was sold
    at from it. A new product, and an earlier or unchanged date (a correction), always
    stand; so does a SKU re-used for another product, which its callers leave out of
    `given` (`sku_reuses`)."""
    later = {sku: stored[sku] for sku, at in given.items() if sku in stored and at > stored[sku]}
    return {
        sku: (
            f"product {sku}: on_sale_since {given[sku].isoformat()} is after "
            f"{first_sold.isoformat()}, from when the ledger shows it sold: it was "
            "on sale then; on_sale_since can be moved later only up to that "
            "(a SKU re-used for another product takes that product's own GTIN)"
        )
        for sku, first_sold in _sold_from(session, later, now=now).items()
        if given[sku] > first_sold
    }


def on_sale_since_history(
    session: Session, priced: Mapping[str, Iterable[datetime]], *, now: datetime
) -> list[str]:
    """Move back the `on_sale_since` of each product of `priced` (SKU -> the instants of
    its prices imported as history) put on sale after its earliest: the history proves it
    was sold then, and the 30-day prior price counts the ledger only from that date. A
    price from before a re-used SKU's `ledger_since` was another product's and proves
    nothing of this one. Each product moved gets a version from `now` on. The SKUs moved
    back."""
    ledger_since: dict[str, datetime | None] = {}
    for chunk in in_chunks(sorted(priced)):
        for sku, since in session.execute(
            select(ProductRow.sku, ProductRow.ledger_since).where(
                ProductRow.sku.in_(chunk), ProductRow.ledger_since.is_not(None)
            )
        ):
            ledger_since[sku] = since
    moved: list[str] = []
    for sku, instants in sorted(priced.items()):
        since = ledger_since.get(sku)
        own = [at for at in instants if since is None or at >= since]
        if not own:
            continue
        moved.extend(
            session.scalars(
                update(ProductRow)
                .where(ProductRow.sku == sku, ProductRow.on_sale_since > min(own))
                .values(on_sale_since=min(own))
                .returning(ProductRow.sku)
            )
        )
    if moved:
        table = core_table(ProductRow)
        versions = [
            dict(row._mapping)
            for chunk in in_chunks(moved)
            for row in session.execute(select(table).where(table.c.sku.in_(chunk)))
        ]
        record_product_versions(session, versions, valid_from=now)
    return moved
