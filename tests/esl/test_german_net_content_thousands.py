"""A German product file's net content "1.000" g (a kilogram, the dot grouping thousands) was
read as 1 g, so the de_DE label's Grundpreis was a thousand times too high.

d82c379 refused "1.000" as "one or a thousand?" in money (price, promotion and history
files, publications) because "in de_DE and de_AT the dot groups thousands"
(docs/csv-formats.md), but the product file's `net_content`, from which every label's unit
price (Grundpreis, PAngV; since b58ab76 always per 1 kg in Germany) is computed, was still
read with the dot as a decimal point: a 1 kg bag of coffee at 12,99 was stored as 1 g and
its label said "1 kg = 12.990,00", and the audit called that label a match. A net content
written as a thousands group is now refused with the same question, in the file and in the
API's product PUT; one no group can be ("0,750" l, "1,5" kg, "1000" g) is taken as before.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.models import ProductRow
from esl.errors import ImportRejectedError
from esl.imports import import_prices, import_products
from esl.services.quotes import quote
from tests.support.api import Api
from tests.support.database import START

AMBIGUOUS = "three digits after the decimal sign: one or a thousand?"
PRODUCTS = (
    "sku;name;brand;gtin;category;vat_rate;net_content;net_unit;perishable;on_sale_since;web_url\r\n"
    "KAF-9;Kaffee 1 kg;Tchibo;;coffee;7;{net};{unit};no;2025-01-01T00:00:00Z;\r\n"
)
PRICES = (
    "sku;scope;channel;store_or_zone;price;currency;valid_from;valid_until\r\n"
    "KAF-9;national;;;12,99;PLN;;\r\n"
)


def _unit_price(engine: Engine, net: str, unit: str = "g") -> tuple[Decimal | None, str | None]:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        import_products(
            session, PRODUCTS.format(net=net, unit=unit), imported_by="t", now=START, currency="PLN"
        )
        import_prices(session, PRICES, currency="PLN", imported_by="t", now=START)
    with sessions() as session:
        resolved = quote(
            session,
            sku="KAF-9",
            store="S01",
            channel="store",
            at=START + timedelta(hours=1),
            now=START + timedelta(hours=1),
            locale="de_DE",
            currency="PLN",
        )
    unit_price = resolved.unit_price
    return (None if unit_price is None else unit_price.amount), resolved.unit_label


def test_net_content_1000_g_written_plainly_is_a_kilogram(seeded: Engine) -> None:
    # 1 kg at 12,99: the Grundpreis equals the price and is left off (docs/pricing.md).
    assert _unit_price(seeded, "1000") == (None, None)


@pytest.mark.parametrize(
    ("net", "unit", "expected"),
    [
        ("250", "g", (Decimal("51.96"), "1 kg")),
        ("0,750", "l", (Decimal("17.32"), "1 Liter")),  # a leading 0 groups no thousands
        ("1,5", "kg", (Decimal("8.66"), "1 kg")),
        ("1.5", "kg", (Decimal("8.66"), "1 kg")),
    ],
)
def test_net_contents_no_thousands_group_can_be_are_taken(
    seeded: Engine, net: str, unit: str, expected: tuple[Decimal, str]
) -> None:
    assert _unit_price(seeded, net, unit) == expected


@pytest.mark.parametrize(
    ("net", "hint"),
    [
        ("1.000", "(write 1000 or 1,0)"),
        ("2,500", "(write 2500 or 2.5)"),
        ("12.000", "(write 12000 or 12,0)"),
    ],
)
def test_net_content_written_as_a_thousands_group_is_refused(
    seeded: Engine, net: str, hint: str
) -> None:
    with pytest.raises(ImportRejectedError) as refused:
        _unit_price(seeded, net)
    assert refused.value.problems == [
        {"line": 2, "reason": f"net_content {net!r}: {AMBIGUOUS} {hint}"}
    ]
    with session_factory(seeded)() as session:
        assert session.scalar(select(ProductRow.sku).where(ProductRow.sku == "KAF-9")) is None


def _put(api: Api, net_content: object) -> tuple[int, dict[str, object]]:
    body = {
        "name": "Kaffee 1 kg",
        "vat_rate": "7",
        "net_content": net_content,
        "net_unit": "g",
        "on_sale_since": "2025-01-01T00:00:00Z",
    }
    answer = api.client.put("/api/v1/products/KAF-9", json=body, headers=api.headers("pricing"))
    return answer.status_code, answer.json()


def test_the_api_refuses_a_net_content_string_written_as_a_thousands_group(api: Api) -> None:
    status, body = _put(api, "1.000")
    assert status == 422, body
    assert body["error"]["problems"] == [  # type: ignore[index]
        {
            "location": ["body", "net_content"],
            "reason": f"Value error, net_content '1.000': {AMBIGUOUS} (write 1000 or 1.0)",
        }
    ]
    missing = api.client.get("/api/v1/products/KAF-9", headers=api.headers("pricing"))
    assert missing.status_code == 404
    for net_content in ("1000", "0.750", "1.5"):
        status, body = _put(api, net_content)
        assert status == 200, body
        assert Decimal(str(body["net_content"])) == Decimal(net_content)
