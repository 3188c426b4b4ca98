"""An `upsert_promotion` item with no `skus` and no `categories` reaches nothing: the
promotion file refuses such a line ("promotion P-10: targets no SKU and no category"),
and POST /publications (and `esl publish`) now refuse such an item when it is posted,
by the same check (`pricing.promotions.refuse_no_target`, which a `Promotion` asks of
itself): 422 `invalid_item`, `field` "skus", `item` its index, the file's reason, and
nothing of the publication is stored. Zones, stores or channels narrow where a promotion
applies; they are no target.

Before, the item was posted (201, a draft stored) and refused only when the draft was
validated, leaving a draft that could never be published."""

from __future__ import annotations

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

REASON = "promotion P-10: targets no SKU and no category"
# A known item first, so the one refused is item 1.
KNOWN = {"action": "set_price", "sku": "CHS-1", "amount": "8.49"}
NOTHING = {"action": "upsert_promotion", "promotion_id": "P-10", "kind": "percent_off"}


@pytest.mark.parametrize(
    "narrowed",
    [
        {"percent": "10"},
        {"percent": "10", "skus": [], "categories": []},
        {"percent": "10", "zones": ["north"], "stores": ["S01"], "channels": ["web"]},
        # The target is missing before the term its kind does not read (the file's order).
        {"percent": "10", "quantity": 3},
    ],
    ids=["nothing given", "empty lists", "only where it applies", "and an unused term"],
)
def test_a_promotion_of_nothing_is_refused_at_post_and_nothing_is_stored(
    api: Api, narrowed: dict[str, Any]
) -> None:
    before = publication_row_counts(api.engine)
    posted = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [KNOWN, NOTHING | narrowed]},
        headers=api.headers("pricing"),
    )
    assert posted.status_code == 422, posted.text
    error = posted.json()["error"]
    assert (error["code"], error["field"], error["item"]) == ("invalid_item", "skus", 1)
    assert error["message"] == REASON
    assert publication_row_counts(api.engine) == before, (
        "a refused publication left something behind"
    )


def test_the_api_and_the_promotion_file_give_one_reason(api: Api) -> None:
    before = publication_row_counts(api.engine)
    posted = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [NOTHING | {"percent": "10", "zones": ["north"]}]},
        headers=api.headers("pricing"),
    )
    imported = api.import_csv(
        "promotions", "id,name,kind,skus,categories,zones,percent\nP-10,x,percent_off,,,north,10\n"
    )
    assert (posted.status_code, imported.status_code) == (422, 422), (posted.text, imported.text)
    [problem] = imported.json()["error"]["problems"]
    assert problem == {"line": 2, "reason": posted.json()["error"]["message"]}
    assert publication_row_counts(api.engine) == before


@pytest.mark.parametrize(
    "targets", [{"skus": ["MLK-1"]}, {"categories": ["dairy"]}], ids=["skus", "categories"]
)
def test_a_promotion_of_skus_or_of_a_category_is_posted(
    api: Api, targets: dict[str, list[str]]
) -> None:
    posted = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [NOTHING | {"percent": "10"} | targets]},
        headers=api.headers("pricing"),
    )
    assert posted.status_code == 201, posted.text


def test_the_service_refuses_the_command_before_anything_is_stored(seeded: Engine) -> None:
    """`require_storable_draft`, which POST /publications and `esl publish` ask."""
    before = publication_row_counts(seeded)
    nothing = UpsertPromotion(
        promotion_id="P-10", kind=PromotionKind.PERCENT_OFF, zones=("north",), percent=Decimal(10)
    )
    with session_factory(seeded)() as session, pytest.raises(InvalidItemError) as caught:
        require_storable_draft(
            session, effective_at=None, items=[nothing], now=START, currency="PLN"
        )
    assert caught.value.message == REASON
    assert caught.value.fields == {"field": "skus", "item": 0}
    assert publication_row_counts(seeded) == before
