"""How long each piece of text a user names may be: its database column's length, and so
the API's limit and the CSV files' too.

One number each, imported by the models, the API's schemas and the importers alike: a
file must not store what the API refuses (SQLite does not enforce a column's length), nor
fail as a whole on PostgreSQL (which does) instead of naming its bad row.
"""

from __future__ import annotations

__all__ = [
    "API_KEY_NAME_LENGTH",
    "BRAND_LENGTH",
    "CATEGORY_LENGTH",
    "PRINCIPAL_LENGTH",
    "PRODUCT_NAME_LENGTH",
    "PROMOTION_ID_LENGTH",
    "PROMOTION_NAME_LENGTH",
    "PUBLICATION_TITLE_LENGTH",
    "SKU_LENGTH",
    "STORE_NAME_LENGTH",
    "WEB_URL_LENGTH",
    "fit_title",
]

SKU_LENGTH = 64
PRODUCT_NAME_LENGTH = 256
BRAND_LENGTH = 128
CATEGORY_LENGTH = 128
WEB_URL_LENGTH = 512
PROMOTION_ID_LENGTH = 64
PROMOTION_NAME_LENGTH = 256
STORE_NAME_LENGTH = 128
PUBLICATION_TITLE_LENGTH = 256
API_KEY_NAME_LENGTH = 128
# Who made a publication or an import (`--by`, an API key's name): publications.created_by.
PRINCIPAL_LENGTH = 128


def fit_title(title: str) -> str:
    """`title` as a publication's title: an import is titled by its uploaded file's name,
    which no one chose to fit a column; a longer one is cut, with an ellipsis, rather
    than failing a good file."""
    if len(title) <= PUBLICATION_TITLE_LENGTH:
        return title
    return title[: PUBLICATION_TITLE_LENGTH - 1] + "…"
