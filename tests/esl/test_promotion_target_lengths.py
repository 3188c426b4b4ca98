"""A promotion's targets are held to their lengths where they enter: a category to a
product's category's (esl/text_lengths.py, CATEGORY_LENGTH 128; promotion_targets.value
is varchar(128)), one line of text, and a zone or a store to a code's 32 characters.

Found by a reviewer (/tmp/rev-review19): a category of 200 characters in
`upsert_promotion.categories` was taken by POST, passed validate, and then, on
PostgreSQL, publish failed in the database with a generic invalid_value; on SQLite the
200-character target was stored, though no product can have that category. docs/api.md:
a validated publication is publishable."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import PromotionRow
from esl.errors import ImportRejectedError
from esl.imports import import_promotions
from tests.support.api import MILK_PRODUCT, Api
from tests.support.database import START

LONG = "c" * 200


def _promotion(**targets: Any) -> dict[str, Any]:
    item = {
        "action": "upsert_promotion",
        "promotion_id": "DAIRY-10",
        "kind": "percent_off",
        "percent": "10",
        **targets,
    }
    return {"title": "dairy week", "items": [item]}


def _promotions(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(PromotionRow)) or 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("categories", LONG, id="category-200"),
        pytest.param("categories", "c" * 129, id="category-129"),
        pytest.param("categories", "dairy\nweek", id="category-line-break"),
        pytest.param("categories", "", id="category-empty"),
        pytest.param("zones", "z" * 33, id="zone-33"),
        pytest.param("stores", "s" * 33, id="store-33"),
    ],
)
def test_a_promotion_target_longer_than_its_column_is_refused_naming_it(
    api: Api, field: str, value: str
) -> None:
    posted = api.client.post(
        "/api/v1/publications", headers=api.headers("pricing"), json=_promotion(**{field: [value]})
    )
    assert posted.status_code == 422, posted.text
    problems = posted.json()["error"]["problems"]
    assert [p["location"][-2:] for p in problems] == [[field, "0"]], problems
    assert _promotions(api.engine) == 0


def test_a_category_as_long_as_its_column_is_published(api: Api) -> None:
    pricing = api.headers("pricing")
    # A category a promotion names is one some product has (as in the promotion file).
    product = {**MILK_PRODUCT, "category": "c" * 128}
    put = api.client.put("/api/v1/products/LONG-1", headers=pricing, json=product)
    assert put.status_code == 200, put.text
    body = _promotion(categories=["c" * 128])
    posted = api.client.post("/api/v1/publications", headers=pricing, json=body)
    assert posted.status_code == 201, posted.text
    number = posted.json()["id"]
    validated = api.client.post(f"/api/v1/publications/{number}/validate", headers=pricing)
    assert validated.json()["status"] == "validated", validated.text
    published = api.client.post(f"/api/v1/publications/{number}/publish", headers=pricing)
    assert published.status_code == 200, published.text
    assert _promotions(api.engine) == 1


def test_a_promotion_file_refuses_a_category_longer_than_any_by_its_length(
    seeded: Engine,
) -> None:
    text = (
        "id,name,kind,categories,percent,valid_from,valid_until\n"
        f"P-1,Dobra,percent_off,dairy|{LONG},10,2026-04-01T00:00:00Z,2026-04-08T00:00:00Z\n"
    )
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_promotions(session, text, currency="PLN", imported_by="t", now=START)
    assert caught.value.fields["problems"] == [
        {
            "line": 2,
            "reason": f"categories: {'c' * 20!r}... is 200 characters long, at most 128",
        }
    ]
    assert _promotions(seeded) == 0
