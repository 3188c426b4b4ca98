"""A supplier's GTIN corrected before a launch, together with the launch postponed (a
launch not yet come may be postponed: docs/pricing.md, *New products*), was taken for a
re-used SKU: the product's ledger_since was set to the change's instant, so the price
loaded ahead of the launch, the one the shelf then sold at, was dropped from its own
ledger, and a later 'reduction' was announced against a higher price than the real low
(a GTIN changed plus a later on_sale_since counted as another product even though the
old one never sold). A re-use needs the old product to have sold (docs/pricing.md,
*Re-used SKUs*)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from esl.db.models import ProductRow
from esl.imports import import_products
from tests.pipeline.small_world import World
from tests.support.ledger import DAY, api_fixture, world_fixture  # noqa: F401 - fixtures
from tests.support.pipeline import publish

PROVISIONAL_GTIN = "5901234123464"
REAL_GTIN = "5901234123471"
PRODUCT_HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)


def _product(on_sale_since: datetime, gtin: str) -> dict[str, Any]:
    return {
        "name": "Herbata nowa 100 g",
        "brand": "Teekanne",
        "gtin": gtin,
        "category": "tea",
        "vat_rate": "23",
        "net_content": "100",
        "net_unit": "g",
        "perishable": False,
        "on_sale_since": on_sale_since.isoformat(),
    }


async def _postpone(
    world: World, api: httpx.AsyncClient, via: str, on_sale_since: datetime, gtin: str
) -> None:
    """The launch postponed and the GTIN given in one PUT or one product file line."""
    if via == "put":
        answer = await api.put("/api/v1/products/NEW-1", json=_product(on_sale_since, gtin))
        assert answer.status_code == 200, answer.text
        return
    line = (
        f"NEW-1,Herbata nowa 100 g,Teekanne,{gtin},tea,23,100,g,no,{on_sale_since.isoformat()},\n"
    )
    with world.sessions.begin() as session:
        report = import_products(
            session, PRODUCT_HEADER + line, currency="PLN", imported_by="t", now=world.clock.now
        )
    assert report.updated == 1, report


@pytest.mark.parametrize("via", ["put", "file"])
@pytest.mark.parametrize(
    "corrected_gtin", [PROVISIONAL_GTIN, REAL_GTIN], ids=["same-gtin", "gtin-fixed"]
)
async def test_postponed_launch_with_gtin_fix_keeps_the_price_it_sold_at(
    world: World, api: httpx.AsyncClient, corrected_gtin: str, via: str
) -> None:
    t0 = world.clock.now
    answer = await api.put("/api/v1/products/NEW-1", json=_product(t0 + DAY, PROVISIONAL_GTIN))
    assert answer.status_code == 200, answer.text
    # The shelf is ready ahead of the launch: 9.49 loaded at T0.
    publish(world.sessions, [{"action": "set_price", "sku": "NEW-1", "amount": "9.49"}], now=t0)

    # Two hours on, before the launch: the delivery slips two days, and the supplier's
    # final GTIN replaces the provisional one in the same change.
    world.clock.advance(DAY / 12)
    await _postpone(world, api, via, t0 + 3 * DAY, corrected_gtin)
    # Launched at 9.49 on T0+3d; the list price raised to 12.00 on T0+10d.
    world.clock.advance(10 * DAY)
    publish(
        world.sessions,
        [{"action": "set_price", "sku": "NEW-1", "amount": "12.00"}],
        now=world.clock.now,
    )
    # On T0+20d a 'promotion' at 9.99: above the 9.49 the tea sold at 10 days before.
    world.clock.advance(10 * DAY)
    publish(
        world.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "TEA",
                "kind": "fixed_price",
                "amount": "9.99",
                "skus": ["NEW-1"],
                "valid_from": world.clock.now.isoformat(),
            }
        ],
        now=world.clock.now,
    )
    world.clock.advance(DAY / 24)
    q = await api.get("/api/v1/quote", params={"sku": "NEW-1", "store": "S01"})
    assert q.status_code == 200, q.text
    q = q.json()
    # The lowest price since on sale (T0+3d) is 9.49: 9.99 is no reduction from it
    # (before: prior 12.00, a saving of 2.01 announced).
    said = {k: q[k] for k in ("price", "prior_price", "saving", "announces_reduction")}
    assert (q["price"], q["prior_price"], q["announces_reduction"]) == ("9.99", "9.49", False), said
    with world.sessions() as session:
        product = session.get(ProductRow, "NEW-1")
        assert product is not None
        # The same product, not sold yet: its ledger is not cut at the change.
        assert (product.gtin, product.on_sale_since, product.ledger_since) == (
            corrected_gtin,
            t0 + 3 * DAY,
            None,
        )
