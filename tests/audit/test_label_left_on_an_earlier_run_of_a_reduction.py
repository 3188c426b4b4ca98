"""A reduction that ended and came back later at the same price (a new promotion, as the
publication rules ask). Each run has the prior price of the 30 days before it: the
first run's prior price is the list price, the second's the first run itself where it
lies in those 30 days. A label left on the first run is stale, rightly, and its
prior-price line is checked against the run it was drawn for (the one in force when its
price was resolved, `label_contents.resolved_at`), or against the one due now when it
draws exactly what the due label draws; a label drawn for the second run is checked
against the second's. As a card label's is (test_label_left_on_a_replaced_card_price)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass
from esl.audit.gather import GatheredAudit
from pricing import Money, ResolvedPrice
from pricing.resolved import label_fingerprint
from rendering.content import LabelContent
from tests.audit.world import T0, AuditWorld

# Cheese is 8.99 since T0 - 60 d (tests/audit/world.py).
REDUCTION = {
    "action": "upsert_promotion",
    "promotion_id": "P-CHS",
    "name": "Ser taniej",
    "kind": "fixed_price",
    "amount": "7.99",
    "skus": ["CHS-1"],
    "channels": ["store"],
}


def _runs(world: AuditWorld, *, first: datetime, first_ends: datetime, second: datetime) -> None:
    """7.99 from `first` until `first_ends`, and again (promotion P-CHS-2) from `second`;
    each published as it starts or ends, so the ledger records it then."""
    world.publish([{**REDUCTION, "valid_from": first.isoformat()}], now=first)
    world.publish([{"action": "end_promotion", "promotion_id": "P-CHS"}], now=first_ends)
    world.publish(
        [{**REDUCTION, "promotion_id": "P-CHS-2", "valid_from": second.isoformat()}], now=second
    )


def _drawn_in_the_first_run(
    world: AuditWorld,
    printed: dict[str, Callable[[LabelContent], LabelContent] | None],
    *,
    at: datetime,
) -> None:
    for label_id, altered in printed.items():
        world.label(label_id, store="S01", sku="CHS-1", at=T0 - timedelta(days=30))
        _, content = world.acknowledged(label_id, at=at, altered=altered)
        assert (content.price, content.promotion_text) == (Decimal("7.99"), "Promocja")


def _printing(prior: Decimal, *, struck: Decimal | None = None) -> Callable[..., LabelContent]:
    """The due content, drawn with `prior` as its prior price (and `struck` struck through)."""

    def altered(content: LabelContent) -> LabelContent:
        changed = dataclasses.replace(content, prior_price=prior)
        return changed if struck is None else dataclasses.replace(changed, regular_price=struck)

    return altered


def _audit(world: AuditWorld, labels: list[str], *, at: datetime) -> GatheredAudit:
    for label_id in labels:
        world.checked_in(label_id, at=at - timedelta(minutes=1))
    return world.audit(at=at)


def _problems(gathered: GatheredAudit) -> list[tuple[str, Decimal | None, Decimal | None]]:
    return [
        (p.label_id, p.shown_prior, p.expected_prior) for p in gathered.report.prior_price_problems
    ]


def _due(gathered: GatheredAudit, label_id: str) -> tuple[Decimal, Decimal | None]:
    """The price due to `label_id` and its prior price."""
    due = gathered.due[label_id]
    return due.price.amount, due.prior_price.amount if due.prior_price is not None else None


def _classes(gathered: GatheredAudit) -> dict[str, AuditClass]:
    return {v.label_id: v.audit_class for v in gathered.report.labels if v.label_id[:2] == "L-"}


def test_a_label_left_on_the_first_run_is_checked_against_the_run_it_was_drawn_for(
    world: AuditWorld,
) -> None:
    # 7.99 ran from T0 - 20 d to T0 - 12 d (card holders and all paid 8.99 in the 30 days
    # before it) and is back from T0 - 2 d: 7.99 was charged in the 30 days before, so
    # 7.99 is its prior price and the second run saves nothing (its label is the plain
    # 7.99). Two labels still show the first run: with its lawful 8.99, and with 8.49,
    # wrong for it (and for the second run).
    _runs(
        world,
        first=T0 - timedelta(days=20),
        first_ends=T0 - timedelta(days=12),
        second=T0 - timedelta(days=2),
    )
    printed = {"L-first": None, "L-first-wrong": _printing(Decimal("8.49"))}
    _drawn_in_the_first_run(world, printed, at=T0 - timedelta(days=15))
    gathered = _audit(world, list(printed), at=T0)
    assert _due(gathered, "L-first") == (Decimal("7.99"), Decimal("7.99"))
    assert _classes(gathered) == {"L-first": AuditClass.STALE, "L-first-wrong": AuditClass.STALE}
    assert _problems(gathered) == [("L-first-wrong", Decimal("8.49"), Decimal("8.99"))]


def _priced_with_prior(prior: Decimal) -> Callable[[ResolvedPrice], ResolvedPrice]:
    """The due price as an engine printing `prior` priced it."""

    def priced(price: ResolvedPrice) -> ResolvedPrice:
        earlier = dataclasses.replace(price, prior_price=Money(prior, price.currency))
        return dataclasses.replace(earlier, fingerprint=label_fingerprint(earlier))

    return priced


def test_a_label_drawn_for_the_second_run_with_the_first_runs_prior_price_is_listed(
    world: AuditWorld,
) -> None:
    # The same runs; a label drawn a day into the second run announces it against 8.99
    # (the first run's prior price, unlawful for the second: 7.99 was charged since).
    _runs(
        world,
        first=T0 - timedelta(days=20),
        first_ends=T0 - timedelta(days=12),
        second=T0 - timedelta(days=2),
    )
    world.label("L-second", store="S01", sku="CHS-1", at=T0 - timedelta(days=30))
    _, content = world.acknowledged(
        "L-second",
        at=T0 - timedelta(days=1),
        altered=lambda c: dataclasses.replace(
            c, regular_price=Decimal("8.99"), prior_price=Decimal("8.99"), promotion_text="Promocja"
        ),
        priced=_priced_with_prior(Decimal("8.99")),
    )
    assert content.announces_reduction
    gathered = _audit(world, ["L-second"], at=T0)
    assert _classes(gathered) == {"L-second": AuditClass.STALE}
    assert _problems(gathered) == [("L-second", Decimal("8.99"), Decimal("7.99"))]


def test_a_label_of_the_first_run_drawing_what_the_second_runs_label_draws(
    world: AuditWorld,
) -> None:
    # 7.99 ran from T0 - 20 d to T0 - 15 d (prior price 8.99); the list price was 8.49
    # from T0 + 5 d to T0 + 10 d; 7.99 is back from T0 + 20 d, more than 30 days after
    # the first run: its prior price is 8.49. Three labels still show the first run:
    # with 8.99, lawful for it; with 8.49 beside 8.99 struck through, wrong for it; and
    # with 8.49 beside 8.49 struck through, wrong for it but drawing just what the second
    # run's label draws, so what it shows is lawful now.
    printed = {
        "L-first": None,
        "L-first-wrong": _printing(Decimal("8.49")),
        "L-first-as-due": _printing(Decimal("8.49"), struck=Decimal("8.49")),
    }
    world.publish(
        [{**REDUCTION, "valid_from": (T0 - timedelta(days=20)).isoformat()}],
        now=T0 - timedelta(days=20),
    )
    _drawn_in_the_first_run(world, printed, at=T0 - timedelta(days=18))
    world.publish(
        [{"action": "end_promotion", "promotion_id": "P-CHS"}], now=T0 - timedelta(days=15)
    )
    for amount, day in (("8.49", 5), ("8.99", 10)):
        world.publish(
            [{"action": "set_price", "sku": "CHS-1", "amount": amount}],
            now=T0 + timedelta(days=day),
        )
    at = T0 + timedelta(days=21)
    world.publish(
        [
            {
                **REDUCTION,
                "promotion_id": "P-CHS-2",
                "valid_from": (T0 + timedelta(days=20)).isoformat(),
            }
        ],
        now=T0 + timedelta(days=20),
    )
    gathered = _audit(world, list(printed), at=at)
    assert _due(gathered, "L-first") == (Decimal("7.99"), Decimal("8.49"))
    assert _classes(gathered) == {
        "L-first": AuditClass.STALE,
        "L-first-wrong": AuditClass.STALE,
        "L-first-as-due": AuditClass.INTENDED_DIFFERENCE,
    }
    assert _problems(gathered) == [("L-first-wrong", Decimal("8.49"), Decimal("8.99"))]
