"""A promotion's kind decides which terms it reads; a term it does not read is refused
where it enters, not stored and ignored (pricing.promotions.KIND_FIELDS).

Found by a hunter (/tmp/rev-input): "Mleko -10 % przy 3 szt." sent as a promotion file
row `percent_off, percent=10, quantity=3` was stored with its quantity and GET
/promotions showed the condition, but the engine took -10 % off every single carton: the
label said 3.14 for one carton while the till, applying the condition, charged 3.49 (a
shelf/checkout mismatch the customer can claim, PL art. 5). "3 za 2,99" published as a
fixed_price with quantity 3 labelled every single carton 2.99.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from esl.db.engine import session_factory
from esl.db.models import PromotionRow
from tests.support.api import Api

PRICES = "sku,scope,channel,store_or_zone,price,currency\nMLK-1,national,,,3.49,PLN\n"
PUBLICATIONS = "/api/v1/publications"

# Per kind, the terms it reads (a lawful promotion of it on a 3.49 carton), and the
# value of each term another kind might be sent with by mistake.
LAWFUL = {
    "percent_off": {"percent": "10"},
    "amount_off": {"amount": "0.50"},
    "fixed_price": {"amount": "2.99"},
    "multi_buy": {"amount": "6.00", "quantity": 2},
    "buy_n_get_m": {"quantity": 2, "free_quantity": 1},
    "loyalty_price": {"amount": "2.99"},
}
STRAY = {"percent": "10", "amount": "2.99", "quantity": 3, "free_quantity": 1}
UNUSED = [
    pytest.param(kind, term, id=f"{kind}-{term}")
    for kind, terms in LAWFUL.items()
    for term in STRAY
    if term not in terms
]
# What the refusal tells a pricing person, per term: the kind that reads it.
BELONGS = {
    "percent": "a percentage off is a percent_off",
    "amount": "an amount off is an amount_off",
    "quantity": "an offer conditional on quantity is a multi_buy or buy_n_get_m",
    "free_quantity": "units given free are a buy_n_get_m",
}


def _shelf_price(api: Api) -> str:
    quoted = api.client.get(
        "/api/v1/quote", params={"sku": "MLK-1", "store": "S01"}, headers=api.headers("auditor")
    )
    assert quoted.status_code == 200, quoted.text
    return str(quoted.json()["price"])


def _promotions(api: Api) -> list[dict]:
    listed = api.client.get("/api/v1/promotions", headers=api.headers("pricing"))
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


def _priced(api: Api) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(hours=1))


def _publish(api: Api, item: dict[str, Any]) -> Any:
    pricing = api.headers("pricing")
    created = api.client.post(PUBLICATIONS, json={"title": "t", "items": [item]}, headers=pricing)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    validated = api.client.post(f"{PUBLICATIONS}/{number}/validate", headers=pricing)
    assert validated.json()["status"] == "validated", validated.text
    published = api.client.post(f"{PUBLICATIONS}/{number}/publish", headers=pricing)
    assert published.status_code == 200, published.text
    return published


def _file_row(kind: str, terms: dict[str, Any]) -> str:
    columns = ["percent", "amount", "currency", "quantity", "free_quantity"]
    terms = {**terms, "currency": "PLN"} if "amount" in terms else terms
    cells = ",".join(str(terms.get(column, "")) for column in columns)
    return f"id,name,kind,skus,{','.join(columns)}\nP-1,Mleko,{kind},MLK-1,{cells}\n"


def test_a_quantity_on_a_percent_off_row_is_refused_not_dropped(api: Api) -> None:
    # "-10 % when you buy 3" written as a percent_off with quantity 3: the file is taken,
    # the promotion is stored *with* quantity 3, and every single carton is sold at -10 %.
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(hours=1))
    response = api.import_csv(
        "promotions",
        "id,name,kind,skus,percent,quantity\n"
        "MLK-3SZT,Mleko -10% przy 3 szt.,percent_off,MLK-1,10,3\n",
    )
    stored = _promotions(api)
    shelf = _shelf_price(api)
    assert response.status_code == 422, (
        f"accepted: {response.text}; "
        f"stored {[(p['kind'], p['percent'], p['quantity']) for p in stored]}; "
        f"one carton on the shelf at {shelf}"
    )
    assert stored == []
    assert shelf == "3.49"


def test_a_quantity_on_a_fixed_price_item_is_refused_not_dropped(api: Api) -> None:
    # "3 for 2.99" sent as fixed_price + quantity 3: published, each carton at 2.99.
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(hours=1))
    item = {
        "action": "upsert_promotion", "promotion_id": "MLK-3ZA", "kind": "fixed_price",
        "amount": "2.99", "quantity": 3, "skus": ["MLK-1"],
    }  # fmt: skip
    created = api.client.post(
        PUBLICATIONS, json={"title": "3 za 2,99", "items": [item]}, headers=api.headers("pricing")
    )
    if created.status_code == 201:
        pid = created.json()["id"]
        api.client.post(f"{PUBLICATIONS}/{pid}/validate", headers=api.headers("pricing"))
        api.client.post(f"{PUBLICATIONS}/{pid}/publish", headers=api.headers("pricing"))
    shelf = _shelf_price(api)
    assert created.status_code == 422, (
        f"accepted ({created.status_code}); one carton on the shelf at {shelf}"
    )
    assert shelf == "3.49"


def test_the_file_names_the_line_the_term_and_the_kind_that_reads_it(api: Api) -> None:
    _priced(api)
    response = api.import_csv(
        "promotions", _file_row("percent_off", {"percent": 10, "quantity": 3})
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"] == [
        {
            "line": 2,
            "reason": "promotion P-1: percent_off takes no quantity "
            "(an offer conditional on quantity is a multi_buy or buy_n_get_m)",
        }
    ]
    assert _promotions(api) == []


def test_the_publication_item_is_refused_naming_the_term_and_nothing_is_stored(
    api: Api,
) -> None:
    _priced(api)
    item = {
        "action": "upsert_promotion", "promotion_id": "MLK-3ZA", "kind": "fixed_price",
        "amount": "2.99", "quantity": 3, "skus": ["MLK-1"],
    }  # fmt: skip
    pricing = api.headers("pricing")
    created = api.client.post(PUBLICATIONS, json={"title": "t", "items": [item]}, headers=pricing)
    assert created.status_code == 422, created.text
    error = created.json()["error"]
    assert (error["code"], error["field"], error["item"]) == ("invalid_item", "quantity", 0)
    assert error["reason"] == (
        "fixed_price takes no quantity "
        "(an offer conditional on quantity is a multi_buy or buy_n_get_m)"
    )
    listed = api.client.get(PUBLICATIONS, headers=pricing)
    assert [p["title"] for p in listed.json()["items"]] == ["prices.csv"], listed.text


@pytest.mark.parametrize(("kind", "term"), UNUSED)
def test_every_term_a_kind_does_not_read_is_refused_by_file_and_api(
    api: Api, kind: str, term: str
) -> None:
    _priced(api)
    terms = {**LAWFUL[kind], term: STRAY[term]}
    by_file = api.import_csv("promotions", _file_row(kind, terms))
    assert by_file.status_code == 422, by_file.text
    [problem] = by_file.json()["error"]["problems"]
    assert f"{kind} takes no {term} ({BELONGS[term]}" in problem["reason"], problem
    item = {
        "action": "upsert_promotion", "promotion_id": "P-1", "kind": kind, "skus": ["MLK-1"],
        **terms,
    }  # fmt: skip
    by_api = api.client.post(
        PUBLICATIONS, json={"title": "t", "items": [item]}, headers=api.headers("pricing")
    )
    assert by_api.status_code == 422, by_api.text
    assert by_api.json()["error"]["field"] == term
    assert _promotions(api) == []
    assert _shelf_price(api) == "3.49"


@pytest.mark.parametrize("kind", list(LAWFUL))
def test_each_kind_with_the_terms_it_reads_is_taken(api: Api, kind: str) -> None:
    _priced(api)
    assert api.import_csv("promotions", _file_row(kind, LAWFUL[kind])).status_code == 200
    [stored] = _promotions(api)
    assert stored["kind"] == kind


def test_a_multi_buy_with_its_quantity_is_published_and_keeps_the_single_price(
    api: Api,
) -> None:
    _priced(api)
    item = {
        "action": "upsert_promotion", "promotion_id": "MLK-3ZA", "kind": "multi_buy",
        "amount": "9.00", "quantity": 3, "skus": ["MLK-1"],
    }  # fmt: skip
    _publish(api, item)
    [stored] = _promotions(api)
    assert (stored["kind"], stored["quantity"]) == ("multi_buy", 3)
    assert _shelf_price(api) == "3.49"


def test_one_stored_before_the_check_loads_as_the_engine_applied_it_and_can_be_ended(
    api: Api,
) -> None:
    # A percent_off stored with a quantity before such rows were refused: the catalogue
    # still loads, the promotion reads as it was always applied (-10 % on one carton,
    # no condition), and the retailer can end it.
    _priced(api)
    file = _file_row("percent_off", {"percent": 10})
    assert api.import_csv("promotions", file).status_code == 200
    with session_factory(api.engine)() as session, session.begin():
        session.execute(update(PromotionRow).where(PromotionRow.id == "P-1").values(quantity=3))
    api.clock.advance(timedelta(hours=1))
    assert _shelf_price(api) == "3.14"
    [stored] = _promotions(api)
    assert (stored["percent"], stored["quantity"]) == ("10", None)
    _publish(api, {"action": "end_promotion", "promotion_id": "P-1"})
    api.clock.advance(timedelta(minutes=1))
    assert _shelf_price(api) == "3.49"
