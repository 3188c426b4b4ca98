"""The audit judges what the panel may show as the controller knows it, not only the
label's last report.

Found by review:
- a price changed and changed back while the change's frame was sent and unanswered:
  the panel may show the change (the label may have taken it, its answer lost), the
  controller knows it (`LabelState.settled_on`: no answer covers the last number signed,
  so it sends the price back again) and health counts the label pending, but the audit
  called it "match" from the label's last report;
- a label unbound while its identification screen is unanswered (or whose unassociation
  the device did not confirm) still shows its last price, which nobody maintains any
  more: the audit, reading only bound labels, did not list it;
- twin products (two SKUs whose labels draw the same pixels: same name and price, a
  layout drawing neither code) share an image hash, recorded once for the first SKU:
  the twin's label was called stale ("shows MLK-1 at 3.49, due MLK-2 at 3.49"); only the
  plan of the label's current binding vouches for a twin image: a frame of the earlier
  binding's image, rebuilt in full after the re-binding, made the old product's label
  "match" the new product (review).
Simulated labels, the real controller and dispatcher, one test clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.audit.classify import AuditClass, LabelVerdict
from esl.audit.gather import gather_audit
from esl.imports.products import import_products
from esl.local_times import shown_time
from esl.services.health import label_health
from esl.services.labels import bind_label, unbind_label
from esl.services.templates import save_template
from firmware_sim.images import ImageStore
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World
from tests.support.audit import audit_by_label
from tests.support.pipeline import ADMIN, publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


def _audit(world: World) -> list[LabelVerdict]:
    return list(audit_by_label(world.sessions, world.clock.now).values())


async def test_a_change_sent_unanswered_and_reverted_is_no_match_until_answered(
    world: World,
) -> None:
    (label_id,) = world.labels
    label = world.labels[label_id]
    await world.converge()  # 3.49, confirmed
    shown_before = label.shown_hash

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "4.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    raised = world.gateway.take()
    assert len(raised) == 1
    sent_at = world.clock.now
    world.clock.advance(timedelta(seconds=2))
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)  # back
    reverted_at = world.clock.now
    world.controller.plan_due_work()
    # The label takes 4.99; its answer is lost.
    world.clock.advance(timedelta(seconds=3))
    assert radio(raised, world.labels, now=world.clock.now)
    assert label.shown_hash != shown_before, "the panel shows 4.99"

    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
    assert health.pending == 1
    (verdict,) = _audit(world)
    assert verdict.audit_class is AuditClass.UNCONFIRMED, verdict.reason
    assert not verdict.shows_due
    assert verdict.since == sent_at
    assert verdict.wrong_since == reverted_at, "4.99 was due until then"
    assert "4.99" in verdict.reason, verdict.reason
    # On the store's clock (pl_PL's, Warsaw's), to the second, with its offset.
    assert f"was sent at {shown_time(sent_at, 'Europe/Warsaw')} and is unanswered" in (
        verdict.reason
    ), verdict.reason

    await world.converge()  # the price back, sent again and answered
    (verdict,) = _audit(world)
    assert verdict.audit_class is AuditClass.MATCH, verdict.reason
    assert verdict.shows_due


async def test_a_label_unbound_before_its_identification_screen_is_answered_is_listed(
    world: World,
) -> None:
    (label_id,) = world.labels
    await world.converge()  # 3.49
    world.clock.advance(timedelta(minutes=1))
    with world.sessions.begin() as session:
        unbind_label(session, principal=ADMIN, label_id=label_id, now=world.clock.now)
    unbound_at = world.clock.now
    world.controller.plan_due_work()
    await world.send_due()
    assert len(world.gateway.take()) == 1  # the identification screen: lost on its way

    (verdict,) = _audit(world)
    assert verdict.label_id == label_id
    assert verdict.audit_class is AuditClass.UNBOUND_SHOWING_PRICE, verdict.reason
    assert verdict.sku == "MLK-1"
    assert verdict.shown_price is not None
    assert str(verdict.shown_price) == "3.49"
    assert verdict.due_price is None
    assert not verdict.shows_due
    assert verdict.wrong_since == unbound_at
    assert "3.49" in verdict.reason
    assert "bound to no product" in verdict.reason

    await world.converge()  # the identification screen, answered
    assert _audit(world) == []
    # Audited afterwards at that instant, from the answers' history: listed alike.
    with world.sessions() as session:
        (then,) = gather_audit(
            session, at=unbound_at, now=world.clock.now, currency="PLN", locale="pl_PL"
        ).report.labels
    assert then.audit_class is AuditClass.UNBOUND_SHOWING_PRICE, then.reason
    assert then.shown_hash == verdict.shown_hash


def _name_and_price() -> dict[str, Any]:
    return {
        "size_class": "medium",
        "regions": [
            {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
            {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.9, 0.5]},
        ],
    }


async def test_twin_products_drawn_alike_both_match(engine: Engine) -> None:
    world = World.priced(engine, count=2)
    first, second = world.labels
    with world.sessions.begin() as session:
        # The same milk under a second code (another supplier's pack): the same name.
        import_products(
            session,
            "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,"
            "on_sale_since,web_url\n"
            "MLK-2,Mleko 3.2% 1 l,Łaciate,5900820000028,dairy,5,1,l,yes,"
            "2025-01-01T00:00:00Z,\n",
            currency="PLN",
            imported_by="test",
            now=T0,
        )
        save_template(session, name="shelf", definition=_name_and_price(), by="test", now=T0)
    publish_prices(world.sessions, {"MLK-1": "3.49", "MLK-2": "3.49"}, now=world.clock.now)
    with world.sessions.begin() as session:
        for label_id, sku in ((first, "MLK-1"), (second, "MLK-2")):
            bind_label(
                session,
                principal=ADMIN,
                label_id=label_id,
                sku=sku,
                template="shelf",
                now=world.clock.now,
            )
    await world.converge()
    assert world.labels[first].shown_hash == world.labels[second].shown_hash, "the same pixels"

    verdicts = {v.label_id: v for v in _audit(world)}
    assert verdicts[first].sku == "MLK-1"
    assert verdicts[second].sku == "MLK-2"
    for verdict in verdicts.values():
        assert verdict.audit_class is AuditClass.MATCH, verdict.reason
        assert verdict.shows_due


async def test_a_label_drawing_its_earlier_products_image_is_no_match(world: World) -> None:
    (label_id,) = world.labels
    with world.sessions.begin() as session:
        # Skimmed milk: its own name and code, the same pack size.
        import_products(
            session,
            "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,"
            "on_sale_since,web_url\n"
            "MLK-2,Mleko 0.5% 1 l,Łaciate,5900820000028,dairy,5,1,l,yes,"
            "2025-01-01T00:00:00Z,\n",
            currency="PLN",
            imported_by="test",
            now=T0,
        )
    publish_prices(world.sessions, {"MLK-2": "8.99"}, now=world.clock.now)
    await world.converge()  # MLK-1 at 3.49
    # The label loses the images it stored (a reset): the next delta's base is unknown.
    snapshot, _ = world.back_up(label_id)
    world.restore(label_id, (snapshot, ImageStore()))
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "8.99"}, now=world.clock.now)  # = MLK-2's
    world.controller.plan_due_work()
    await world.send_due()
    delta = world.gateway.take()
    assert len(delta) == 1
    world.clock.advance(timedelta(seconds=1))
    with world.sessions.begin() as session:  # re-bound before the next plan
        bind_label(
            session,
            principal=ADMIN,
            label_id=label_id,
            sku="MLK-2",
            template="standard",
            now=world.clock.now,
        )
    world.clock.advance(timedelta(seconds=1))
    # Its base unknown: the milk's image rebuilt as a full image, in a row created now.
    world.dispatcher.settle(radio(delta, world.labels, now=world.clock.now))
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.controller.plan_due_work()  # the skimmed milk's image planned, not sent yet
    state = world.state(label_id)
    shown = world.labels[label_id].shown_hash
    assert shown is not None
    assert shown.hex() == state.displayed_hash == state.confirmed_hash
    assert state.desired_hash != state.confirmed_hash, "the skimmed milk's image differs"

    (verdict,) = _audit(world)
    assert verdict.sku == "MLK-2"
    # The panel shows the milk's name and code at 8.99: not the skimmed milk's label.
    assert verdict.audit_class is AuditClass.STALE, verdict.reason
    assert not verdict.shows_due
