"""Every label announcing a reduction shows its store's prior price from the ledger (the
30-day low, or what the law puts in its place), under the caption of the rule that gave it."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from decimal import Decimal

import httpx

from esl.api.app import create_app
from esl.audit.classify import AuditClass
from esl.audit.html_report import render_html_report
from esl.imports import import_products
from esl.services.keys import Role, create_key
from esl.settings import Settings
from pricing import Money, PriorPriceBasis, ResolvedPrice
from pricing.resolved import label_fingerprint
from tests.audit.scenario import AUDIT_AT, build_chain, coffee_week, wrong_prior_price
from tests.audit.world import OLD_PRODUCT_CSV, T0, AuditWorld
from tests.support.api import AppSwitch


def test_labels_printed_by_the_engine_pass_the_prior_price_check(world: AuditWorld) -> None:
    build_chain(world)
    report = world.audit(at=AUDIT_AT).report
    promoted = next(v for v in report.labels if v.label_id == "L-store-promo")
    assert promoted.shown_price == Decimal("47.99")
    assert report.prior_price_problems == ()


def test_a_wrong_prior_price_is_caught_with_the_right_value(world: AuditWorld) -> None:
    build_chain(world)
    wrong_prior_price(world)
    report = world.audit(at=AUDIT_AT).report
    (problem,) = report.prior_price_problems
    assert problem.label_id == "L-wrong-prior"
    assert (problem.shown_price, problem.shown_prior, problem.expected_prior) == (
        Decimal("47.99"),
        Decimal("54.99"),
        Decimal("59.99"),
    )
    by_store = {s.store: s for s in report.stores}
    assert by_store["S02"].prior_price_problems == 1
    # The price itself is the one due: the problem is the prior-price line only.
    label = next(v for v in report.labels if v.label_id == "L-wrong-prior")
    assert label.audit_class is AuditClass.INTENDED_DIFFERENCE


def test_the_prior_price_is_the_low_of_the_labels_own_store(world: AuditWorld) -> None:
    # S02 sold the coffee at 52.00 for ten days, three weeks before the promotion started.
    _s02_coffee_prices(world, ("52.00", 21), ("59.99", 11))
    build_chain(world)
    world.label("L-s02-engine", store="S02", sku="CFE-1")
    world.label("L-s02-national-prior", store="S02", sku="CFE-1")
    _, content = world.acknowledged("L-s02-engine", at=T0)
    assert content.prior_price == Decimal("52.00")
    world.acknowledged(
        "L-s02-national-prior",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("59.99")),
    )
    report = world.audit(at=T0 + timedelta(minutes=10)).report
    assert [(p.label_id, p.expected_prior) for p in report.prior_price_problems] == [
        ("L-s02-national-prior", Decimal("52.00"))
    ]


def test_a_label_left_on_an_ended_reduction_is_checked_against_that_reductions_prior(
    world: AuditWorld,
) -> None:
    # Coffee 59.99 for 60 days, "-20%" (47.99) from T0 - 10 d to T0 - 2 d, 59.99 since.
    # A label still showing the sale printed 59.99, the low of the 30 days before the
    # sale began: right for what it shows (it is stale, not wrongly announced). The 30
    # days before the audit hold the sale's own 47.99, a price that announces nothing.
    coffee_week(world, now=T0 - timedelta(days=10))
    world.label("L-left-on-sale", store="S02", sku="CFE-1", at=T0 - timedelta(days=10))
    _, content = world.acknowledged("L-left-on-sale", at=T0 - timedelta(days=10))
    assert (content.price, content.prior_price) == (Decimal("47.99"), Decimal("59.99"))
    world.publish(
        [{"action": "end_promotion", "promotion_id": "P-CFE"}], now=T0 - timedelta(days=2)
    )
    world.checked_in("L-left-on-sale", at=T0 - timedelta(minutes=1))
    report = world.audit(at=T0).report
    label = next(v for v in report.labels if v.label_id == "L-left-on-sale")
    assert label.audit_class is AuditClass.STALE
    assert report.prior_price_problems == ()


def test_a_label_left_on_an_ended_reduction_with_a_wrong_prior_is_still_caught(
    world: AuditWorld,
) -> None:
    coffee_week(world, now=T0 - timedelta(days=10))
    world.label("L-left-wrong", store="S02", sku="CFE-1", at=T0 - timedelta(days=10))
    world.acknowledged(
        "L-left-wrong",
        at=T0 - timedelta(days=10),
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("54.99")),
    )
    world.publish(
        [{"action": "end_promotion", "promotion_id": "P-CFE"}], now=T0 - timedelta(days=2)
    )
    world.checked_in("L-left-wrong", at=T0 - timedelta(minutes=1))
    (problem,) = world.audit(at=T0).report.prior_price_problems
    assert (problem.shown_prior, problem.expected_prior) == (Decimal("54.99"), Decimal("59.99"))


def _milk_markdown(
    world: AuditWorld,
    promotion_id: str,
    percent: str,
    *,
    days_before: int,
    ending: str | None = None,
) -> None:
    """Milk `percent` % off from `days_before` days before T0, in the publication that
    ends the promotion `ending` (one instant: the ledger takes one price per instant)."""
    ended = [{"action": "end_promotion", "promotion_id": ending}] if ending else []
    world.publish(
        [
            *ended,
            {
                "action": "upsert_promotion",
                "promotion_id": promotion_id,
                "name": f"Milk -{percent}%",
                "kind": "percent_off",
                "percent": percent,
                "skus": ["MLK-1"],
                "channels": ["store"],
            },
        ],
        now=T0 - timedelta(days=days_before),
    )


def test_a_perishable_markdown_is_checked_against_the_price_before_the_first_reduction(
    world: AuditWorld,
) -> None:
    # Milk (perishable) 3.49 for 60 days, -20 % (2.79) from T0 - 5 d, -40 % (2.09) from
    # T0 - 1 d. Its label may show 3.49, the price before the first reduction (PL art. 4
    # ust. 4), captioned as such; 2.79, the 30-day low, is not what the engine shows and
    # the audit expects the engine's value.
    _milk_markdown(world, "P-MLK-20", "20", days_before=5)
    _milk_markdown(world, "P-MLK-40", "40", days_before=1)
    world.label("L-milk-engine", store="S02", sku="MLK-1")
    world.label("L-milk-thirty-day-low", store="S02", sku="MLK-1")
    _, content = world.acknowledged("L-milk-engine", at=T0)
    assert (content.price, content.prior_price) == (Decimal("2.09"), Decimal("3.49"))
    assert content.prior_price_basis is PriorPriceBasis.BEFORE_FIRST_REDUCTION
    world.acknowledged(
        "L-milk-thirty-day-low",
        at=T0,
        altered=lambda c: dataclasses.replace(
            c, prior_price=Decimal("2.79"), prior_price_basis=PriorPriceBasis.LOWEST_30_DAYS
        ),
    )
    report = world.audit(at=T0 + timedelta(minutes=10)).report
    assert [(p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems] == [
        ("L-milk-thirty-day-low", Decimal("2.79"), Decimal("3.49"))
    ]


def test_a_label_sharing_its_pixels_with_another_stores_is_checked_at_its_own_reduction(
    world: AuditWorld,
) -> None:
    # Two stores put the coffee on "-20%" five days apart. Their labels print the same
    # pixels (a template without the store's name), so the contents table holds one row,
    # priced for S01 when its sale began. S02 sold the coffee at 52.00 until 38 days
    # before the audit: inside the 30 days before S01's sale began, outside those before
    # S02's. The S02 label's 59.99 is right for S02's own sale.
    _s02_coffee_prices(world, ("52.00", 59), ("59.99", 38))
    for store, days_before in (("S01", 10), ("S02", 5)):
        coffee_week(
            world,
            now=T0 - timedelta(days=days_before),
            promotion_id=f"P-CFE-{store}",
            stores=[store],
        )
    world.label("L-s01-sale", store="S01", sku="CFE-1", at=T0 - timedelta(days=10))
    world.label("L-s02-sale", store="S02", sku="CFE-1", at=T0 - timedelta(days=5))
    s01_hash, s01 = world.acknowledged("L-s01-sale", at=T0 - timedelta(days=10))
    s02_hash, s02 = world.acknowledged(
        "L-s02-sale",
        at=T0 - timedelta(days=5),
        altered=lambda c: dataclasses.replace(c, store_name=s01.store_name),
    )
    assert s02_hash == s01_hash  # one contents row, priced for S01's sale
    assert (s02.price, s02.prior_price) == (Decimal("47.99"), Decimal("59.99"))
    for label_id in ("L-s01-sale", "L-s02-sale"):
        world.checked_in(label_id, at=T0 - timedelta(minutes=1))
    assert world.audit(at=T0).report.prior_price_problems == ()


def test_a_new_products_prior_price_is_checked_with_its_caption(world: AuditWorld) -> None:
    # Tea on sale since T0 - 10 d at 20.00, -20 % (16.00) from T0. Its prior price is
    # 20.00, the lowest since it went on sale (PL art. 4 ust. 3), and its label must not
    # call that a 30-day low: the same amount under that caption is a problem too.
    _new_tea_on_sale(world)
    world.label("L-new-engine", store="S02", sku="NEW-1")
    world.label("L-new-thirty-day-low", store="S02", sku="NEW-1")
    _, content = world.acknowledged("L-new-engine", at=T0)
    assert (content.price, content.prior_price) == (Decimal("16.00"), Decimal("20.00"))
    assert content.prior_price_basis is PriorPriceBasis.LOWEST_SINCE_ON_SALE
    world.acknowledged(
        "L-new-thirty-day-low",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price_basis=PriorPriceBasis.LOWEST_30_DAYS),
    )
    gathered = world.audit(at=T0 + timedelta(minutes=10))
    (problem,) = gathered.report.prior_price_problems
    assert (problem.label_id, problem.shown_prior, problem.expected_prior) == (
        "L-new-thirty-day-low",
        Decimal("20.00"),
        Decimal("20.00"),
    )
    assert (problem.shown_basis, problem.expected_basis) == (
        PriorPriceBasis.LOWEST_30_DAYS,
        PriorPriceBasis.LOWEST_SINCE_ON_SALE,
    )
    html = render_html_report(gathered, locale="pl_PL")
    assert "20.00 (30-day low)" in html
    assert "20.00 (lowest since launch)" in html


def _new_tea_on_sale(world: AuditWorld) -> None:
    """NEW-1 on sale since T0 - 10 d at 20.00; -20 % (16.00) in stores from T0."""
    launched = T0 - timedelta(days=10)
    with world.sessions.begin() as session:
        import_products(
            session,
            OLD_PRODUCT_CSV.replace("OLD-1,Herbata stara", "NEW-1,Herbata nowa")
            .replace("5900000000015", "5901234000994")  # a GTIN names one product
            .replace("2025-01-01T00:00:00Z", launched.isoformat()),
            currency="PLN",
            imported_by="test",
            now=launched,
        )
    world.publish([{"action": "set_price", "sku": "NEW-1", "amount": "20.00"}], now=launched)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-NEW",
                "name": "Tea -20%",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["NEW-1"],
                "channels": ["store"],
            }
        ],
        now=T0,
    )


def test_the_console_names_the_rule_of_a_labels_prior_price(
    world: AuditWorld, http_server: tuple[AppSwitch, str]
) -> None:
    """Staff read the prior price under the rule that gave it, as the label words it,
    not as a "lowest price of the previous 30 days" for a product sold for ten."""
    _new_tea_on_sale(world)
    world.label("L-new", store="S02", sku="NEW-1")
    with world.sessions.begin() as session:
        _, key = create_key(session, name="auditor", role=Role.AUDITOR, store=None, now=T0)
    switch, url = http_server
    switch.app = create_app(Settings.defaults(), engine=world.engine, clock=lambda: T0)
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as console:
        assert console.post("/ui/sign-in", data={"api_key": key}).status_code == 200
        page = console.get("/ui/labels/L-new")
    assert page.status_code == 200
    shown = re.search(r'id="label-prior-price">(.*?)</dd>', page.text)
    assert shown is not None
    assert "20,00" in shown.group(1) or "20.00" in shown.group(1)
    assert "lowest since the product went on sale" in shown.group(1)
    assert "30 days" not in page.text


def _s02_coffee_prices(world: AuditWorld, *prices: tuple[str, int]) -> None:
    """S02's own coffee prices: each (amount, days before T0) published then."""
    for amount, days_before in prices:
        world.publish(
            [
                {
                    "action": "set_price",
                    "sku": "CFE-1",
                    "amount": amount,
                    "store": "S02",
                    "channel": "store",
                }
            ],
            now=T0 - timedelta(days=days_before),
        )


def test_a_perishable_price_raised_during_its_markdown_is_not_matched_by_its_old_announcement(
    world: AuditWorld,
) -> None:
    # Milk (perishable) 3.49 for 60 days, -40 % (2.09) from T0 - 3 d, then -20 % (2.79)
    # from T0 - 1 d: the price went up. The rise ends the run of reductions, so the prior
    # price due is the 30-day low, 2.09, and 2.79 is no reduction to announce. A label
    # still announcing "-20%" against 3.49, "the price before the first reduction", as the
    # engine used to print it, shows neither the due label nor a lawful prior price.
    _milk_markdown(world, "P-MLK-40", "40", days_before=3)
    _milk_markdown(world, "P-MLK-20", "20", days_before=1, ending="P-MLK-40")
    world.label("L-milk-engine", store="S02", sku="MLK-1")
    world.label("L-milk-old-announcement", store="S02", sku="MLK-1")
    _, content = world.acknowledged("L-milk-engine", at=T0)
    assert (content.price, content.prior_price) == (Decimal("2.79"), Decimal("2.09"))
    assert not content.announces_reduction
    _, old = world.acknowledged(
        "L-milk-old-announcement",
        at=T0,
        altered=lambda c: dataclasses.replace(
            c,
            regular_price=Decimal("3.49"),
            prior_price=Decimal("3.49"),
            prior_price_basis=PriorPriceBasis.BEFORE_FIRST_REDUCTION,
            promotion_text="-20%",
        ),
        priced=_as_before_the_first_reduction,
    )
    assert old.announces_reduction
    report = world.audit(at=T0 + timedelta(minutes=10)).report
    verdicts = {v.label_id: v for v in report.labels}
    assert verdicts["L-milk-engine"].shows_due
    assert verdicts["L-milk-old-announcement"].audit_class is AuditClass.STALE
    assert [
        (p.label_id, p.shown_prior, p.expected_prior, p.expected_basis)
        for p in report.prior_price_problems
    ] == [
        (
            "L-milk-old-announcement",
            Decimal("3.49"),
            Decimal("2.09"),
            PriorPriceBasis.LOWEST_30_DAYS,
        )
    ]


def _as_before_the_first_reduction(due: ResolvedPrice) -> ResolvedPrice:
    """The milk's 2.79 as the engine priced it before a rise ended a run of reductions:
    against 3.49, the price before the first reduction, 0.70 (20 %) saved."""
    priced = dataclasses.replace(
        due,
        prior_price=due.regular_price,
        prior_price_basis=PriorPriceBasis.BEFORE_FIRST_REDUCTION,
        saving=Money(due.regular_price.amount - due.price.amount, due.currency),
        saving_percent=Decimal(20),
    )
    return dataclasses.replace(priced, fingerprint=label_fingerprint(priced))
