"""The products as they were at an instant: each one's version valid then
(`product_versions`, written with every product created or changed)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.mapping import product_from_row
from esl.db.models import ProductVersionRow, core_table
from esl.db.repositories.chunks import CHUNK, in_chunks
from pricing.products import Product

__all__ = ["products_as_at"]

_versions = core_table(ProductVersionRow)


def products_as_at(
    session: Session, at: datetime, *, now: datetime, skus: Collection[str] | None = None
) -> dict[str, Product]:
    """SKU -> each product (of `skus`; None: every one) as it was at an instant passed
    (`at` before `now`): its newest version valid from then or before, its category,
    net content and the rest then. A product with no version that early (created since,
    or written without one) is left out: the caller takes it as it is now. For now or
    later, nothing: the products as they are."""
    if at >= now:
        return {}
    query = select(_versions).where(_versions.c.valid_from <= at)
    if skus is None or len(skus) > CHUNK:
        chunks: list[list[str] | None] = [None]
    else:
        chunks = list(in_chunks(sorted(skus)))
    wanted = None if skus is None else set(skus)
    newest: dict[str, Product] = {}
    for chunk in chunks:
        rows = session.execute(
            (query if chunk is None else query.where(_versions.c.sku.in_(chunk))).order_by(
                _versions.c.sku, _versions.c.valid_from
            )
        )
        for row in rows:
            if wanted is None or row.sku in wanted:
                # Ordered by instant: a later version of the product replaces an earlier one.
                newest[row.sku] = product_from_row(row)
    return newest
