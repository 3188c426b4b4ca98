"""Review: the store summary's `unlabelled_products` is meant to find shelves with no label
(docs/audit.md: "unlabelled products"), but it is keyed on the web price: a product sold at
the till of a store (a store-channel price there) and not on the web is never listed
however long it stands unlabelled, while a web-only product, which no till of the store
sells, is listed in every store."""

from __future__ import annotations

from datetime import timedelta

from esl.imports import import_products
from tests.audit.world import T0, AuditWorld

AT = T0 + timedelta(hours=2)
PRODUCTS = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
STO-1,Chleb wiejski 500 g,Piekarnia,5900000000022,bread,5,500,g,no,2025-01-01T00:00:00Z,
"""


def test_a_product_sold_only_at_the_till_without_a_label_is_listed(world: AuditWorld) -> None:
    """STO-1 costs 5.90 at S01's till (a store-channel price, no web price); no label is
    bound to it in S01. The shelf has no price for it: the summary must list it."""
    with world.sessions.begin() as session:
        import_products(session, PRODUCTS, currency="PLN", imported_by="test", now=T0)
    world.publish(
        [{"action": "set_price", "sku": "STO-1", "amount": "5.90", "channel": "store"}],
        now=T0 - timedelta(days=1),
    )
    report = world.audit(at=AT, stores=["S01"]).report
    (summary,) = report.stores
    assert "STO-1" in summary.unlabelled_products, summary.unlabelled_products


WEB_ONLY = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
WEB-1,Kawa ziarnista 1 kg,Palarnia,5900000000039,coffee,23,1000,g,no,2025-01-01T00:00:00Z,
"""


def test_a_web_only_product_no_till_sells_is_not_listed(world: AuditWorld) -> None:
    """WEB-1 costs 89.00 on the web only: no till sells it, no shelf owes a price for it,
    so no store lists it as unlabelled (before, every store did)."""
    with world.sessions.begin() as session:
        import_products(session, WEB_ONLY, currency="PLN", imported_by="test", now=T0)
    world.publish(
        [{"action": "set_price", "sku": "WEB-1", "amount": "89.00", "channel": "web"}],
        now=T0 - timedelta(days=1),
    )
    report = world.audit(at=AT).report
    assert report.stores
    for summary in report.stores:
        assert "WEB-1" not in summary.unlabelled_products, summary
