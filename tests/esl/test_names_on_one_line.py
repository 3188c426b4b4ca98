"""A name with a control character or a line break (a tab typed in a PIM, a spreadsheet
cell's line break) is refused where it enters: 422 naming the API field, a bad row naming
the CSV column, nothing stored. Before, the API and the files took it (200), and a label
cannot draw it: a line break failed every planning pass, a tab was drawn as a box
(tests/pipeline/test_name_with_a_line_break.py shows a name stored before)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.db.models import ProductRow, PromotionRow, StoreRow
from esl.errors import ImportRejectedError
from esl.imports import import_products, import_promotions
from esl.imports.stores import import_stores
from tests.support.api import MILK_PRODUCT as PRODUCT
from tests.support.api import Api
from tests.support.database import START

PRODUCT_HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
)
PROMOTION_HEADER = "id,name,kind,skus,percent,valid_from,valid_until\n"
WEEK = "2026-04-01T00:00:00Z,2026-04-08T00:00:00Z"
# C0 controls, NEL (a C1 control), the Unicode line separator, and line breaks.
CONTROLS = ["\n", "\r\n", "\t", "\x0b", "\x1f", "\x85", "\u2028"]


def _reasons(response: Any) -> dict[tuple[str, ...], str]:
    return {tuple(p["location"]): p["reason"] for p in response.json()["error"]["problems"]}


def _stored_name(engine: Engine, row: type, key: str) -> str:
    with session_factory(engine)() as session:
        return session.get(row, key).name  # type: ignore[no-any-return, union-attr]


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_a_product_name_with_a_control_character_is_refused_naming_the_field(
    api: Api, control: str
) -> None:
    before = _stored_name(api.engine, ProductRow, "MLK-1")
    product = {**PRODUCT, "name": PRODUCT["name"].replace(" ", control, 1)}
    answer = api.client.put("/api/v1/products/MLK-1", json=product, headers=api.headers("pricing"))
    assert answer.status_code == 422, answer.text
    reason = _reasons(answer)[("body", "name")]
    assert f"(U+{ord(control[0]):04X})" in reason
    assert "line break" in reason
    assert _stored_name(api.engine, ProductRow, "MLK-1") == before


def test_a_product_name_is_stored_without_the_blanks_around_it_as_a_file_stores_it(
    api: Api,
) -> None:
    # Before, " Mleko  2%\t" was refused for its tab, and " Mleko  2% " stored and drawn
    # with its spaces, where a product file stored "Mleko  2%".
    product = {**PRODUCT, "name": "\u00a0Mleko  2%\t", "brand": " Łaciate "}
    answer = api.client.put("/api/v1/products/MLK-1", json=product, headers=api.headers("pricing"))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["name"], answer.json()["brand"]) == ("Mleko  2%", "Łaciate")
    assert _stored_name(api.engine, ProductRow, "MLK-1") == "Mleko  2%"


@pytest.mark.parametrize("name", ["", " ", " \u00a0\t", "\x1f"], ids=repr)
def test_a_product_name_of_blanks_only_is_refused_as_an_empty_one(api: Api, name: str) -> None:
    before = _stored_name(api.engine, ProductRow, "MLK-1")
    product = {**PRODUCT, "name": name}
    answer = api.client.put("/api/v1/products/MLK-1", json=product, headers=api.headers("pricing"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    reason = _reasons(answer)[("body", "name")]
    assert "at least 1 character" in reason or "name is empty" in reason, reason
    assert _stored_name(api.engine, ProductRow, "MLK-1") == before


def test_every_name_the_api_takes_is_held_to_one_line(api: Api) -> None:
    for field in ("brand", "category"):
        product = {**PRODUCT, field: "Łaciate\tUHT"}
        answer = api.client.put(
            "/api/v1/products/MLK-1", json=product, headers=api.headers("pricing")
        )
        assert answer.status_code == 422, answer.text
        assert "'\\t' (U+0009)" in _reasons(answer)[("body", field)]
    store = api.client.put(
        "/api/v1/stores/S01", json={"name": "Gdańsk\r\nOliwa"}, headers=api.headers("admin")
    )
    assert store.status_code == 422, store.text
    assert "'\\r' (U+000D), '\\n' (U+000A)" in _reasons(store)[("body", "name")]
    promotion = {"action": "upsert_promotion", "promotion_id": "P1", "kind": "percent_off",
                 "percent": "10", "skus": ["MLK-1"], "name": "Mleko\u2028-10%"}  # fmt: skip
    published = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [promotion]},
        headers=api.headers("pricing"),
    )
    assert published.status_code == 422, published.text
    place = ("body", "items", "0", "upsert_promotion", "name")
    assert "U+2028" in _reasons(published)[place]


def test_the_spaces_money_is_written_with_are_taken(api: Api) -> None:
    name = "Mleko UHT 3,2\u2009% 1\xa0l, 1\u202f000 ml"
    answer = api.client.put(
        "/api/v1/products/MLK-1", json={**PRODUCT, "name": name}, headers=api.headers("pricing")
    )
    assert answer.status_code == 200, answer.text
    assert _stored_name(api.engine, ProductRow, "MLK-1") == name


def _product_line(name: str, *, brand: str = "Mlekovita", category: str = "dairy") -> str:
    return f"NEW-1,{name},{brand},,{category},5,200,g,yes,2025-01-01T00:00:00Z\n"


def _rejected(engine: Engine, importer: Any, text: str) -> list[dict[str, object]]:
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(engine)() as session,
        session.begin(),
    ):
        importer(session, text, currency="PLN", imported_by="t", now=START)
    problems: list[dict[str, object]] = caught.value.fields["problems"]
    return problems


@pytest.mark.parametrize(
    ("line", "column", "shown"),
    [
        (_product_line('"Masło\nekstra"'), "name", "'\\n' (U+000A)"),
        (_product_line("Masło\tekstra"), "name", "'\\t' (U+0009)"),
        (_product_line("Masło", brand="Mleko\x1fvita"), "brand", "'\\x1f' (U+001F)"),
        (_product_line("Masło", category="dai\x85ry"), "category", "'\\x85' (U+0085)"),
    ],
    ids=["name-line-break", "name-tab", "brand-unit-separator", "category-nel"],
)
def test_a_product_file_row_with_a_control_character_is_a_bad_row_naming_the_column(
    seeded: Engine, line: str, column: str, shown: str
) -> None:
    good = _product_line("Masło").replace("NEW-1", "NEW-0")
    [problem] = _rejected(seeded, import_products, PRODUCT_HEADER + good + line)
    # A quoted cell holding a line break: the row is named by the line it ends on.
    assert problem["line"] == 3 + line.count("\n") - 1
    assert str(problem["reason"]).startswith(f"{column} contains {shown}")
    with session_factory(seeded)() as session:
        assert session.get(ProductRow, "NEW-0") is None


def test_a_store_and_a_promotion_file_refuse_a_name_with_a_control_character(
    seeded: Engine,
) -> None:
    stores = 'code,name\nS01,Warszawa Mokotów\nS02,"Gdańsk\r\nOliwa"\n'
    [problem] = _rejected(seeded, import_stores, stores)
    assert problem["line"] == 4  # the row of S02, on the line it ends on
    assert str(problem["reason"]).startswith("name contains '\\r' (U+000D), '\\n' (U+000A)")
    assert _stored_name(seeded, StoreRow, "S01") == "Gdańsk Oliwa"
    promotions = PROMOTION_HEADER + f"P1,Mleko\t-10%,percent_off,MLK-1,10,{WEEK}\n"
    [problem] = _rejected(seeded, import_promotions, promotions)
    assert problem == {
        "line": 2,
        "reason": "name contains '\\t' (U+0009): one line of text, without control "
        "characters, line breaks or direction controls (a tab, a line break, U+202E)",
    }
    with session_factory(seeded)() as session:
        assert session.get(PromotionRow, "P1") is None


def test_an_uploaded_product_file_with_a_line_break_in_a_name_names_its_line(api: Api) -> None:
    text = (
        PRODUCT_HEADER + 'NEW-1,"Masło\nekstra",Mlekovita,,dairy,5,200,g,yes,2025-01-01T00:00:00Z\n'
    )
    response = api.import_csv("products", text)
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "import_rejected", body
    [problem] = body["problems"]
    assert problem["line"] == 3
    assert "name contains '\\n' (U+000A)" in problem["reason"]
