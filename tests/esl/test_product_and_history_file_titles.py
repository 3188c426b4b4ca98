"""A product or history file that changes something is recorded as a publication titled by
the uploaded file's name, as a price or promotion file is (docs/api.md, POST /imports;
docs/csv-formats.md). Both were titled "product file" and "history file" whatever their
name, so a pricing manager could not tell in the publication list which upload it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV, START

RENAMED_MILK = PRODUCTS_CSV.replace("Mleko 3.2% 1 l", "Mleko 2% 1 l")
OLDER_MILK_PRICE = (
    "sku,channel,store,effective_at,price,regular_price,currency\n"
    f"MLK-1,store,S01,{(START - timedelta(days=20)).isoformat()},3.59,,PLN\n"
)
WEEKLY_PRICE = (
    "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    "MLK-1,national,,,3.49,PLN,,\n"
)


def _title_of_upload(api: Api, kind: str, name: str, text: str) -> str:
    response = api.client.post(
        f"/api/v1/imports/{kind}",
        files={"file": (name, text, "text/csv")},
        headers=api.headers("pricing"),
    )
    assert response.status_code == 200, response.text
    publication_id = response.json()["publication_id"]
    assert publication_id is not None, response.text
    publication = api.client.get(
        f"/api/v1/publications/{publication_id}", headers=api.headers("auditor")
    )
    assert publication.status_code == 200, publication.text
    return str(publication.json()["title"])


@pytest.mark.parametrize(
    ("kind", "name", "text"),
    [
        ("products", "autumn-range-2026.csv", RENAMED_MILK),
        ("history", "pos-export-february.csv", OLDER_MILK_PRICE),
        # The control: a price file always kept its name.
        ("prices", "weekly-prices.csv", WEEKLY_PRICE),
    ],
)
def test_an_uploaded_file_titles_its_publication(api: Api, kind: str, name: str, text: str) -> None:
    assert _title_of_upload(api, kind, name, text) == name


@pytest.mark.parametrize(
    ("kind", "text"), [("products", RENAMED_MILK), ("history", OLDER_MILK_PRICE)]
)
def test_a_long_file_name_is_cut_to_a_title(api: Api, kind: str, text: str) -> None:
    name = "ceny-" + "x" * 300 + ".csv"
    assert _title_of_upload(api, kind, name, text) == name[:255] + "…"
