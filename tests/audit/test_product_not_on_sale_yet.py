"""A product announced ahead (on sale from tomorrow, priced today).

The quote, which "the web shop and the audit use" (docs/api.md, The quote), and the
pipeline (which plans and draws the label) give it a price now; the audit checks its
label against that price, not as a product with "no store price here: unbind the label".
Shelf, web and audit tell one story for one key and instant. `on_sale_since` only opens
the Omnibus window (docs/pricing.md, New products): a reduction before it has no prior
price and is not announced."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass
from esl.imports import import_products
from esl.services.quotes import quote
from tests.audit.world import T0, AuditWorld

AT = T0 + timedelta(hours=2)
LAUNCH = T0 + timedelta(days=1)
NEW_PRODUCT_CSV = f"""\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
NEW-1,Herbata nowa 100 g,Teekanne,,tea,23,100,g,no,{LAUNCH.isoformat()},
"""


def _new_product(world: AuditWorld) -> None:
    with world.sessions.begin() as session:
        import_products(session, NEW_PRODUCT_CSV, currency="PLN", imported_by="test", now=T0)
    world.publish([{"action": "set_price", "sku": "NEW-1", "amount": "5.99"}], now=T0)


def test_quote_and_audit_agree_on_a_product_not_on_sale_yet(world: AuditWorld) -> None:
    _new_product(world)
    world.label("L-new", store="S01", sku="NEW-1")
    world.acknowledged("L-new", at=T0)  # planned and drawn as the pipeline does: 5.99
    world.checked_in("L-new", at=AT - timedelta(minutes=1))

    with world.sessions() as session:
        web = quote(
            session, sku="NEW-1", store="S01", channel="web", at=AT, now=AT, locale="pl_PL",
            currency="PLN",
        )  # fmt: skip
        shelf = quote(
            session, sku="NEW-1", store="S01", channel="store", at=AT, now=AT, locale="pl_PL",
            currency="PLN",
        )  # fmt: skip
    assert (shelf.price.amount, web.price.amount) == (Decimal("5.99"), Decimal("5.99"))

    report = world.audit(at=AT).report
    verdict = {v.label_id: v for v in report.labels}["L-new"]
    assert verdict.shown_price == Decimal("5.99")
    # The quote prices it in both channels, the label shows that price: not "no store
    # price here: unbind the label".
    assert verdict.audit_class is not AuditClass.NO_LONGER_SOLD, verdict.reason
    assert verdict.due_price == shelf.price.amount
    assert verdict.web_price == web.price.amount
    assert verdict.audit_class is AuditClass.MATCH, verdict.reason
    s01 = next(s for s in report.stores if s.store == "S01")
    assert "NEW-1" not in s01.labels_on_unsold_products


def test_a_reduction_before_the_launch_announces_no_prior_price(world: AuditWorld) -> None:
    _new_product(world)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "NEW-20",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["NEW-1"],
                "valid_from": (T0 + timedelta(hours=1)).isoformat(),
            }
        ],
        now=T0 + timedelta(minutes=30),
    )
    at = T0 + timedelta(hours=2)
    world.label("L-new", store="S01", sku="NEW-1", at=at - timedelta(minutes=30))
    _, content = world.acknowledged("L-new", at=at - timedelta(minutes=30))
    # 5.99 was "charged" for an hour before the launch: no prior price, nothing announced.
    assert (content.price, content.prior_price) == (Decimal("4.79"), None)
    world.label("L-announced", store="S02", sku="NEW-1", at=at - timedelta(minutes=30))
    world.acknowledged(
        "L-announced",
        at=at - timedelta(minutes=30),
        altered=lambda c: dataclasses.replace(
            c, regular_price=Decimal("5.99"), prior_price=Decimal("5.99")
        ),
    )
    for label_id in ("L-new", "L-announced"):
        world.checked_in(label_id, at=at - timedelta(minutes=1))

    report = world.audit(at=at).report
    verdict = {v.label_id: v for v in report.labels}["L-new"]
    assert verdict.audit_class is AuditClass.MATCH, verdict.reason
    # A label announcing the pre-launch price as a prior price is caught.
    (problem,) = report.prior_price_problems
    assert problem.label_id == "L-announced"
    assert (problem.shown_price, problem.shown_prior, problem.expected_prior) == (
        Decimal("4.79"),
        Decimal("5.99"),
        None,
    )
