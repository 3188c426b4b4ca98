"""CSV price, promotion, product and history files: validated whole, written all or nothing.

The formats are documented in docs/csv-formats.md.
"""

from esl.imports.history import import_history
from esl.imports.price_export import export_prices
from esl.imports.prices import import_prices
from esl.imports.products import import_products
from esl.imports.promotions import import_promotions
from esl.imports.report import ImportReport

__all__ = [
    "ImportReport",
    "export_prices",
    "import_history",
    "import_prices",
    "import_products",
    "import_promotions",
]
