"""`PUT /products/{sku}` and the product file apply the same rules (a SKU's spelling and
case twins, one GTIN one product, a re-used SKU's ledger, an on_sale_since not moved past
what was sold, versions, category moves in the Omnibus ledger, the labels handed to
planning). Each change here is made once through the API and once through a product file
into a second, identical database on the same test clock; what a user then sees must be
the same: a shelf label would otherwise say another name, unit price or 30-day prior
price depending on which way the product came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from esl.api.app import create_app
from esl.db.engine import session_factory
from esl.db.mapping import product_from_row
from esl.db.models import (
    LedgerEntryRow,
    LedgerInstantRow,
    PlanningQueueRow,
    PlanningQueueShelfRow,
    ProductRow,
    ProductVersionRow,
    PublicationRow,
)
from esl.imports import import_products
from esl.imports.products import PRODUCT_COLUMNS
from esl.services.keys import Role, create_key
from esl.settings import Settings
from esl.text_lengths import PRODUCT_NAME_LENGTH, WEB_URL_LENGTH
from pricing.errors import EslError
from tests.support.api import Api, AppSwitch
from tests.support.api_and_file import (  # noqa: F401 - fixtures
    Rows,
    by_file_fixture,
    differences,
    file_line,
    price_three_products,
    rows_seen,
)
from tests.support.clock import Clock
from tests.support.database import (
    BACKENDS,
    START,
    backend_engine,
    wait_until_idle,
)
from tests.support.ledger import category_promotion
from tests.support.pipeline import publish

DAY = timedelta(days=1)
CHEESE = {
    "name": "Ser gouda 150 g",
    "brand": "Mlekovita",
    "gtin": "5900512000015",
    "category": "dairy",
    "vat_rate": "5",
    "net_content": "150",
    "net_unit": "g",
    "perishable": False,
    "on_sale_since": "2025-01-01T00:00:00+00:00",
    "web_url": None,
    "unit_price_per_100": False,
}
# A web address as long as its column allows.
URL = "https://shop.example/" + "u" * (WEB_URL_LENGTH - len("https://shop.example/"))
MILK_GTIN = "5900820000011"  # MLK-1's, seeded
YOGHURT_GTIN = "5901234123457"
# Who wrote a row and how it is titled differ by path ("catalogue" and "product CHS-1",
# "import" and "product file"); a row's id is the database's own.
PATH_COLUMNS = {"id", "title", "kind", "created_by", "published_by", "impact", "queued_at"}
TABLES = (
    ProductRow,
    ProductVersionRow,
    LedgerEntryRow,
    LedgerInstantRow,
    PublicationRow,
    PlanningQueueRow,
    PlanningQueueShelfRow,
)


@dataclass(frozen=True)
class Change:
    """One product as a user writes it: the API's body, the same as a product file line."""

    sku: str
    product: dict[str, Any]

    def csv(self) -> str:
        return file_line(PRODUCT_COLUMNS, {**self.product, "sku": self.sku})


def _cheese(**facts: Any) -> dict[str, Any]:
    return {**CHEESE, **facts}


def _history(engine: Engine, clock_now: datetime) -> None:
    """The same past in either database: the three products priced at `clock_now`, the
    coffee 1.00 off from an hour later to day 20, the dairy 1.00 off from 5 days on."""
    sessions = session_factory(engine)
    price_three_products(sessions, clock_now)
    publish(
        sessions,
        [category_promotion("coffee", starts=clock_now + DAY / 24, ends=clock_now + 20 * DAY)],
        now=clock_now,
    )
    publish(
        sessions,
        [category_promotion("dairy", starts=clock_now + 5 * DAY, ends=clock_now + 9 * DAY)],
        now=clock_now,
    )


def _seen(engine: Engine) -> Rows:
    """What a user sees of the products, their versions, the ledger, the publications
    and the labels handed to planning: every row, without what differs by path."""
    return rows_seen(engine, TABLES, PATH_COLUMNS)


def _put(api: Api | httpx.Client, change: Change, headers: dict[str, str] | None = None) -> bool:
    """The change through `PUT /products/{sku}` with the pricing team's key; accepted?"""
    client = api.client if isinstance(api, Api) else api
    headers = api.headers("pricing") if isinstance(api, Api) else headers
    answer = client.put(f"/api/v1/products/{change.sku}", json=change.product, headers=headers)
    assert answer.status_code in {200, 409, 422}, answer.text
    return answer.status_code == 200


def _import(engine: Engine, change: Change, now: datetime) -> bool:
    """The change as a product file, at the API's clock reading; accepted?"""
    try:
        with session_factory(engine).begin() as session:
            import_products(session, change.csv(), imported_by="t", now=now, currency="PLN")
    except EslError:
        return False
    return True


SCENARIOS = {
    "new product in a category with a promotion ending later": Change(
        "YOG-1", _cheese(name="Jogurt", gtin=YOGHURT_GTIN, category="coffee")
    ),
    "unchanged re-put": Change("CHS-1", _cheese()),
    "name change": Change("CHS-1", _cheese(name="Ser gouda dojrzewający 150 g")),
    "category move into a running promotion, out of one starting later": Change(
        "CHS-1", _cheese(category="coffee")
    ),
    "SKU re-used with another GTIN after the old product sold": Change(
        "CHS-1", _cheese(name="Jogurt", gtin=YOGHURT_GTIN, on_sale_since="{now}")
    ),
    "on_sale_since moved later past ledger prices": Change("CHS-1", _cheese(on_sale_since="{now}")),
    # The API's "" and the file's empty column both say the product has no page: a
    # label drew the QR layout (and no QR) for one and the layout without it for the other.
    "web URL cleared": Change("CHS-1", _cheese(web_url="")),
    # A file trims blanks around every cell; the API took its text as sent, so a name
    # padded in a PIM was drawn with its spaces, and the same product from a file was a
    # change (a version, a publication, labels replanned for nothing).
    "re-put with blanks around its texts": Change(
        "CHS-1",
        _cheese(
            name=" Ser gouda 150 g ",
            brand="\tMlekovita",
            gtin=f"{CHEESE['gtin']} ",
            category="dairy\u00a0",
            net_unit=" g",
            on_sale_since=f" {CHEESE['on_sale_since']} ",
            web_url=" https://shop.example/chs-1\t",
        ),
    ),
    "new product with blanks around its name, inner ones kept": Change(
        "YOG-1", _cheese(name="  Jogurt  naturalny ", gtin=YOGHURT_GTIN)
    ),
    "name of blanks only": Change("CHS-1", _cheese(name=" \u00a0 ")),
    # A file counts a cell's length once trimmed; the API counted the blanks too, so a
    # name a PIM padded to its column's width was refused by one way only.
    "name too long only by the blanks around it": Change(
        "CHS-1", _cheese(name=f" {'S' * PRODUCT_NAME_LENGTH}\u00a0", web_url=f" {URL}\t")
    ),
    "name too long": Change("CHS-1", _cheese(name="S" * (PRODUCT_NAME_LENGTH + 1))),
    "GTIN clash": Change("CHS-1", _cheese(gtin=MILK_GTIN)),
    "case twin": Change("chs-1", _cheese(gtin="")),
    "bad SKU spelling": Change("SER-Ł", _cheese(gtin="")),
    # A unit is an enumerated word, read trimmed and in any case by both (the file read
    # "G" as g, the API refused it); one of no unit is refused by both.
    "net unit in upper case": Change("CHS-1", _cheese(net_unit=" G")),
    "unknown net unit": Change("CHS-1", _cheese(net_unit="gram")),
    "web URL of blanks only": Change("CHS-1", _cheese(web_url=" \t")),
}
REFUSED = {
    "name of blanks only",
    "name too long",
    "on_sale_since moved later past ledger prices",
    "GTIN clash",
    "case twin",
    "bad SKU spelling",
    "unknown net unit",
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_product_change_by_api_and_by_file_leaves_the_same_catalogue(
    api: Api, by_file: Engine, scenario: str
) -> None:
    for engine in (api.engine, by_file):
        _history(engine, api.clock.now)
    api.clock.advance(2 * DAY)
    now = api.clock.now
    template = SCENARIOS[scenario]
    change = Change(
        template.sku,
        {k: v.format(now=now.isoformat()) if isinstance(v, str) else v
         for k, v in template.product.items()},
    )  # fmt: skip
    before = _seen(api.engine)
    assert _seen(by_file) == before

    accepted = (_put(api, change), _import(by_file, change, now))

    assert accepted == ((False, False) if scenario in REFUSED else (True, True))
    assert differences(_seen(api.engine), _seen(by_file)) == {}
    if scenario in REFUSED:
        assert _seen(api.engine) == before


# Blanks a PIM or a spreadsheet leaves around a text: a space, a tab, a no-break space.
BLANKS = st.sampled_from(["", " ", "\t", "\u00a0"])


def _padded(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`texts`, each with blanks around it or none."""
    return st.tuples(BLANKS, texts, BLANKS).map("".join)


# A sequence of changes to a few SKUs (one a case twin of another), each of a few facts a
# retailer changes, between which the clock may move: new, unchanged, renamed, moved,
# re-used, postponed, clashing, in any order.
FACTS = st.fixed_dictionaries(
    {
        "name": _padded(st.sampled_from(["Ser gouda 150 g", "Jogurt", ""])),
        "brand": _padded(st.sampled_from(["Mlekovita", ""])),
        # 13 digits: a blank around it keeps it within the API's 14 characters.
        "gtin": st.one_of(
            st.just(""), _padded(st.sampled_from([CHEESE["gtin"], YOGHURT_GTIN, MILK_GTIN]))
        ),
        "category": _padded(st.sampled_from(["dairy", "coffee", ""])),
        "net_unit": _padded(st.just("g")),
        "on_sale_since": _padded(st.sampled_from([CHEESE["on_sale_since"], "{now}", "{soon}"])),
        "web_url": st.one_of(st.none(), _padded(st.sampled_from(["", "https://shop.example/c"]))),
    }
)
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["CHS-1", "YOG-1", "yog-1"]),
        FACTS,
        st.sampled_from([timedelta(0), DAY / 24, 3 * DAY]),
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_any_sequence_of_product_changes_by_api_and_by_file_agrees(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    http_server: tuple[AppSwitch, str],
    steps: list[Any],
) -> None:
    folder = tmp_path_factory.mktemp("sequence")
    (folder / "api").mkdir()
    (folder / "file").mkdir()
    clock = Clock()
    with (
        backend_engine(backend, folder / "api") as by_api,
        backend_engine(backend, folder / "file") as by_file,
    ):
        for engine in (by_api, by_file):
            _history(engine, START)
        with session_factory(by_api).begin() as session:
            _, token = create_key(session, name="pricing", role=Role.PRICING, store=None, now=START)
        switch, url = http_server
        switch.app = create_app(
            Settings(data_dir=folder, currency="PLN"), engine=by_api, clock=clock
        )
        with httpx.Client(base_url=url, timeout=30) as client:
            for sku, facts, wait in steps:
                clock.advance(wait)
                stamps = {"now": clock.now, "soon": clock.now + DAY}
                since = facts["on_sale_since"].format(
                    **{k: v.isoformat() for k, v in stamps.items()}
                )
                change = Change(sku, _cheese(**{**facts, "on_sale_since": since}))
                accepted = _put(client, change, {"X-API-Key": token})
                assert _import(by_file, change, clock.now) == accepted, change
                assert differences(_seen(by_api), _seen(by_file)) == {}, change
        switch.app = None
        wait_until_idle(by_api)


def test_a_product_stored_with_an_empty_web_url_keeps_it_until_its_next_write(api: Api) -> None:
    """Before 7 December 2026 the API stored `""`: such a product reads (and its labels are
    drawn) as stored, so nothing changes on a shelf without a publication saying why; its
    next write records the change once and hands its labels to planning."""
    _history(api.engine, api.clock.now)
    with session_factory(api.engine).begin() as session:
        session.execute(update(ProductRow).where(ProductRow.sku == "CHS-1").values(web_url=""))
    read = api.client.get("/api/v1/products/CHS-1", headers=api.headers("auditor"))
    assert read.json()["web_url"] == ""
    with Session(api.engine) as session:
        # What planning and the audit price its labels with: the layout they were drawn in.
        assert product_from_row(session.get_one(ProductRow, "CHS-1")).web_url == ""
    before = _seen(api.engine)

    api.clock.advance(DAY)
    assert _put(api, Change("CHS-1", _cheese(web_url="")))
    written = _seen(api.engine)
    api.clock.advance(DAY)
    assert _put(api, Change("CHS-1", _cheese(web_url="")))

    new = differences(written, before)
    assert [dict(row)["web_url"] for row in new["products"]["api only"]] == [None]
    assert [dict(row)["web_url"] for row in new["product_versions"]["api only"]] == [None]
    assert len(new["planning_queue"]["api only"]) == 1
    assert _seen(api.engine) == written  # the same write again is no change


@pytest.mark.parametrize("padded", [" YOG-1 ", "YOG-1 ", "\u00a0YOG-1"])
def test_a_path_sku_with_blanks_around_it_is_refused_naming_the_sku_meant(
    api: Api, by_file: Engine, padded: str
) -> None:
    """A file trims its sku cell, so its " YOG-1 " is YOG-1. A path names a product
    exactly, and one with blanks around it is a client's bug (a fixed-width column sent
    as it was): `PUT` is refused saying which SKU was meant, rather than creating a
    product " YOG-1 " no file can name, or quietly writing YOG-1 under another name."""
    now = api.clock.now
    yoghurt = _cheese(name="Jogurt", gtin=YOGHURT_GTIN)
    before = _seen(api.engine)

    answer = api.client.put(
        f"/api/v1/products/{quote(padded)}", json=yoghurt, headers=api.headers("pricing")
    )

    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_item", "sku")
    assert "blanks" in error["message"], error
    assert "write 'YOG-1'" in error["message"], error
    assert _seen(api.engine) == before
    # The file's line is the product the API names without the blanks: the same one.
    assert _import(by_file, Change(padded, yoghurt), now)
    assert _put(api, Change("YOG-1", yoghurt))
    assert differences(_seen(api.engine), _seen(by_file)) == {}
