"""A conditional offer that saves nothing is refused, as one above the price is.

MLK-1 sells at 3.49 zł. "2 za 6,98 zł" (a multi-buy whose bundle is twice the price) and
"Z kartą 3,49 zł" (a card price equal to the shelf's) were taken by the promotion file and
the API and drawn as promotion badges: an offer announced that saves nothing misleads the
shopper (Directive 2005/29/EC). Only an offer above the price was refused. The check
follows the one above the price (docs/pricing.md): a promotion is refused when it saves
nothing against any regular price it can meet, a zone's or a store's included; an offer
saving a grosz everywhere keeps its badge as before.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from esl.db.engine import session_factory
from esl.errors import ImportRejectedError
from esl.imports import import_prices, import_promotions
from esl.services.quotes import quote
from pricing import ResolvedPrice
from tests.support.api import Api
from tests.support.database import START

PRICES = (
    "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    "MLK-1,national,,,3.49,PLN,,\n"
    "CHS-1,national,,,8.49,PLN,,\n"
    "CHS-1,zone,,south,7.99,PLN,,\n"
)
HEADER = "id,name,kind,skus,categories,zones,percent,amount,currency,quantity,free_quantity\n"
MULTI_BUY_AT_THE_PRICE = "MLK-2ZA,Mleko 2 za 6.98,multi_buy,MLK-1,,,,6.98,PLN,2,"
CARD_AT_THE_PRICE = "MLK-KARTA,Mleko z kartą,loyalty_price,MLK-1,,,,3.49,PLN,,"
# 7.99 a unit: below the national 8.49, but the south's own price is 7.99.
CARD_AT_THE_SOUTHS_PRICE = "CHS-KARTA,Ser z kartą,loyalty_price,CHS-1,,,,7.99,PLN,,"
PRICED = START - timedelta(minutes=1)


def _prices(engine: Engine) -> None:
    # A minute before the offers: a card price is recorded in the ledger (what card
    # holders paid), which takes one entry per key and instant.
    with session_factory(engine)() as session, session.begin():
        import_prices(session, PRICES, currency="PLN", imported_by="test", now=PRICED)


def _store_quote(session: Session, sku: str, store: str, locale: str = "pl_PL") -> ResolvedPrice:
    return quote(
        session,
        sku=sku,
        store=store,
        channel="store",
        at=START,
        now=START,
        locale=locale,
        currency="PLN",
    )


def _refused(engine: Engine, *rows: str) -> list[dict[str, Any]]:
    text = HEADER + "".join(f"{row}\n" for row in rows)
    with pytest.raises(ImportRejectedError) as rejected, session_factory(engine)() as session:
        import_promotions(session, text, currency="PLN", imported_by="t", now=START)
    return list(rejected.value.problems)


@pytest.mark.parametrize(
    ("row", "sku"),
    [(MULTI_BUY_AT_THE_PRICE, "MLK-1"), (CARD_AT_THE_PRICE, "MLK-1")],
)
def test_an_offer_at_the_regular_price_is_a_bad_line(seeded: Engine, row: str, sku: str) -> None:
    _prices(seeded)
    problems = _refused(seeded, row)
    assert [p["line"] for p in problems] == [2]
    assert f"saves nothing on {sku}: its offer is 3.49 PLN a unit" in problems[0]["reason"]
    assert "an offer must cost less than the regular price" in problems[0]["reason"]
    with session_factory(seeded)() as session:
        assert _store_quote(session, sku, "S01").promotion is None


def test_an_offer_saving_nothing_in_one_zone_is_refused_everywhere(seeded: Engine) -> None:
    """As an offer above the price in one zone is: the retailer fixes the offer (or scopes
    it to the north), the south's shelves never announce a saving there is not."""
    _prices(seeded)
    problems = _refused(seeded, CARD_AT_THE_SOUTHS_PRICE)
    assert "promotion CHS-KARTA saves nothing on CHS-1" in problems[0]["reason"]
    with session_factory(seeded)() as session:
        assert _store_quote(session, "CHS-1", "S01").promotion is None
    north_only = "CHS-KARTA,Ser z kartą,loyalty_price,CHS-1,,north,,7.99,PLN,,"
    with session_factory(seeded)() as session, session.begin():
        import_promotions(
            session, HEADER + north_only + "\n", currency="PLN", imported_by="t", now=START
        )
    with session_factory(seeded)() as session:
        north = _store_quote(session, "CHS-1", "S01")
        south = _store_quote(session, "CHS-1", "S03")
    assert north.promotion is not None
    assert north.promotion.text == "Z kartą 7,99\xa0zł"
    assert south.promotion is None


def test_a_price_cut_to_a_running_offer_is_refused(seeded: Engine) -> None:
    """A price file cutting the price to a card price is refused as one cutting it below."""
    _prices(seeded)
    card = "MLK-KARTA,Mleko z kartą,loyalty_price,MLK-1,,,,3.29,PLN,,"
    with session_factory(seeded)() as session, session.begin():
        import_promotions(session, HEADER + card + "\n", currency="PLN", imported_by="t", now=START)
    cut = "sku,scope,price,currency\nMLK-1,national,3.29,PLN\n"
    with pytest.raises(ImportRejectedError) as rejected, session_factory(seeded)() as session:
        import_prices(
            session, cut, currency="PLN", imported_by="t", now=START + timedelta(minutes=1)
        )
    assert "promotion MLK-KARTA saves nothing on MLK-1" in str(rejected.value.problems)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("P0,X,buy_n_get_m,MLK-1,,,,,,2,0", "free_quantity"),
        ("P0,X,amount_off,MLK-1,,,,0.00,PLN,,", "amount 0.00 is not above zero"),
        ("P0,X,percent_off,MLK-1,,,0,,,,", "percent must be in (0, 100]"),
    ],
)
def test_an_offer_of_nothing_off_is_a_bad_line(seeded: Engine, row: str, reason: str) -> None:
    _prices(seeded)
    problems = _refused(seeded, row)
    assert problems[0]["line"] == 2
    assert reason in problems[0]["reason"]


def test_an_offer_saving_a_grosz_keeps_its_badge(seeded: Engine) -> None:
    _prices(seeded)
    rows = (
        "MLK-2ZA,Mleko 2 za 6.97,multi_buy,MLK-1,,,,6.97,PLN,2,\n"
        "CHS-KARTA,Ser z kartą,loyalty_price,CHS-1,,,,7.98,PLN,,\n"
    )
    with session_factory(seeded)() as session, session.begin():
        report = import_promotions(
            session, HEADER + rows, currency="PLN", imported_by="t", now=START
        )
    assert report.inserted == 2
    with session_factory(seeded)() as session:
        milk = _store_quote(session, "MLK-1", "S01")
        milk_en = _store_quote(session, "MLK-1", "S01", locale="en_GB")
        cheese = _store_quote(session, "CHS-1", "S03")
    assert milk.promotion is not None
    assert milk.promotion.text == "2 za 6,97\xa0zł"
    assert milk_en.promotion is not None
    assert milk_en.promotion.text == "2 for PLN\xa06.97"
    assert str(milk.price.amount) == "3.49"
    assert cheese.promotion is not None
    assert cheese.promotion.text == "Z kartą 7,98\xa0zł"


def test_the_api_refuses_the_file_and_the_publication(api: Api) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    refused = api.import_csv("promotions", HEADER + MULTI_BUY_AT_THE_PRICE + "\n")
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["problems"]
    assert problems[0]["line"] == 2
    assert "promotion MLK-2ZA saves nothing on MLK-1" in problems[0]["reason"]
    assert (
        api.client.get("/api/v1/promotions", headers=api.headers("pricing")).json()["items"] == []
    )

    item = {
        "action": "upsert_promotion",
        "promotion_id": "MLK-KARTA",
        "kind": "loyalty_price",
        "amount": "3.49",
        "skus": ["MLK-1"],
    }
    body = {"title": "card milk", "items": [item]}
    created = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    validated = api.client.post(
        f"/api/v1/publications/{number}/validate", headers=api.headers("pricing")
    ).json()
    assert validated["status"] == "draft"
    [problem] = validated["problems"]
    assert problem["code"] == "promotion_saves_nothing"
    assert "promotion MLK-KARTA saves nothing on MLK-1" in problem["reason"]
