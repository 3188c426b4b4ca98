"""Numbers written in digits other than 0-9 are refused, by the API and the CSV files
alike, naming the field or line and the characters (`esl/decimal_digits.py`,
`foreign_digits_problem`), and nothing is stored.

Python's `Decimal()` and `int()` read any script's decimal digits, and `\\d` matches
them: a price of `'٣.٩٩'` (Arabic-Indic), `'３.９９'` (fullwidth) or `'३.९९'`
(Devanagari), a `vat_rate` of `'５'` or a promotion's `percent` of `'١٠'` were accepted
and read as 3.99, 5 and 10. A retailer's file in such digits is a mis-encoded or pasted
one; it is refused, not read as meant. A GTIN in fullwidth digits is refused as such
(it was refused for its "length", 14 characters of 14), and a scanned code in them is
no EAN the label is bound by.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import (
    LedgerEntryRow,
    PriceRuleRow,
    ProductRow,
    PromotionRow,
    PublicationItemRow,
    PublicationRow,
)
from esl.decimal_digits import foreign_digits_problem
from esl.errors import InvalidItemError
from esl.services.publication_commands import command_from_payload
from pricing.errors import InvalidAmountError
from pricing.money import Money, is_decimal_text
from tests.support.api import MILK_PRODUCT, Api

ARABIC_INDIC = "٣.٩٩"
FULLWIDTH = "３.９９"
DEVANAGARI = "३.९९"
OTHER_DIGITS = "written with digits other than 0-9"
TABLES = (
    ProductRow,
    PriceRuleRow,
    PromotionRow,
    PublicationRow,
    PublicationItemRow,
    LedgerEntryRow,
)


def _counts(engine: Engine) -> dict[str, int]:
    with session_factory(engine)() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in TABLES
        }


@pytest.mark.parametrize("written", [ARABIC_INDIC, FULLWIDTH, DEVANAGARI, "3.9９"])
def test_the_reason_names_the_characters_and_plain_digits_have_none(written: str) -> None:
    problem = foreign_digits_problem(written)
    assert problem is not None
    assert OTHER_DIGITS in problem
    assert "U+" in problem
    assert foreign_digits_problem("3.99") is None
    assert foreign_digits_problem("") is None
    assert not is_decimal_text(written)


@pytest.mark.parametrize("written", [ARABIC_INDIC, FULLWIDTH, DEVANAGARI])
def test_money_of_refuses_other_digits(written: str) -> None:
    with pytest.raises(InvalidAmountError):
        Money.of(written, "PLN")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"action": "set_price", "sku": "MLK-1", "amount": FULLWIDTH}, "amount"),
        (
            {"action": "upsert_promotion", "promotion_id": "P", "kind": "percent_off",
             "percent": "١٠", "skus": ["MLK-1"]},
            "percent",
        ),
        (
            {"action": "upsert_promotion", "promotion_id": "P", "kind": "multi_buy",
             "amount": "5", "quantity": "３", "skus": ["MLK-1"]},
            "quantity",
        ),
    ],
)  # fmt: skip
def test_a_stored_item_in_other_digits_reads_back_as_a_refusal(
    payload: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidItemError) as caught:
        command_from_payload(payload)
    assert caught.value.field == field
    assert OTHER_DIGITS in caught.value.message


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("vat_rate", "５"),
        ("net_content", "٢٠٠"),
        ("net_content", "१"),
        ("gtin", "５９００８２００００００１１"),
    ],
)
def test_put_product_refuses_other_digits(api: Api, field: str, written: str) -> None:
    before = _counts(api.engine)
    response = api.client.put(
        "/api/v1/products/NEW-1",
        json={**MILK_PRODUCT, field: written},
        headers=api.headers("pricing"),
    )
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["problems"]
    assert problem["location"] == ["body", field]
    assert OTHER_DIGITS in problem["reason"]
    assert _counts(api.engine) == before


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"action": "set_price", "sku": "MLK-1", "amount": FULLWIDTH}, "amount"),
        ({"action": "set_price", "sku": "MLK-1", "amount": DEVANAGARI}, "amount"),
        (
            {"action": "upsert_promotion", "promotion_id": "P-1", "kind": "percent_off",
             "percent": "١٠", "skus": ["MLK-1"]},
            "percent",
        ),
    ],
)  # fmt: skip
def test_a_publication_with_an_item_in_other_digits_is_refused(
    api: Api, item: dict[str, object], field: str
) -> None:
    before = _counts(api.engine)
    body = {"title": "t", "items": [{"action": "end_price", "sku": "CHS-1"}, item]}
    response = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["problems"]
    assert problem["location"][0:3] == ["body", "items", "1"]
    assert problem["location"][-1] == field
    assert OTHER_DIGITS in problem["reason"]
    assert _counts(api.engine) == before


PRICES = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
PRODUCTS = "sku,name,gtin,category,vat_rate,net_content,net_unit,on_sale_since\n"
PROMOTIONS = "id,name,kind,skus,percent,amount,currency,quantity,priority\n"
GOOD_PRICE = "CHS-1,national,,,4.99,PLN,,\n"
HISTORY = "sku,channel,store,effective_at,price,regular_price,currency\n"


@pytest.mark.parametrize(
    ("kind", "text", "column"),
    [
        ("prices", PRICES + GOOD_PRICE + "MLK-1,national,,,３.９９,PLN,,\n", "price"),
        ("prices", PRICES + GOOD_PRICE + 'MLK-1,national,,,"٣,٩٩",PLN,,\n', "price"),
        ("prices", PRICES + GOOD_PRICE + "MLK-1,national,,,३.९९,PLN,,\n", "price"),
        (
            "products",
            PRODUCTS + "NEW-1,Masło,,dairy,5,200,g,2025-01-01T00:00:00Z\n"
            "NEW-2,Ser,,dairy,５,200,g,2025-01-01T00:00:00Z\n",
            "vat_rate",
        ),
        (
            "products",
            PRODUCTS + "NEW-1,Masło,,dairy,5,200,g,2025-01-01T00:00:00Z\n"
            "NEW-2,Ser,,dairy,5,२००,g,2025-01-01T00:00:00Z\n",
            "net_content",
        ),
        (
            "products",
            PRODUCTS + "NEW-1,Masło,,dairy,5,200,g,2025-01-01T00:00:00Z\n"
            "NEW-2,Ser,５９００８２００００００１１,dairy,5,200,g,2025-01-01T00:00:00Z\n",
            "gtin",
        ),
        (
            "promotions",
            PROMOTIONS + "OK-1,Dobra,percent_off,MLK-1,10,,,,\nP-2,Zła,percent_off,CHS-1,١٠,,,,\n",
            "percent",
        ),
        (
            "promotions",
            PROMOTIONS + "OK-1,Dobra,percent_off,MLK-1,10,,,,\n"
            "P-2,Zła,multi_buy,CHS-1,,5,PLN,３,\n",
            "quantity",
        ),
        (
            "promotions",
            PROMOTIONS + "OK-1,Dobra,percent_off,MLK-1,10,,,,\n"
            "P-2,Zła,percent_off,CHS-1,10,,,,１\n",
            "priority",
        ),
        (
            "history",
            HISTORY + "MLK-1,store,S01,2026-02-01T00:00:00Z,3.49,,PLN\n"
            "CHS-1,store,S01,2026-02-01T00:00:00Z,٣.٤٩,,PLN\n",
            "price",
        ),
    ],
)  # fmt: skip
def test_a_file_line_in_other_digits_rejects_the_file(
    api: Api, kind: str, text: str, column: str
) -> None:
    before = _counts(api.engine)
    response = api.import_csv(kind, text)
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["problems"]
    assert problem["line"] == 3
    assert problem["reason"].startswith(f"{column} ")
    assert OTHER_DIGITS in problem["reason"]
    assert _counts(api.engine) == before


def test_a_file_in_plain_digits_beside_them_is_taken(api: Api) -> None:
    response = api.import_csv("prices", PRICES + 'MLK-1,national,,,"3,99",PLN,,\n')
    assert response.status_code == 200, response.text
    with session_factory(api.engine)() as session:
        amounts = session.scalars(select(PriceRuleRow.amount).where(PriceRuleRow.sku == "MLK-1"))
        assert Decimal("3.99") in set(amounts)


def test_a_label_is_not_bound_by_an_ean_in_fullwidth_digits(api: Api) -> None:
    api.add_labels({"S01-00001": "S01"})
    response = api.client.post(
        "/api/v1/labels/S01-00001/bind",
        json={"code": "５９００８２００００００１１"},  # MLK-1's EAN, 5900820000011
        headers=api.headers("store"),
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "code"
    assert OTHER_DIGITS in error["message"]
    plain = api.client.post(
        "/api/v1/labels/S01-00001/bind",
        json={"code": "5900820000011"},
        headers=api.headers("store"),
    )
    assert plain.status_code == 200, plain.text
    assert plain.json()["sku"] == "MLK-1"
