"""The audit's prior-price check takes a store's opening as the retailer gave it or as its
imported history proves it (docs/pricing.md, "New stores"): a store loaded at install time
that has sold for years expects its labels' reductions captioned with the 30-day low, once
its history is imported (before, what its shelves charged is unknown: no announcement)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from esl.db.models import GatewayRow
from esl.imports import import_history
from esl.services.stores import save_stores
from pricing import PriorPriceBasis
from pricing.products import Store
from tests.audit.world import T0, AuditWorld
from tests.support.ledger import promotion

HISTORY = """\
sku,channel,store,effective_at,price,regular_price,currency
CHS-1,store,S09,{at},8.99,,PLN
"""


def _store_created_five_days_ago(world: AuditWorld, *, opened: datetime | None = None) -> None:
    """S09 loaded at T0 - 5 d (the installation), a label on its cheese, and the cheese
    reduced from 8.99 (chain-wide for 60 days) to 7.99 since T0 - 1 d."""
    created = T0 - timedelta(days=5)
    with world.sessions.begin() as session:
        save_stores(
            session,
            [Store(code="S09", name="Sopot", opened=opened)],
            title="store S09",
            kind="catalogue",
            by="test",
            now=created,
            currency="PLN",
        )
        session.add(GatewayRow(id="gw-S09", store="S09", transport="mqtt", name="S09"))
    world.label("L-S09", store="S09", sku="CHS-1", at=created)
    world.publish(
        [promotion("DOWN", "7.99", starts=T0 - timedelta(days=1), ends=None)],
        now=T0 - timedelta(days=1),
    )


def _sixty_days_of_history_imported_an_hour_on(world: AuditWorld) -> None:
    """At T0 + 1 h, S09's cheese history: 8.99 from 60 days before T0."""
    with world.sessions.begin() as session:
        import_history(
            session,
            HISTORY.format(at=(T0 - timedelta(days=60)).isoformat()),
            currency="PLN",
            imported_by="test",
            now=T0 + timedelta(hours=1),
        )


def test_a_store_given_its_opening_90_days_ago_announces_nothing_until_its_history_comes(
    world: AuditWorld,
) -> None:
    # Created five days ago with an opening 90 days back: what its shelves charged
    # before the five days is unknown, so no reduction is announced against them.
    _store_created_five_days_ago(world, opened=T0 - timedelta(days=90))
    _, content = world.acknowledged("L-S09", at=T0)
    assert (content.price, content.regular_price, content.prior_price) == (
        Decimal("7.99"),
        None,
        None,
    )
    assert world.audit(at=T0 + timedelta(minutes=5)).report.prior_price_problems == ()
    # Its 60 days of history imported: the reduction is announced with the 30-day low.
    _sixty_days_of_history_imported_an_hour_on(world)
    _, content = world.acknowledged("L-S09", at=T0 + timedelta(hours=2))
    assert (content.regular_price, content.prior_price, content.prior_price_basis) == (
        Decimal("8.99"),
        Decimal("8.99"),
        PriorPriceBasis.LOWEST_30_DAYS,
    )
    assert world.audit(at=T0 + timedelta(hours=3)).report.prior_price_problems == ()


def test_imported_history_makes_the_audit_expect_the_30_day_low(world: AuditWorld) -> None:
    _store_created_five_days_ago(world)
    # Printed before the history came: five days open, the lowest since on sale.
    _, content = world.acknowledged("L-S09", at=T0)
    assert content.prior_price_basis is PriorPriceBasis.LOWEST_SINCE_ON_SALE
    _sixty_days_of_history_imported_an_hour_on(world)
    (problem,) = world.audit(at=T0 + timedelta(hours=2)).report.prior_price_problems
    assert problem.label_id == "L-S09"
    assert (problem.shown_basis, problem.expected_basis) == (
        PriorPriceBasis.LOWEST_SINCE_ON_SALE,
        PriorPriceBasis.LOWEST_30_DAYS,
    )
