"""What a SKU may be written with: ASCII letters, digits, `_`, `.` and `-`.

The API names a product in its path (`/products/{sku}`), the promotion file separates
its SKUs with `|`, and URLs carry them: a SKU with a space, a `|`, a `#` or a letter
outside ASCII could be imported from a product file but never read back, changed or
promoted. One definition, shared by the API's path and bodies and by every CSV file that
names SKUs.
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
