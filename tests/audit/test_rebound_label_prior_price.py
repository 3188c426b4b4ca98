"""A label re-bound to another product, still showing the first product's lawful
announcement, is stale; its prior-price line is the first product's and is right.
The audit must not report it as announcing a reduction with a wrong prior price."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass
from esl.audit.report import AuditReport
from esl.services.labels import bind_label
from tests.audit.scenario import coffee_week
from tests.audit.world import ADMIN, T0, AuditWorld


def test_a_rebound_label_still_showing_a_lawful_reduction_has_no_prior_price_problem(
    world: AuditWorld,
) -> None:
    coffee_week(world, now=T0 - timedelta(days=1))  # CFE-1 59.99 -> 47.99 in stores
    world.label("L-rebound", store="S02", sku="CFE-1", at=T0 - timedelta(days=1))
    _, content = world.acknowledged("L-rebound", at=T0)
    assert (content.price, content.prior_price) == (Decimal("47.99"), Decimal("59.99"))
    report = _rebound_to_cheese_and_audited(world)
    label = next(v for v in report.labels if v.label_id == "L-rebound")
    assert label.audit_class is AuditClass.STALE
    # What it shows (coffee 47.99, lowest of 30 days 59.99) is lawful for coffee in S02.
    assert [
        (p.label_id, p.sku, p.shown_prior, p.expected_prior) for p in report.prior_price_problems
    ] == []


def test_a_rebound_label_still_showing_a_wrong_prior_is_caught_for_the_product_it_shows(
    world: AuditWorld,
) -> None:
    coffee_week(world, now=T0 - timedelta(days=1))
    world.label("L-rebound", store="S02", sku="CFE-1", at=T0 - timedelta(days=1))
    world.acknowledged(
        "L-rebound", at=T0, altered=lambda c: dataclasses.replace(c, prior_price=Decimal("54.99"))
    )
    report = _rebound_to_cheese_and_audited(world)
    # Checked against coffee's ledger in S02 (59.99), and the problem names the coffee.
    assert [
        (p.label_id, p.sku, p.shown_prior, p.expected_prior) for p in report.prior_price_problems
    ] == [("L-rebound", "CFE-1", Decimal("54.99"), Decimal("59.99"))]


def _rebound_to_cheese_and_audited(world: AuditWorld) -> AuditReport:
    """Staff move L-rebound to the cheese shelf at T0+5 min; its new image is not
    acknowledged yet when it checks in (T0+9 min) and the audit runs (T0+10 min)."""
    with world.sessions.begin() as session:
        bind_label(
            session,
            principal=ADMIN,
            label_id="L-rebound",
            sku="CHS-1",
            template="standard",
            now=T0 + timedelta(minutes=5),
        )
    world.checked_in("L-rebound", at=T0 + timedelta(minutes=9))
    return world.audit(at=T0 + timedelta(minutes=10)).report
