"""A product file's `vat_rate` and `net_content` and a promotion file's `percent` are
held to the digits the API takes in those fields (`esl/decimal_digits.py`): a line with
more is a bad line naming its column, and nothing is written. The files took any number:
a net content of `0.0000000001` g was stored (a unit price of 34 900 000 000 000 zł/kg
on the label), and a product or promotion stored so could not be sent back through
`PUT /products/{sku}` or a publication, which refuse it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import ProductRow, PromotionRow, PublicationRow
from esl.errors import ImportRejectedError
from esl.imports import import_products, import_promotions
from tests.support.api import MILK_PRODUCT, Api
from tests.support.database import START

PRODUCT_HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)
GOOD_PRODUCT = "NEW-1,Masło,Mlekovita,,dairy,5,200,g,yes,2025-01-01T00:00:00Z,\n"
PROMOTION_HEADER = "id,name,kind,skus,percent,valid_from,valid_until\n"
GOOD_PROMOTION = "OK-1,Dobra,percent_off,MLK-1,10,2026-04-01T00:00:00Z,2026-04-08T00:00:00Z\n"


def _count(engine: Engine, row: type) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(row)) or 0


@pytest.mark.parametrize(
    ("vat_rate", "net_content", "reason"),
    [
        ("5", "0.0000000001", "net_content '0.0000000001' has 10 decimal places, at most 4"),
        ("5", "0,00001", "net_content '0,00001' has 5 decimal places, at most 4"),
        (
            "5",
            "123456789",
            "net_content '123456789' has 9 digits before the decimal sign, at most 8",
        ),
        ("5.12345", "200", "vat_rate '5.12345' has 5 decimal places, at most 4"),
    ],
    ids=["net-content-tiny", "net-content-decimal-comma", "net-content-huge", "vat-rate"],
)
def test_a_product_number_with_more_digits_than_the_api_takes_is_a_bad_line(
    seeded: Engine, vat_rate: str, net_content: str, reason: str
) -> None:
    bad = f'BAD-1,Masło,Mlekovita,,dairy,{vat_rate},"{net_content}",g,yes,2025-01-01T00:00:00Z,\n'
    products, publications = _count(seeded, ProductRow), _count(seeded, PublicationRow)
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_products(
            session, PRODUCT_HEADER + GOOD_PRODUCT + bad, currency="PLN", imported_by="t", now=START
        )
    assert caught.value.fields["problems"] == [{"line": 3, "reason": reason}]
    assert _count(seeded, ProductRow) == products
    assert _count(seeded, PublicationRow) == publications


def test_a_product_number_the_api_takes_is_taken_from_a_file_too(seeded: Engine) -> None:
    """Zeros after the last significant decimal count as nothing, in the API as here."""
    line = 'NEW-2,Ser,Mlekovita,,dairy,7.5000,"12345678,99990",g,no,2025-01-01T00:00:00Z,\n'
    with session_factory(seeded)() as session, session.begin():
        import_products(session, PRODUCT_HEADER + line, currency="PLN", imported_by="t", now=START)
    with session_factory(seeded)() as session:
        product = session.get(ProductRow, "NEW-2")
        assert product is not None
        assert (product.vat_rate, product.net_content) == (Decimal("7.5"), Decimal("12345678.9999"))


def test_a_promotion_percent_with_more_decimals_than_the_api_takes_is_a_bad_line(
    seeded: Engine,
) -> None:
    bad = "THIRD,Jedna trzecia,percent_off,CHS-1,33.333333333,2026-04-01T00:00:00Z,\n"
    promotions = _count(seeded, PromotionRow)
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_promotions(
            session,
            PROMOTION_HEADER + GOOD_PROMOTION + bad,
            currency="PLN",
            imported_by="t",
            now=START,
        )
    assert caught.value.fields["problems"] == [
        {"line": 3, "reason": "percent '33.333333333' has 9 decimal places, at most 4"}
    ]
    assert _count(seeded, PromotionRow) == promotions


def test_the_api_refuses_the_numbers_the_files_refuse(api: Api) -> None:
    """The same limits, one place: what a file may not store, the API does not take."""
    pricing = api.headers("pricing")
    for field, value in (("net_content", "0.0000000001"), ("vat_rate", "5.12345")):
        body = {**MILK_PRODUCT, field: value}
        response = api.client.put("/api/v1/products/NEW-3", json=body, headers=pricing)
        assert response.status_code == 422, response.text
        [problem] = response.json()["error"]["problems"]
        assert problem["location"] == ["body", field]
    item = {
        "action": "upsert_promotion",
        "promotion_id": "THIRD",
        "kind": "percent_off",
        "percent": "33.333333333",
        "skus": ["CHS-1"],
    }
    response = api.client.post(
        "/api/v1/publications", json={"title": "t", "items": [item]}, headers=pricing
    )
    assert response.status_code == 422, response.text
