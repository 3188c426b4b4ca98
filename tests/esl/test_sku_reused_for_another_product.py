"""A SKU re-used for another product (a new GTIN and name, going on sale now) carried the
ledger of the product it named before: CHS-1, a gouda at 4.99 for 40 days, re-used for a
yoghurt launched at list 2.49 with an introductory 1.99, had its label and quote announce
"Najniższa cena z 30 dni przed obniżką: 4,99 zł", a saving of 60 %, a price the yoghurt
never sold at (docs/pricing.md, *New products*: an introductory price is not announced).
The retailer could not say the SKU now named another product: its later on_sale_since was
refused, the ledger showing the SKU sold (the gouda). A new GTIN going on sale later is
another product (docs/pricing.md, *Re-used SKUs*): the SKU's ledger is the new product's
from then on, and the old product's past is still priced with its own facts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from esl.db.models import ProductRow
from esl.imports import import_history, import_products
from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    label_prior_price,
    promotion,
    world_fixture,
)
from tests.support.pipeline import publish

YOGHURT_GTIN = "5901234123457"
GOUDA_GTIN = "5900512000015"
PRODUCT_HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)


def _yoghurt(on_sale_since: datetime, gtin: str = YOGHURT_GTIN) -> dict[str, Any]:
    return {
        "name": "Jogurt naturalny",
        "brand": "Bakoma",
        "gtin": gtin,
        "category": "dairy",
        "vat_rate": "5",
        "net_content": "150",
        "net_unit": "g",
        "perishable": False,
        "on_sale_since": on_sale_since.isoformat(),
    }


async def _quote(api: httpx.AsyncClient, at: datetime | None = None) -> Any:
    params = {"sku": "CHS-1", "store": "S01", **({"at": at.isoformat()} if at else {})}
    answer = await api.get("/api/v1/quote", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ledger_since(world: World) -> datetime | None:
    with world.sessions() as session:
        product = session.get(ProductRow, "CHS-1")
        assert product is not None
        return product.ledger_since


def _gouda_reduction(world: World) -> datetime:
    """The gouda at 3.99 for five days from day 20 (against its 4.99): an instant then."""
    starts = world.clock.now + 20 * DAY
    publish(
        world.sessions,
        [promotion("GOUDA", "3.99", starts=starts, ends=starts + 5 * DAY)],
        now=world.clock.now,
    )
    return starts + DAY


def _launch(world: World) -> datetime:
    """An hour after the re-use: the yoghurt listed at 2.49, 1.99 for its first two weeks."""
    world.clock.advance(DAY / 24)
    launched = world.clock.now
    publish(
        world.sessions,
        [
            {"action": "set_price", "sku": "CHS-1", "amount": "2.49"},
            promotion("LAUNCH", "1.99", starts=launched, ends=launched + 14 * DAY),
        ],
        now=launched,
    )
    return launched


async def test_sku_reused_for_another_product_announces_only_its_own_prices(
    world: World, api: httpx.AsyncClient
) -> None:
    gouda_reduced = _gouda_reduction(world)
    world.clock.advance(40 * DAY)
    reused = world.clock.now
    answer = await api.put("/api/v1/products/CHS-1", json=_yoghurt(reused))
    assert answer.status_code == 200, answer.text
    assert answer.json()["on_sale_since"].startswith(reused.isoformat()[:19])
    assert _ledger_since(world) == reused
    _launch(world)

    # The introductory 1.99 announces nothing: the yoghurt never sold at the gouda's 4.99.
    q = await _quote(api)
    assert (q["price"], q["prior_price"], q["announces_reduction"]) == ("1.99", None, False), q
    assert label_prior_price(world) is None

    # The gouda's own reduction, quoted at that past instant, is still the gouda's.
    past = await _quote(api, at=gouda_reduced)
    assert (past["price"], past["prior_price"], past["announces_reduction"]) == (
        "3.99",
        "4.99",
        True,
    ), past

    # A real reduction 31 days after the launch: against the yoghurt's own 30-day low.
    world.clock.advance(31 * DAY)
    publish(
        world.sessions,
        [promotion("REAL", "1.79", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    q = await _quote(api)
    assert (q["price"], q["prior_price"], q["prior_price_basis"]) == (
        "1.79",
        "1.99",
        "lowest_30_days",
    ), q
    assert label_prior_price(world) == Decimal("1.99")


async def test_product_file_reusing_the_sku_and_history_of_the_old_product(
    world: World, api: httpx.AsyncClient
) -> None:
    """The product file says it the same way; the gouda's shelf history imported after
    does not move the yoghurt's on_sale_since back to the gouda's prices."""
    world.clock.advance(40 * DAY)
    reused = world.clock.now
    line = f"CHS-1,Jogurt naturalny,Bakoma,{YOGHURT_GTIN},dairy,5,150,g,no,{reused.isoformat()},\n"
    with world.sessions.begin() as session:
        report = import_products(
            session, PRODUCT_HEADER + line, currency="PLN", imported_by="t", now=reused
        )
    assert report.updated == 1, report
    with world.sessions.begin() as session:
        report = import_history(
            session,
            "sku,channel,store,effective_at,price,regular_price,currency\n"
            f"CHS-1,store,S01,{(reused - 100 * DAY).isoformat()},4.49,4.49,PLN\n",
            currency="PLN",
            imported_by="t",
            now=reused,
        )
    assert report.inserted == 1, report
    with world.sessions() as session:
        product = session.get(ProductRow, "CHS-1")
        assert product is not None
        assert (product.on_sale_since, product.ledger_since) == (reused, reused)
    _launch(world)
    q = await _quote(api)
    assert (q["price"], q["prior_price"], q["announces_reduction"]) == ("1.99", None, False), q
    assert label_prior_price(world) is None


async def test_a_later_date_without_a_new_gtin_is_the_same_product(
    world: World, api: httpx.AsyncClient
) -> None:
    """A later date with the same GTIN (in any form), or none, is still refused: nothing
    says the SKU names another product. A GTIN changed alone (the same goods relabelled)
    keeps the product's date and its ledger: the gouda's next reduction is against its
    4.99."""
    world.clock.advance(40 * DAY)
    for gtin in (GOUDA_GTIN, "0" + GOUDA_GTIN, ""):
        refused = await api.put("/api/v1/products/CHS-1", json=_yoghurt(world.clock.now, gtin))
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["field"] == "on_sale_since", error
        assert "re-used for another product" in error["message"], error

    stored = (await api.get("/api/v1/products/CHS-1")).json()
    relabelled = await api.put(
        "/api/v1/products/CHS-1",
        json={
            **{k: v for k, v in stored.items() if k != "sku"},
            "gtin": YOGHURT_GTIN,
        },
    )
    assert relabelled.status_code == 200, relabelled.text
    assert _ledger_since(world) is None
    world.clock.advance(DAY / 24)
    publish(
        world.sessions,
        [promotion("GOUDA", "3.99", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    q = await _quote(api)
    assert (q["price"], q["prior_price"]) == ("3.99", "4.99"), q
    kept = (await api.get("/api/v1/products/CHS-1")).json()
    assert (kept["gtin"], kept["on_sale_since"]) == (YOGHURT_GTIN, stored["on_sale_since"])
