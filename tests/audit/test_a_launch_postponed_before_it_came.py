"""A launch announced ahead and then postponed (docs/pricing.md, New products: "list price
12.00 loaded on day -5; on sale from day 0": prices are loaded before a launch).

NEW-1 is entered at T0 with on_sale_since T0 + 1 d, and priced 12.00 at T0 (the shelf is
ready). At T0 + 2 h, still before the launch, the supplier's delivery slips by a week: the
product file gives on_sale_since T0 + 8 d. Nothing has been sold yet: no instant between the
stored on-sale date and now exists at all. The file was refused ("on_sale_since ... is after
the first price the ledger shows it charged (T0): it was on sale then") because a price
loaded before the launch counted as "charged"; the product would then keep a launch date a
week early and its introductory price at the real launch (9.99 from T0 + 8 d) is announced
as a reduction from a 12.00 nobody ever paid.
"""

from __future__ import annotations

from datetime import timedelta

from esl.db.models import ProductRow
from esl.imports import import_products
from tests.audit.world import T0, AuditWorld

HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)
ROW = "NEW-1,Herbata nowa 100 g,Teekanne,,tea,23,100,g,no,{since},\n"
LAUNCH = T0 + timedelta(days=1)
POSTPONED = T0 + timedelta(days=8)


def test_a_launch_postponed_before_it_happened_is_accepted(world: AuditWorld) -> None:
    with world.sessions.begin() as session:
        import_products(
            session, HEADER + ROW.format(since=LAUNCH.isoformat()), currency="PLN",
            imported_by="t", now=T0,
        )  # fmt: skip
    world.publish([{"action": "set_price", "sku": "NEW-1", "amount": "12.00"}], now=T0)

    # Before the launch: nothing was sold, so moving the launch later drops nothing.
    with world.sessions.begin() as session:
        import_products(
            session, HEADER + ROW.format(since=POSTPONED.isoformat()), currency="PLN",
            imported_by="t", now=T0 + timedelta(hours=2),
        )  # fmt: skip
    with world.sessions.begin() as session:
        assert session.get(ProductRow, "NEW-1").on_sale_since == POSTPONED

    # The real launch at an introductory price announces nothing.
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-NEW",
                "name": "Nowość",
                "kind": "fixed_price",
                "amount": "9.99",
                "currency": "PLN",
                "skus": ["NEW-1"],
                "channels": ["store"],
                "valid_from": POSTPONED.isoformat(),
                "valid_until": (POSTPONED + timedelta(days=7)).isoformat(),
            }
        ],
        now=T0 + timedelta(hours=3),
    )
    world.label("L-N", store="S02", sku="NEW-1", at=T0 + timedelta(hours=4))
    with world.sessions.begin() as session:
        _, _, resolved = world.planned_content(session, "L-N", at=POSTPONED)
    assert not resolved.announces_reduction, (
        resolved.prior_price, resolved.prior_price_basis, resolved.saving,
    )  # fmt: skip
