"""A reduction whose scheduled instant has just arrived, not yet recorded in the ledger
(the controller records it at its next poll), is on labels already: timed images flip on
the labels' own clocks. The engine priced its prior price as of its instant, from the
ledger without it; the audit checks it so, whatever the same amount was before: a list
price, or an earlier run of the same reduction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.audit.scenario import coffee_week
from tests.audit.world import T0, AuditWorld


def test_a_scheduled_reduction_at_a_former_list_price_is_checked_as_the_engine_priced_it(
    world: AuditWorld,
) -> None:
    # Coffee's list price was 47.99 for five days, seven weeks ago.
    _coffee_list_price(world, "47.99", days_before=50)
    _coffee_list_price(world, "59.99", days_before=45)
    _lowest_of_the_last_30_days_49_99(world)
    assert _prior_price_problems_of_the_scheduled_reduction(world) == []


def test_a_scheduled_reduction_run_before_is_checked_at_its_new_run(world: AuditWorld) -> None:
    # The same "-20%" (47.99 under 59.99) ran for five days seven weeks ago.
    coffee_week(world, now=T0 - timedelta(days=50), promotion_id="P-CFE-OLD")
    world.publish(
        [{"action": "end_promotion", "promotion_id": "P-CFE-OLD"}], now=T0 - timedelta(days=45)
    )
    _lowest_of_the_last_30_days_49_99(world)
    assert _prior_price_problems_of_the_scheduled_reduction(world) == []


def _coffee_list_price(world: AuditWorld, amount: str, *, days_before: int) -> None:
    world.publish(
        [{"action": "set_price", "sku": "CFE-1", "amount": amount}],
        now=T0 - timedelta(days=days_before),
    )


def _lowest_of_the_last_30_days_49_99(world: AuditWorld) -> None:
    _coffee_list_price(world, "49.99", days_before=20)
    _coffee_list_price(world, "59.99", days_before=15)


def _prior_price_problems_of_the_scheduled_reduction(
    world: AuditWorld,
) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """Coffee "-20%" (47.99) in stores from T0, published a day ahead; a label flipped to
    it at T0 (the engine printed 49.99, the low of the 30 days before T0); the audit five
    minutes later, before the controller recorded the instant."""
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-CFE",
                "name": "Coffee week",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["CFE-1"],
                "channels": ["store"],
                "valid_from": T0.isoformat(),
            }
        ],
        now=T0 - timedelta(days=1),
    )
    world.label("L-flipped", store="S02", sku="CFE-1", at=T0 - timedelta(days=1))
    _, content = world.acknowledged("L-flipped", at=T0)
    assert (content.price, content.prior_price) == (Decimal("47.99"), Decimal("49.99"))
    world.checked_in("L-flipped", at=T0 + timedelta(minutes=4))
    gathered = world.audit(at=T0 + timedelta(minutes=5))
    # The ledger has not recorded the reduction: the audit dates it by its schedule.
    assert gathered.due["L-flipped"].price.amount == Decimal("47.99")
    return [
        (p.label_id, p.shown_prior, p.expected_prior) for p in gathered.report.prior_price_problems
    ]
