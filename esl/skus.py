"""What a SKU may be written with: ASCII letters, digits, `_`, `.` and `-`.

The API names a product in its path (`/products/{sku}`), the promotion file separates
its SKUs with `|`, and URLs carry them: a SKU with a space, a `|`, a `#` or a letter
outside ASCII could be imported from a product file but never read back, changed or
promoted. One definition, held where a SKU is created: `PUT /products/{sku}` and the
product file, for a SKU not stored yet.

Where a SKU is only referred to (a price, a promotion's target, a binding, a product read
or updated) any stored SKU is taken, so the products stored before this rule ('MLEKO-Ł',
'MLK 2'; no migration renamed them) can still be repriced, ended and bound, and one that
names no product is refused as unknown.
"""

from __future__ import annotations

import re

__all__ = ["SKU_PATTERN", "SKU_SPELLING", "is_sku_text"]

SKU_PATTERN = r"^[A-Za-z0-9_.\-]+$"
SKU_SPELLING = "ASCII letters, digits, '_', '.' and '-' only"
# `$` also matches before a final newline in Python: fullmatch of the characters instead.
_SKU = re.compile(r"[A-Za-z0-9_.\-]+")


def is_sku_text(text: str) -> bool:
    return _SKU.fullmatch(text) is not None
