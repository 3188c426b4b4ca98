"""Writing product master data: the one orchestration of its rules behind both
`PUT /products/{sku}` (one product) and the product file (a batch).

A product is drawn on its labels (name, brand, unit price, the prior price's rules) and
its category carries promotions, so a write is more than a row: a stored product's GTIN
may not be another's, a re-used SKU starts its ledger anew, `on_sale_since` is not moved
past what the ledger shows sold, each product created or changed gets a version, a move
to another category enters the Omnibus ledger, and the labels it reaches are handed to
planning now and at its categories' promotions' later starts and ends. Written once here,
so a product is accepted, versioned, moved and replanned the same whichever way it came.

In two steps, so a caller reports a refusal its own way (the API its first as an HTTP
error, the file every one with its line, beside its own parsing problems):
`check_products` reads what the rules need and says what they refuse, and
`write_products` writes what was checked, when nothing was refused.

A write that changes anything is a price writer, decided before it knows whether it
moves a product: its row sets the category, and another writer may have moved the
product since it was read (back into a promoted category is a move too). So
`write_products` takes the price writers' lock first and reads the stored products again
under it: what it writes, moves and records in the ledger is computed from that read,
and checked again. Another writer may have changed them meanwhile, and the ledger may
show more sold than the check saw: the instants already due are recorded only under the
lock (a launch price whose entry the controller had not written yet, stopped or between
two polls), and another writer's prices may have come in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows, update_rows
from esl.db.mapping import product_values
from esl.db.models import ProductRow, core_table
from esl.db.repositories.chunks import in_chunks
from esl.errors import ConflictError, InvalidItemError
from esl.planning_queue import category_promotion_instants, record_published_change
from esl.services.ledger_instants import WriteClock, begin_price_write
from esl.services.product_codes import gtin_clashes
from esl.services.products import (
    on_sale_since_refusals,
    record_category_moves,
    record_product_versions,
    sku_reuses,
)
from esl.services.recording_start import recorded_since_of_an_earlier_start
from pricing.products import Product

__all__ = [
    "PRODUCT_FACTS",
    "ProductChecks",
    "ProductRefusal",
    "ProductWrites",
    "PublishedAs",
    "check_products",
    "refuse_first",
    "write_products",
]

# The facts a product's labels and prices depend on: a stored product whose facts the
# write leaves as they are is unchanged (not versioned, not replanned).
PRODUCT_FACTS = (
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


@dataclass(frozen=True, slots=True)
class ProductRefusal:
    """Why a product is refused, and the fact it is refused for: `gtin` (another product
    holds it: a conflict) or `on_sale_since` (moved past what the ledger shows sold)."""

    sku: str
    field: str
    reason: str

    @property
    def conflict(self) -> bool:
        return self.field == "gtin"


def refuse_first(refusals: Sequence[ProductRefusal]) -> NoReturn:
    """The first of `refusals` as an API error: ConflictError for a GTIN another product
    holds, else InvalidItemError naming the field and the SKU."""
    refusal = refusals[0]
    if refusal.conflict:
        raise ConflictError(refusal.reason, field=refusal.field)
    raise InvalidItemError(refusal.reason, field=refusal.field, sku=refusal.sku)


@dataclass(frozen=True, slots=True)
class ProductChecks:
    """Products as they are to be written (`products` rows, each with its `ledger_since`),
    the stored facts of those already stored, and the refusals: GTIN clashes first, then
    `on_sale_since` ones, as they are found; `products`, as given, to check again."""

    values: dict[str, dict[str, Any]]
    stored: dict[str, dict[str, Any]]
    refusals: list[ProductRefusal] = field(default_factory=list)
    products: tuple[Product, ...] = ()


@dataclass(frozen=True, slots=True)
class PublishedAs:
    """How a write that reaches labels is recorded as a publication: its kind, title and
    author, and its impact given the counts of products inserted and updated."""

    kind: str
    title: str
    by: str
    impact: Callable[[int, int], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ProductWrites:
    """The SKUs inserted and updated (the others were as given), and the publication that
    handed their labels to planning, if any."""

    inserted: list[str]
    updated: list[str]
    publication_id: int | None


def check_products(
    session: Session, products: Sequence[Product], *, now: datetime
) -> ProductChecks:
    """The rules `products` (one per SKU, already valid as the engine's `Product`, each
    SKU's spelling and case checked where it was read) are held to against what is stored,
    at the clock reading `now`."""
    stored = _stored_facts(session, [p.sku for p in products])
    values = {p.sku: product_values(p) for p in products}
    refusals: list[ProductRefusal] = []
    # A scanned barcode binds a label to the product it names: one GTIN, one product,
    # whether another holds it already or another product of this batch gives it too.
    clashes = gtin_clashes(session, {sku: str(v["gtin"] or "") for sku, v in values.items()})
    refusals += [ProductRefusal(sku, "gtin", reason) for sku, reason in clashes.items()]
    # A SKU re-used for another product (its GTIN, on sale after the old one sold) starts
    # its ledger then; any other product (one not sold yet, its launch postponed) keeps
    # the start it has (a new one has none).
    reused = sku_reuses(
        session,
        {sku: (str(v["gtin"] or ""), v["on_sale_since"]) for sku, v in values.items()},
        {sku: (facts["gtin"], facts["on_sale_since"]) for sku, facts in stored.items()},
        now=now,
    )
    for sku, v in values.items():
        v["ledger_since"] = reused.get(sku, stored.get(sku, {}).get("ledger_since"))
        # Kept as first recorded: a new product's is set at its write (`write_products`).
        v["recorded_since"] = stored.get(sku, {}).get("recorded_since")
    # The 30-day prior price counts the ledger from `on_sale_since`: a stored product's
    # date is not moved past prices the ledger shows it charged (its own prices).
    late = on_sale_since_refusals(
        session,
        {sku: v["on_sale_since"] for sku, v in values.items() if sku not in reused},
        {sku: facts["on_sale_since"] for sku, facts in stored.items()},
        now=now,
    )
    refusals += [ProductRefusal(sku, "on_sale_since", reason) for sku, reason in late.items()]
    return ProductChecks(values=values, stored=stored, refusals=refusals, products=tuple(products))


def write_products(
    session: Session,
    checked: ProductChecks,
    *,
    now: WriteClock,
    currency: str,
    published_as: PublishedAs,
    refuse: Callable[[Sequence[ProductRefusal]], NoReturn] = refuse_first,
) -> ProductWrites:
    """Insert the new products of `checked` (refusing none), update the changed ones,
    leave identical ones alone; the caller commits.

    A product changed is handed to planning everywhere, recorded as a publication
    (`published_as`); a new SKU has no label yet. A product moved to another category
    enters the Omnibus ledger at the write's instant where that changed its price
    (`currency`: the ledger's); one moved or created in a category is queued at its
    promotions' later starts and ends, which change its price too.

    A write that changes anything is a price writer (`begin_price_write`), and writes
    `checked` as the products and the ledger are once it holds the lock, checked again:
    ConflictError for a product another writer changed since that the rules now refuse
    (sent again, it is checked afresh), and `refuse` (the caller's way of telling a
    refusal; by default the API's, `refuse_first`) for the others the rules now refuse,
    such as an `on_sale_since` past a price that was due but not yet recorded."""
    assert not checked.refusals, "write_products of refused products"
    if not any(_changes(checked.values, checked.stored)):
        # Nothing to write as read: ordered before any writer that changed them since.
        return ProductWrites(inserted=[], updated=[], publication_id=None)
    # A price writer whatever it changes: a product's row sets its category, and one read
    # in its category may have been moved out since (a concurrent write), so writing the
    # category as read moves it back. Known only under the lock: the instants already due
    # are recorded in the categories that stood then, the clock is read once the lock is
    # held, and the stored products are read again (one read per write, not per row).
    at = begin_price_write(session, now=now, currency=currency)
    checked = _checked_again(session, checked, now=at, refuse=refuse)
    stored = checked.stored
    inserts, updates = _changes(checked.values, stored)
    # SKU -> its new and old category, of the products moved to another one.
    moves = {
        str(v["sku"]): {v["category"], stored[v["sku"]]["category"]}
        for v in updates
        if v["category"] != stored[v["sku"]]["category"]
    }
    # Products put into (or taken out of) a category: its promotions' later starts and
    # ends change their prices too.
    later = category_promotion_instants(
        session, {**{str(v["sku"]): {v["category"]} for v in inserts}, **moves}, after=at
    )
    publication_id = None
    if updates or later:
        publication_id = record_published_change(
            session,
            kind=published_as.kind,
            title=published_as.title,
            by=published_as.by,
            now=at,
            impact=published_as.impact(len(inserts), len(updates)),
            everywhere=[str(v["sku"]) for v in updates],
            later=later,
        )
    # Since when this installation records a new product's prices: a product on sale
    # before then sold at prices its ledger does not hold (`pricing.ledger`'s
    # `sold_before_its_ledger`), unless imported history gives them.
    for v in inserts:
        v["recorded_since"] = at
    for v in updates:
        v["recorded_since"] = recorded_since_of_an_earlier_start(
            stored[v["sku"]]["recorded_since"],
            start=v["on_sale_since"],
            stored_start=stored[v["sku"]]["on_sale_since"],
            at=at,
        )
    table = core_table(ProductRow)
    insert_rows(session, table, inserts)
    update_rows(session, table, key="sku", rows=updates)
    # Each product as it is from now on: a past instant is priced with it as it was then.
    record_product_versions(session, [*inserts, *updates], valid_from=at)
    if moves:
        # The Omnibus ledger: their prices changed at the move, in every store and channel.
        record_category_moves(
            session,
            {sku: stored[sku]["category"] for sku in moves},
            at=at,
            currency=currency,
            publication_id=publication_id,
        )
    return ProductWrites(
        inserted=[str(v["sku"]) for v in inserts],
        updated=[str(v["sku"]) for v in updates],
        publication_id=publication_id,
    )


def _changes(
    values: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of `values` to insert (not stored) and to update (a fact differs)."""
    inserts = [v for sku, v in values.items() if sku not in stored]
    updates = [
        v
        for sku, v in values.items()
        if sku in stored and any(v[n] != stored[sku][n] for n in PRODUCT_FACTS)
    ]
    return inserts, updates


def _checked_again(
    session: Session,
    checked: ProductChecks,
    *,
    now: datetime,
    refuse: Callable[[Sequence[ProductRefusal]], NoReturn],
) -> ProductChecks:
    """`checked` checked again as the products and the ledger are now, under the price
    writers' lock: the ledger may show a product sold earlier than the first check read
    (the instants already due, recorded just now), which bounds its `on_sale_since` and
    decides whether its SKU is re-used. A product another writer changed since and the
    rules now refuse is a conflict (sent again, it is checked afresh); the other refusals
    go to `refuse`, every one, as the first check's would."""
    again = check_products(session, checked.products, now=now)
    for refusal in again.refusals:
        if again.stored.get(refusal.sku) != checked.stored.get(refusal.sku):
            raise ConflictError(
                f"product {refusal.sku} was changed by another writer while this write was "
                f"checked, and is now refused: {refusal.reason}",
                field=refusal.field,
                sku=refusal.sku,
            )
    if again.refusals:
        refuse(again.refusals)
    return again


def _stored_facts(session: Session, skus: Sequence[str]) -> dict[str, dict[str, Any]]:
    """SKU -> its stored facts, `ledger_since` and `recorded_since`, of the `skus` stored."""
    table = core_table(ProductRow)
    kept = (*PRODUCT_FACTS, "ledger_since", "recorded_since")
    columns = [table.c.sku, *(table.c[name] for name in kept)]
    return {
        row.sku: {name: getattr(row, name) for name in kept}
        for chunk in in_chunks(sorted(skus))
        for row in session.execute(select(*columns).where(table.c.sku.in_(chunk)))
    }
