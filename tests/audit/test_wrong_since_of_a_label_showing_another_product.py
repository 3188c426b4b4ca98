"""wrong_since is never LATER than when the shelf stopped showing the due label
(docs/audit.md: `wrong_since` is when the shelf stopped showing the due price;
`--fail-after` counts a label that has shown another price than the due one for longer).
A label re-bound to another product at the same price, still showing the old product,
was dated from a later edit of the bound product instead of from the re-binding."""

from __future__ import annotations

from datetime import timedelta

from esl.audit.classify import AuditClass
from esl.imports import import_products
from esl.services.labels import bind_label
from tests.audit.world import ADMIN, T0, AuditWorld

MLK2_CSV = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
MLK-2,Mleko 2% 1 l,Mlekovita,5900512000022,dairy,5,1,l,yes,2025-01-01T00:00:00Z,
"""
MLK2_RENAMED = MLK2_CSV.replace("Mleko 2% 1 l", "Mleko 2% 1 l UHT")


def test_rebound_label_showing_the_old_product_is_wrong_since_the_rebinding(
    world: AuditWorld,
) -> None:
    with world.sessions.begin() as session:
        import_products(session, MLK2_CSV, currency="PLN", imported_by="t", now=T0)
    world.publish(
        [{"action": "set_price", "sku": "MLK-2", "amount": "3.49"}], now=T0 - timedelta(days=30)
    )
    world.label("L-1", store="S02", sku="MLK-1")
    world.acknowledged("L-1", at=T0)  # shows MLK-1 at 3.49
    rebound_at = T0 + timedelta(hours=1)
    with world.sessions.begin() as session:
        bind_label(
            session,
            principal=ADMIN,
            label_id="L-1",
            sku="MLK-2",
            template="standard",
            now=rebound_at,
        )
    world.planned_but_unanswered("L-1", at=rebound_at, attempts=2, status="sent")
    # Four days later the pricing team fixes MLK-2's name (a product version, nothing
    # to do with the shelf that has shown MLK-1 for four days).
    renamed = rebound_at + timedelta(days=4)
    with world.sessions.begin() as session:
        import_products(session, MLK2_RENAMED, currency="PLN", imported_by="t", now=renamed)
    at = renamed + timedelta(minutes=1)
    world.checked_in("L-1", at=at - timedelta(seconds=30))
    report = world.audit(at=at).report
    verdict = {v.label_id: v for v in report.labels}["L-1"]
    assert verdict.audit_class is AuditClass.STALE, verdict
    assert verdict.reason.startswith("shows MLK-1 at 3.49 PLN, due MLK-2"), verdict.reason
    # The shelf has shown the wrong product since the re-binding, four days ago.
    assert verdict.wrong_since == rebound_at, (verdict.wrong_since, verdict.reason)
    assert [v.label_id for v in report.overdue(timedelta(minutes=30))] == ["L-1"]
