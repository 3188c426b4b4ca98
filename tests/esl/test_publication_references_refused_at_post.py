"""Every SKU, zone, store and promotion a publication item names is checked when the
draft is posted, as the price and promotion files check theirs at import, by the same
check (`ImportReferences.unknown`): one that names nothing stored is 422 `invalid_item`
at `POST /publications` (and `esl publish`), `field` the item's field, `item` its index,
under the field's name the names refused, `message` "unknown store(s): S99", and nothing
of the publication is stored.

Before, only an `upsert_promotion`'s categories were checked at POST: a `set_price` or
`end_price` of a SKU, zone or store that does not exist, or a promotion of such SKUs,
zones or stores, was stored as a draft and refused only when validated (`not_found`, or
the engine's "promotion P names unknown store 'S99'"), leaving a draft that could never
be published. Then an `end_promotion` of a promotion never stored, and a price or
promotion in a zone no store belongs to (which the price file refuses, "zone 'west' has
no store", and the engine never prices), were still posted and refused only when
validated. Now both are refused at POST; a promotion an earlier item of the same draft
adds may be ended by a later one, and a draft stored before is validated as it was.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.db.models import (
    ZoneRow,
)
from esl.errors import InvalidItemError
from esl.services.publication import require_storable_draft
from esl.services.publication_commands import EndPrice, EndPromotion, SetPrice, UpsertPromotion
from pricing.promotions import PromotionKind
from tests.support.api import Api
from tests.support.database import START
from tests.support.publication_rows import publication_row_counts

PRICES_CSV = "sku,scope,channel,store_or_zone,price,currency\nMLK-1,national,,,3.49,PLN\n"


def _promotion(**targets: list[str]) -> dict[str, Any]:
    return {
        "action": "upsert_promotion",
        "promotion_id": "P-10",
        "kind": "percent_off",
        "percent": "10",
        "skus": ["MLK-1"],
    } | targets


# A known item first, so the one refused is item 1.
KNOWN = {"action": "set_price", "sku": "CHS-1", "amount": "8.49"}


@pytest.mark.parametrize(
    ("item", "field", "names", "message"),
    [
        (
            {"action": "set_price", "sku": "NOPE-1", "amount": "3.29"},
            "sku",
            ["NOPE-1"],
            "unknown sku(s): NOPE-1",
        ),
        (
            {"action": "set_price", "sku": "MLK-1", "zone": "west", "amount": "3.29"},
            "zone",
            ["west"],
            "unknown zone(s): west",
        ),
        (
            {"action": "set_price", "sku": "MLK-1", "store": "S99", "amount": "3.29"},
            "store",
            ["S99"],
            "unknown store(s): S99",
        ),
        ({"action": "end_price", "sku": "NOPE-1"}, "sku", ["NOPE-1"], "unknown sku(s): NOPE-1"),
        (
            {"action": "end_price", "sku": "MLK-1", "zone": "west"},
            "zone",
            ["west"],
            "unknown zone(s): west",
        ),
        (
            {"action": "end_price", "sku": "MLK-1", "store": "S99", "channel": "web"},
            "store",
            ["S99"],
            "unknown store(s): S99",
        ),
        (
            _promotion(skus=["MLK-1", "NOPE-2", "NOPE-1"]),
            "skus",
            ["NOPE-1", "NOPE-2"],
            "unknown sku(s): NOPE-1, NOPE-2",
        ),
        (
            _promotion(zones=["north", "west", "east"]),
            "zones",
            ["east", "west"],
            "unknown zone(s): east, west",
        ),
        (
            _promotion(stores=["S01", "S99"]),
            "stores",
            ["S99"],
            "unknown store(s): S99",
        ),
        (
            {"action": "end_promotion", "promotion_id": "NEVER"},
            "promotion_id",
            ["NEVER"],
            "unknown promotion(s): NEVER",
        ),
    ],
    ids=[
        "set_price sku",
        "set_price zone",
        "set_price store",
        "end_price sku",
        "end_price zone",
        "end_price store",
        "upsert_promotion skus",
        "upsert_promotion zones",
        "upsert_promotion stores",
        "end_promotion",
    ],
)
def test_an_unknown_reference_is_refused_at_post_and_nothing_is_stored(
    api: Api, item: dict[str, Any], field: str, names: list[str], message: str
) -> None:
    before = publication_row_counts(api.engine)
    body = {"title": "t", "items": [KNOWN, item]}
    response = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_item"
    assert (error["field"], error["item"], error[field]) == (field, 1, names)
    assert error["message"] == message
    assert publication_row_counts(api.engine) == before, (
        "a refused publication left something behind"
    )


@pytest.mark.parametrize(
    ("targets", "row"),
    [
        ({"skus": ["NOPE-1"]}, "NOPE-1,,"),
        ({"zones": ["west"]}, "MLK-1,west,"),
        ({"stores": ["S99"]}, "MLK-1,,S99"),
    ],
    ids=["skus", "zones", "stores"],
)
def test_the_api_and_the_promotion_file_give_one_reason(
    api: Api, targets: dict[str, list[str]], row: str
) -> None:
    before = publication_row_counts(api.engine)
    posted = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [_promotion(**targets)]},
        headers=api.headers("pricing"),
    )
    imported = api.import_csv(
        "promotions", f"id,name,kind,skus,zones,stores,percent\nP-10,x,percent_off,{row},10\n"
    )
    assert (posted.status_code, imported.status_code) == (422, 422), (posted.text, imported.text)
    [problem] = imported.json()["error"]["problems"]
    assert problem == {"line": 2, "reason": posted.json()["error"]["message"]}
    assert publication_row_counts(api.engine) == before


def test_references_that_exist_are_posted_validated_and_published(api: Api) -> None:
    pricing = api.headers("pricing")
    assert api.import_csv("prices", PRICES_CSV).status_code == 200
    api.clock.advance(timedelta(hours=1))  # the ledger takes one entry per instant
    body = {
        "title": "t",
        "items": [
            {"action": "set_price", "sku": "MLK-1", "zone": "north", "amount": "3.29"},
            {"action": "set_price", "sku": "MLK-1", "store": "S03", "amount": "3.39"},
            {"action": "end_price", "sku": "MLK-1", "store": "S03"},
            _promotion(zones=["north"], stores=["S03"]),
        ],
    }
    created = api.client.post("/api/v1/publications", json=body, headers=pricing)
    assert created.status_code == 201, created.text
    publication = created.json()["id"]
    for step in ("validate", "publish"):
        answer = api.client.post(f"/api/v1/publications/{publication}/{step}", headers=pricing)
        assert answer.status_code == 200, answer.text
        assert answer.json()["problems"] == [], answer.text
    assert answer.json()["status"] == "published"


def test_a_promotion_is_ended_when_stored_or_added_by_an_earlier_item(api: Api) -> None:
    """An `end_promotion` naming a stored promotion is posted and published; so is one
    ending a promotion an earlier item of the same draft adds (the draft's own items are
    applied in order when it is validated), but not one a later item adds."""
    pricing = api.headers("pricing")
    assert api.import_csv("prices", PRICES_CSV).status_code == 200
    api.clock.advance(timedelta(hours=1))

    def posted(*items: dict[str, Any]) -> int:
        created = api.client.post(
            "/api/v1/publications", json={"title": "t", "items": list(items)}, headers=pricing
        )
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    def published(publication: int) -> None:
        for step in ("validate", "publish"):
            answer = api.client.post(f"/api/v1/publications/{publication}/{step}", headers=pricing)
            assert answer.status_code == 200, answer.text
            assert answer.json()["problems"] == [], answer.text

    published(posted(_promotion()))
    api.clock.advance(timedelta(hours=1))
    published(posted({"action": "end_promotion", "promotion_id": "P-10"}))
    api.clock.advance(timedelta(hours=1))
    same_draft = _promotion() | {"promotion_id": "P-11"}
    published(posted(same_draft, {"action": "end_promotion", "promotion_id": "P-11"}))

    before = publication_row_counts(api.engine)
    later_item = api.client.post(
        "/api/v1/publications",
        json={
            "title": "t",
            "items": [
                {"action": "end_promotion", "promotion_id": "P-12"},
                _promotion() | {"promotion_id": "P-12"},
            ],
        },
        headers=pricing,
    )
    assert later_item.status_code == 422, later_item.text
    error = later_item.json()["error"]
    assert (error["field"], error["item"], error["promotion_id"]) == ("promotion_id", 0, ["P-12"])
    assert publication_row_counts(api.engine) == before


def test_the_service_refuses_the_typed_commands_before_anything_is_stored(
    seeded: Engine,
) -> None:
    """`require_storable_draft`, which POST /publications and `esl publish` ask, refuses
    each command naming what is not stored; the same commands naming what is pass."""
    before = publication_row_counts(seeded)
    promotion = UpsertPromotion(
        promotion_id="P-10",
        kind=PromotionKind.PERCENT_OFF,
        skus=("MLK-1",),
        stores=("S01", "S99"),
        percent=Decimal(10),
    )
    refused = [
        (SetPrice(sku="MLK-1", amount=Decimal("3.29"), zone="west"), "zone", ["west"]),
        (EndPrice(sku="NOPE-1"), "sku", ["NOPE-1"]),
        (promotion, "stores", ["S99"]),
        (EndPromotion(promotion_id="NEVER"), "promotion_id", ["NEVER"]),
    ]
    with session_factory(seeded)() as session:
        for command, field, names in refused:
            with pytest.raises(InvalidItemError) as caught:
                require_storable_draft(
                    session, effective_at=None, items=[command], now=START, currency="PLN"
                )
            assert caught.value.fields == {"field": field, "item": 0, field: names}
        require_storable_draft(
            session,
            effective_at=None,
            items=[
                SetPrice(sku="MLK-1", amount=Decimal("3.29"), zone="north"),
                EndPrice(sku="MLK-1", store="S01"),
                dataclasses.replace(promotion, stores=("S01",), zones=("south",)),
            ],
            now=START,
            currency="PLN",
        )
    assert publication_row_counts(seeded) == before


def _zone_without_store(api: Api) -> None:
    """Zone `west`, defined (as `esl zones put` or PUT /zones defines one) but which no
    store belongs to yet."""
    with session_factory(api.engine).begin() as session:
        session.add(ZoneRow(code="west", name="West"))


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"action": "set_price", "sku": "MLK-1", "zone": "west", "amount": "3.29"}, "zone"),
        ({"action": "end_price", "sku": "MLK-1", "zone": "west"}, "zone"),
        (_promotion(zones=["north", "west"]), "zones"),
    ],
    ids=["set_price", "end_price", "upsert_promotion"],
)
def test_a_zone_no_store_belongs_to_is_refused_at_post_as_the_files_refuse_it(
    api: Api, item: dict[str, Any], field: str
) -> None:
    """A zone is priced through its stores (the engine prices no zone without one, and a
    store may not leave a zone its prices would be left in): a zone defined before its
    stores join it is refused at POST, with the reason the price and promotion files give
    that line, and nothing is stored."""
    _zone_without_store(api)
    before = publication_row_counts(api.engine)
    posted = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [KNOWN, item]},
        headers=api.headers("pricing"),
    )
    assert posted.status_code == 422, posted.text
    error = posted.json()["error"]
    assert (error["code"], error["field"], error["item"], error[field]) == (
        "invalid_item",
        field,
        1,
        ["west"],
    )
    assert error["message"] == "zone(s) with no store: west"
    prices = api.import_csv(
        "prices", "sku,scope,channel,store_or_zone,price,currency\nMLK-1,zone,,west,3.29,PLN\n"
    )
    promotions = api.import_csv(
        "promotions", "id,name,kind,skus,zones,percent\nP-10,x,percent_off,MLK-1,north|west,10\n"
    )
    for imported in (prices, promotions):
        assert imported.status_code == 422, imported.text
        assert imported.json()["error"]["problems"] == [{"line": 2, "reason": error["message"]}]
    assert publication_row_counts(api.engine) == before


def test_a_draft_stored_before_its_zone_lost_its_stores_is_validated_as_before(
    api: Api,
) -> None:
    """Validating a stored draft does not repeat the check made at POST: a zone price
    posted while a store belonged to the zone, whose store has left it since, is refused
    by validation as before (`not_found`, naming the zone), the draft kept."""
    pricing = api.headers("pricing")
    item = {"action": "set_price", "sku": "MLK-1", "zone": "south", "amount": "3.29"}
    created = api.client.post(
        "/api/v1/publications", json={"title": "t", "items": [item]}, headers=pricing
    )
    assert created.status_code == 201, created.text
    moved = api.client.put(
        "/api/v1/stores/S03", json={"name": "Kraków", "zone": "north"}, headers=api.headers("admin")
    )
    assert moved.status_code == 200, moved.text
    publication = created.json()["id"]
    validated = api.client.post(f"/api/v1/publications/{publication}/validate", headers=pricing)
    assert validated.status_code == 200, validated.text
    assert validated.json()["status"] == "draft", validated.text
    [problem] = validated.json()["problems"]
    assert (problem["item"], problem["code"]) == (0, "not_found")
    assert "south" in problem["reason"]
