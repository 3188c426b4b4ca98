"""A publication's `upsert_promotion` of a category no product has is refused as the
promotion file refuses it: 422 `invalid_item` at POST, `field` `categories`, naming the
categories with the file's reason ("unknown category(s): ..."), and nothing of the
publication is stored. Both ask one check (`ImportReferences.unknown`).

Before, the file refused such a line but the API stored the draft, validated it and
published a promotion that reached nothing (a typo, `dary` for `dairy`, went unnoticed
until the shelves showed no offer). The check is made when the draft is posted, as the
file's when it is imported: a promotion posted or published stays what it is when its
category's products move to another later, and validating or publishing a draft stored
before the check does not refuse it (tests/esl/test_ledger_category_moves.py publishes
through the service a promotion of a category its product moves into afterwards).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.errors import InvalidItemError
from esl.services.publication import require_storable_draft
from esl.services.publication_commands import UpsertPromotion
from pricing.promotions import PromotionKind
from tests.support.api import Api
from tests.support.database import START
from tests.support.publication_rows import publication_row_counts


def _promotion(promotion_id: str, *categories: str) -> dict[str, Any]:
    return {
        "action": "upsert_promotion",
        "promotion_id": promotion_id,
        "kind": "percent_off",
        "percent": "10",
        "categories": list(categories),
    }


def test_a_category_no_product_has_is_refused_at_post_and_nothing_is_stored(api: Api) -> None:
    before = publication_row_counts(api.engine)
    body = {
        "title": "Nabiał i pieczywo -10 %",
        "items": [
            {"action": "set_price", "sku": "MLK-1", "amount": "3.29"},
            _promotion("DAIRY-10", "dairy", "dary", "bakery"),
        ],
    }
    response = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_item"
    assert error["field"] == "categories"
    assert error["item"] == 1
    assert error["categories"] == ["bakery", "dary"]
    assert error["message"] == "unknown category(s): bakery, dary"
    assert publication_row_counts(api.engine) == before, (
        "a refused publication left something behind"
    )


def test_the_api_and_the_promotion_file_give_one_reason(api: Api) -> None:
    before = publication_row_counts(api.engine)
    posted = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [_promotion("BREAD-10", "bakery")]},
        headers=api.headers("pricing"),
    )
    imported = api.import_csv(
        "promotions",
        "id,name,kind,categories,percent\n"
        "DAIRY-10,Nabiał,percent_off,dairy,10\n"
        "BREAD-10,Pieczywo,percent_off,bakery,10\n",
    )
    assert (posted.status_code, imported.status_code) == (422, 422), (posted.text, imported.text)
    [problem] = imported.json()["error"]["problems"]
    assert problem == {"line": 3, "reason": posted.json()["error"]["message"]}
    assert publication_row_counts(api.engine) == before


def test_a_category_some_product_has_is_published(api: Api) -> None:
    pricing = api.headers("pricing")
    body = {"title": "t", "items": [_promotion("DAIRY-10", "dairy")]}
    created = api.client.post("/api/v1/publications", json=body, headers=pricing)
    assert created.status_code == 201, created.text
    publication = created.json()["id"]
    for step in ("validate", "publish"):
        answer = api.client.post(f"/api/v1/publications/{publication}/{step}", headers=pricing)
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "published"


def test_the_service_refuses_the_typed_command_before_anything_is_stored(
    seeded: Engine,
) -> None:
    """`require_storable_draft`, which POST /publications and `esl publish` ask, refuses
    an `UpsertPromotion` of such a category with the same reason; one of a category some
    product has passes."""
    before = publication_row_counts(seeded)
    command = UpsertPromotion(
        promotion_id="BREAD-10",
        kind=PromotionKind.PERCENT_OFF,
        categories=("dairy", "bakery"),
        percent=Decimal(10),
    )
    with session_factory(seeded)() as session:
        with pytest.raises(InvalidItemError) as caught:
            require_storable_draft(
                session, effective_at=None, items=[command], now=START, currency="PLN"
            )
        require_storable_draft(
            session,
            effective_at=None,
            items=[dataclasses.replace(command, categories=("dairy",))],
            now=START,
            currency="PLN",
        )
    assert caught.value.message == "unknown category(s): bakery"
    assert caught.value.fields == {"field": "categories", "item": 0, "categories": ["bakery"]}
    assert publication_row_counts(seeded) == before
