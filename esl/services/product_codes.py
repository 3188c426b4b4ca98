"""Finding a product by what a person has in hand: its SKU, or the EAN/GTIN a barcode
scanner types (a scanner reads EAN-13; the store of record may hold it as a 14-digit GTIN
with a leading zero)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from esl.db.models import ProductRow
from esl.errors import NotFoundError

__all__ = ["product_by_code"]


def product_by_code(session: Session, code: str) -> ProductRow:
    """The product whose SKU or GTIN is `code`; NotFoundError naming the code otherwise."""
    code = code.strip()
    if not code:
        raise NotFoundError("product", "(empty code)")
    by_sku = session.get(ProductRow, code)
    if by_sku is not None:
        return by_sku
    if code.isdigit():
        padded = code.zfill(14)
        found = session.scalar(
            select(ProductRow)
            .where(
                or_(
                    ProductRow.gtin == code,
                    ProductRow.gtin == padded,
                    ProductRow.gtin == code.lstrip("0"),
                )
            )
            .order_by(ProductRow.sku)
            .limit(1)
        )
        if found is not None:
            return found
    raise NotFoundError("product with SKU or EAN", code)
