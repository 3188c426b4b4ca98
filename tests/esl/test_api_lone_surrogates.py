"""docs/api.md, Errors: "Nothing a client sends produces a 500". A JSON string may escape
half of a UTF-16 surrogate pair alone (`"\\ud800"`): no character, which neither database
stores and no answer can write as UTF-8. In a template region's name, a product's
`web_url`, a promotion's `name` or a `set_price` item's `sku` it was a 500 Internal Server
Error (pydantic refused it in most other fields, these it let through). Such a body is
now 422 `invalid_request` naming the place, as a body that is not UTF-8 is, and nothing
is stored; a pair (one emoji) is one character and is taken."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from esl.db.engine import session_factory
from esl.db.models import ProductRow, PublicationRow
from esl.db.template_models import LabelTemplateRow
from tests.support.api import Api

REASON = (
    "holds a lone surrogate (\\ud800-\\udfff escaped alone): half of a UTF-16 pair is no character"
)
PRODUCT = (
    '{"name": "Mleko", "vat_rate": "5", "net_content": "1", "net_unit": "l", '
    '"on_sale_since": "2025-01-01T00:00:00Z", "web_url": "https://sklep.example/\\ud800"}'
)


@pytest.mark.parametrize(
    ("method", "path", "body", "location"),
    [
        (
            "PUT",
            "/api/v1/templates/strip",
            '{"regions": [{"name": "a\\ud800", "fill": "price", "box": [0, 0, 1, 1]}]}',
            ["body", "regions", "0", "name"],
        ),
        (
            "PUT",
            "/api/v1/templates/strip",
            '{"regions": [{"fill": "price", "box": [0, 0, 1, 1]}], "\\udc00": 1}',
            ["body", "\\udc00"],
        ),
        ("PUT", "/api/v1/products/NEW-1", PRODUCT, ["body", "web_url"]),
        (
            "POST",
            "/api/v1/publications",
            '{"title": "t", "items": [{"action": "set_price", "sku": "MLK\\ud800", '
            '"amount": "3.49"}]}',
            ["body", "items", "0", "sku"],
        ),
        (
            "POST",
            "/api/v1/publications",
            '{"title": "t", "items": [{"action": "upsert_promotion", "promotion_id": "P1", '
            '"kind": "percent_off", "percent": "10", "skus": ["MLK-1"], "name": "Lato \\udfff"}]}',
            ["body", "items", "0", "name"],
        ),
    ],
    ids=[
        "template-region-name",
        "template-key",
        "product-web-url",
        "set-price-sku",
        "promotion-name",
    ],
)
def test_a_lone_surrogate_in_a_json_body_is_refused_with_its_place_and_nothing_stored(
    api: Api, method: str, path: str, body: str, location: list[str]
) -> None:
    role = "pricing"
    answer = api.client.request(
        method,
        path,
        content=body,
        headers={**api.headers(role), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "error": {
            "code": "invalid_request",
            "message": "the request does not match the API",
            "problems": [{"location": location, "reason": REASON}],
        }
    }
    with session_factory(api.engine)() as session:
        for table in (LabelTemplateRow, PublicationRow):
            assert session.scalar(select(func.count()).select_from(table)) == 0
        assert session.get(ProductRow, "NEW-1") is None


def test_a_surrogate_pair_is_one_character_and_is_taken(api: Api) -> None:
    body = '{"regions": [{"name": "cena \\ud83d\\udcb0", "fill": "price", "box": [0, 0, 1, 1]}]}'
    answer = api.client.put(
        "/api/v1/templates/strip",
        content=body,
        headers={**api.headers("pricing"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["definition"]["regions"][0]["name"] == "cena \U0001f4b0"


def test_the_key_is_checked_first(api: Api) -> None:
    answer = api.client.put(
        "/api/v1/products/NEW-1", content=PRODUCT, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401, answer.text
