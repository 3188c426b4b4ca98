"""The data-access layer: every read of the store of record that more than one part of
`esl` needs, in one place (see docs/database.md, "The data-access layer").

- `catalogue`: catalogue slices (one SKU for a quote, many for a publication, an import
  or the audit) and stored promotions, as the engine's values;
- `ledger`: the applied-price ledger for one key, for many SKUs (some channels or
  stores, up to an instant), when a store's current price started and when the amount
  it charges began;
- `stores`: the stores as they were at an instant (their versions then);
- `products`: the products as they were at an instant (their versions then);
- `chunks`: `in_chunks`, the one way to split many values into IN lists or batches;
- `fast_reads`: driver-level reads (`driver_rows`, `raw`, `ColumnReader`) for queries
  that return tens of thousands of rows.

Rows <-> engine values are mapped in `esl.db.mapping`; bulk writes are `esl.db.bulk`.
"""

from __future__ import annotations

from esl.db.repositories.catalogue import (
    load_catalogue_slice,
    load_promotions,
    load_sku_catalogue,
)
from esl.db.repositories.chunks import CHUNK, in_chunks
from esl.db.repositories.fast_reads import ColumnReader, driver_rows, raw
from esl.db.repositories.ledger import (
    StorePriceRun,
    load_key_ledger,
    load_ledger_for_skus,
    store_price_runs,
)
from esl.db.repositories.products import products_as_at
from esl.db.repositories.stores import catalogue_as_at, stores_as_at

__all__ = [
    "CHUNK",
    "ColumnReader",
    "StorePriceRun",
    "catalogue_as_at",
    "driver_rows",
    "in_chunks",
    "load_catalogue_slice",
    "load_key_ledger",
    "load_ledger_for_skus",
    "load_promotions",
    "load_sku_catalogue",
    "products_as_at",
    "raw",
    "store_price_runs",
    "stores_as_at",
]
