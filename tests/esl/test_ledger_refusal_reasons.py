"""A ledger refusal names the items (or lines) that changed the SKU, once each, in words.

The ledger takes one entry per (SKU, channel, store) and instant (docs/pricing.md): a
publication validated at the instant a price file recorded the same SKUs, or published
at the instant another publication did, is refused. The refusal came as one problem per
key, `"item": null`, 18 for two SKUs, reading `PriceKey(sku='CHS-1', channel=<Channel.APP:
'app'>, store='S03'): the ledger already runs to ...` (docs/api.md: a rejected item gets
`{"item": index, "reason", "code"}`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.esl.test_publications import PRICES
from tests.support.api import Api

CHEESE_IN_THE_SOUTH = {"action": "set_price", "sku": "CHS-1", "amount": "7.99", "zone": "south"}
MILK_IN_OLIWA = {
    "action": "set_price",
    "sku": "MLK-1",
    "amount": "3.19",
    "store": "S01",
    "channel": "store",
}


def _created(api: Api, title: str, items: list[dict[str, Any]]) -> int:
    body = {"title": title, "items": items}
    created = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _post(api: Api, number: int, step: str) -> Any:
    return api.client.post(f"/api/v1/publications/{number}/{step}", headers=api.headers("pricing"))


def _assert_in_words(problems: list[dict[str, Any]]) -> None:
    for problem in problems:
        assert problem["code"] == "ledger_order"
        assert "PriceKey(" not in problem["reason"]
        assert "<Channel." not in problem["reason"]
        assert problem["reason"].endswith("validate and publish again")


def test_a_publication_at_a_price_files_instant_names_each_item_once(api: Api) -> None:
    prices = api.import_csv("prices", PRICES)
    assert prices.status_code == 200, prices.text
    file_publication = prices.json()["publication_id"]
    number = _created(api, "milk", [CHEESE_IN_THE_SOUTH, MILK_IN_OLIWA])
    validated = _post(api, number, "validate").json()
    assert validated["status"] == "draft"
    problems = validated["problems"]
    # One problem per item, not one per (SKU, channel, store) with no item.
    assert [p["item"] for p in problems] == [0, 1]
    _assert_in_words(problems)
    cheese, milk = problems
    assert (cheese["skus"], milk["skus"]) == (["CHS-1"], ["MLK-1"])
    assert cheese["reason"].startswith("CHS-1 already has a price recorded at 2026-03-02T")
    assert "in store S03 (store, web and app channels)" in cheese["reason"]
    assert f'publication {file_publication}, "prices.csv"' in cheese["reason"]
    assert "store S01 (store channel)" in milk["reason"]
    # A moment later the same publication goes through, as the reason says.
    api.clock.advance(timedelta(seconds=1))
    assert _post(api, number, "validate").json()["status"] == "validated"
    assert _post(api, number, "publish").status_code == 200


def test_two_publications_racing_the_second_is_refused_per_item(api: Api) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(minutes=1))
    first = _created(api, "cheese", [CHEESE_IN_THE_SOUTH])
    second = _created(
        api, "milk and cheese", [MILK_IN_OLIWA, dict(CHEESE_IN_THE_SOUTH, amount="7.49")]
    )
    for number in (first, second):
        assert _post(api, number, "validate").json()["status"] == "validated"
    assert _post(api, first, "publish").status_code == 200
    refused = _post(api, second, "publish")
    assert refused.status_code == 409, refused.text
    problems = refused.json()["error"]["problems"]
    assert [(p["item"], p["skus"]) for p in problems] == [(1, ["CHS-1"])]
    _assert_in_words(problems)
    assert f'publication {first}, "cheese"' in problems[0]["reason"]


def test_a_price_file_at_a_publications_instant_names_each_sku_once(api: Api) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(minutes=1))
    number = _created(api, "cheese", [CHEESE_IN_THE_SOUTH])
    assert _post(api, number, "validate").json()["status"] == "validated"
    assert _post(api, number, "publish").status_code == 200
    again = (
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,national,,,3.39,PLN,,\n"
        "CHS-1,store,,S03,7.49,PLN,,\n"
    )
    refused = api.import_csv("prices", again)
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["problems"]
    assert len(problems) == 1, problems
    assert problems[0]["line"] == 3
    assert problems[0]["reason"].startswith("CHS-1 already has a price recorded at")
    assert f'publication {number}, "cheese"' in problems[0]["reason"]
    assert problems[0]["reason"].endswith("import the file again")
