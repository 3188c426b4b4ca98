"""Finding a product by what a person has in hand: its SKU, or the EAN/GTIN a barcode
scanner types (a scanner reads EAN-13; the store of record may hold it as a 14-digit GTIN
with a leading zero). A GTIN names one product: a scan must never pick one of two."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import ProductRow
from esl.decimal_digits import foreign_digits_problem
from esl.errors import ConflictError, InvalidItemError, NotFoundError
from pricing.gtin import GTIN_LENGTHS

__all__ = ["gtin_clashes", "gtin_forms", "gtin_key", "product_by_code"]

# Up to this many GTINs are looked up by value; a larger file reads every stored GTIN once.
_LOOKED_UP_ONE_BY_ONE = 300


def gtin_key(gtin: str) -> str:
    """One key for every form of one code: zero-padded to 14 digits (an EAN-13 and the
    same code written as a GTIN-14 with a leading zero are the same product's)."""
    return gtin.zfill(14)


def gtin_forms(code: str) -> list[str]:
    """Every way one GTIN may be written and stored: 8, 12, 13 or 14 digits, with as
    many leading zeros as that takes (a UPC-A scanned as 12 digits, stored as EAN-13)."""
    digits = code.lstrip("0")
    return sorted(
        {code, *(digits.zfill(length) for length in GTIN_LENGTHS if len(digits) <= length)}
    )


def product_by_code(session: Session, code: str) -> ProductRow:
    """The product whose SKU or GTIN is `code`; NotFoundError naming the code otherwise,
    ConflictError when the code is the GTIN of more than one product (stored before
    GTINs were checked), or one product's SKU and another's GTIN (a chain's digit-only
    article numbers: a scanned EAN-8 may spell another product's SKU): the scan is
    refused rather than bound to either. A code in other digits than 0-9 (a fullwidth
    EAN, '５９０...') that is no stored SKU is InvalidItemError: it is no barcode's, and
    is not read as the EAN it spells."""
    code = code.strip()
    if not code:
        raise NotFoundError("product", "(empty code)")
    by_sku = session.get(ProductRow, code)
    if by_sku is None and (problem := foreign_digits_problem(code)):
        raise InvalidItemError(f"code {problem}", field="code")
    if not code.isascii() or not code.isdigit():
        if by_sku is not None:
            return by_sku
        raise NotFoundError("product with SKU or EAN", code)
    found = session.scalars(
        select(ProductRow).where(ProductRow.gtin.in_(gtin_forms(code))).order_by(ProductRow.sku)
    ).all()
    if by_sku is not None:
        # Only a code of a barcode's length can be a scan of another product's EAN: a
        # 7-digit SKU typed in spells no EAN-8, whatever its zero-padded forms match.
        others = [
            product.sku
            for product in found
            if product.sku != by_sku.sku and len(code) in GTIN_LENGTHS
        ]
        if others:
            raise ConflictError(
                f"{code} is product {by_sku.sku}'s SKU and the EAN of {', '.join(others)}: "
                "a scan cannot tell them apart; "
                + (
                    f"bind {by_sku.sku} by its EAN {by_sku.gtin} or the other by its SKU"
                    if by_sku.gtin
                    else f"bind the other by its SKU, and give {by_sku.sku} its EAN or another SKU"
                ),
                field="code",
                skus=[by_sku.sku, *others],
            )
        return by_sku
    if len(found) > 1:
        skus = ", ".join(product.sku for product in found)
        raise ConflictError(
            f"EAN {code} is the GTIN of more than one product ({skus}): bind by SKU, "
            "and give each product its own GTIN",
            field="code",
            skus=[product.sku for product in found],
        )
    if found:
        return found[0]
    raise NotFoundError("product with SKU or EAN", code)


def gtin_clashes(session: Session, gtins: Mapping[str, str]) -> dict[str, str]:
    """Of `gtins` (SKU -> GTIN, "" for none: products about to be written), each SKU
    whose GTIN another product would then hold too, with the reason. The others are the
    products stored and not in `gtins` (theirs are replaced)."""
    holders: dict[str, list[str]] = {}
    statement = select(ProductRow.sku, ProductRow.gtin).where(ProductRow.gtin != "")
    wanted = {gtin for gtin in gtins.values() if gtin}
    if len(wanted) <= _LOOKED_UP_ONE_BY_ONE:
        # A product or a few (PUT /products): only their codes, in each written form.
        forms = {form for gtin in wanted for form in gtin_forms(gtin)}
        statement = statement.where(ProductRow.gtin.in_(sorted(forms)))
    stored = session.execute(statement).all()
    for sku, gtin in stored:
        if sku not in gtins and gtin:
            holders.setdefault(gtin_key(gtin), []).append(sku)
    for sku, gtin in gtins.items():
        if gtin:
            holders.setdefault(gtin_key(gtin), []).append(sku)
    clashes: dict[str, str] = {}
    for sku, gtin in gtins.items():
        holding = holders.get(gtin_key(gtin), []) if gtin else []
        others = [other for other in holding if other != sku]
        if others:
            clashes[sku] = (
                f"GTIN {gtin} is also product {', '.join(sorted(others))}'s: a scanned "
                "barcode must name one product"
            )
    return clashes
