"""The audit's reasons read their instants on the store's clock, to the second, with the
offset the clock has then (docs/audit.md, *Instants in reasons*).

An auditor in a Warsaw store compares "not heard since ..." with the clock on the wall.
Before, every reason printed the instant in UTC with microseconds
("2026-12-07T11:02:03.123456+00:00"): an hour off in a Warsaw winter, two in summer.
The report's structured fields (`since`, `last_seen`, ...) stay ISO UTC for machines.

Classification is pure (`esl.audit.classify`): these tests hand it the facts of a label
of a store in Europe/Warsaw, the store's zone taken as the audit takes it
(`pricing.products.label_time_zone`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from esl.audit.classify import (
    AuditClass,
    LabelFacts,
    OpenUpdate,
    ShownContent,
    Thresholds,
    UnansweredFrame,
    UnboundFacts,
    classify_label,
    classify_unbound,
)
from esl.audit.formats import label_to_dict
from esl.audit.html_report import render_html_report
from esl.imports.stores import import_stores
from pricing import PriceRule, ResolvedPrice, Store
from pricing.products import label_time_zone
from tests.audit.world import T0, AuditWorld
from tests.strategies import pln
from tests.support.pricing import pln_catalogue, shelf_price

WARSAW = Store("S1", "Warszawa Mokotów", time_zone="Europe/Warsaw")
AUDIT_AT = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # winter: Warsaw is UTC+01:00
HEARD = datetime(2026, 12, 7, 11, 2, 3, 123_456, tzinfo=UTC)  # 12:02:03 in Warsaw
# 13:02:03 in Warsaw on 24 October, the last Saturday of summer time (UTC+02:00).
HEARD_IN_SUMMER = datetime(2026, 10, 24, 11, 2, 3, 654_321, tzinfo=UTC)


def _due() -> ResolvedPrice:
    catalogue = pln_catalogue([PriceRule(id="base", sku="A", amount=pln(349))], stores=[WARSAW])
    return shelf_price(catalogue, at=AUDIT_AT)


def _shown(due: ResolvedPrice, content_hash: str = "aa" * 16) -> ShownContent:
    return ShownContent(
        content_hash=content_hash,
        sku="A",
        currency="PLN",
        price=due.price.amount,
        regular_price=due.regular_price.amount,
        prior_price=None,
        promotion_id=None,
        price_fingerprint=due.fingerprint,
    )


def _facts(*, last_seen: datetime, **changes: object) -> LabelFacts:
    due = _due()
    facts = LabelFacts(
        label_id="L1",
        store=WARSAW.code,
        sku="A",
        bound_at=datetime(2026, 9, 1, 8, 0, tzinfo=UTC),
        shown_hash="aa" * 16,
        shown=_shown(due),
        due=due,
        web=due,
        due_since=datetime(2026, 9, 1, 8, 0, tzinfo=UTC),
        update=None,
        last_seen=last_seen,
        battery_mv=2_900,
        time_zone=label_time_zone(WARSAW, None),
    )
    return facts._replace(**changes)


def test_an_offline_label_is_not_heard_since_a_time_on_the_stores_wall_clock() -> None:
    verdict = classify_label(_facts(last_seen=HEARD), at=AUDIT_AT, thresholds=Thresholds())

    assert verdict.audit_class is AuditClass.OFFLINE
    assert verdict.reason == "not heard since 2026-12-07 12:02:03 (+01:00)"
    # The fields a machine reads stay UTC, to the microsecond.
    row = label_to_dict(verdict, at=AUDIT_AT)
    assert row["last_seen"] == "2026-12-07T11:02:03.123456+00:00"
    assert row["since"] == "2026-12-07T11:02:03.123456+00:00"


def test_a_label_last_heard_in_summer_time_names_the_summer_offset_in_winter() -> None:
    verdict = classify_label(
        _facts(last_seen=HEARD_IN_SUMMER), at=AUDIT_AT, thresholds=Thresholds()
    )

    assert verdict.reason == "not heard since 2026-10-24 13:02:03 (+02:00)"


def test_an_unanswered_frame_and_the_update_on_its_way_are_dated_on_the_stores_clock() -> None:
    frame = UnansweredFrame(
        "bb" * 16,
        ShownContent(
            content_hash="bb" * 16,
            sku="A",
            currency="PLN",
            price=Decimal("4.99"),
            regular_price=Decimal("4.99"),
            prior_price=None,
            promotion_id=None,
            price_fingerprint="another",
        ),
        datetime(2026, 12, 7, 12, 1, 5, 500_000, tzinfo=UTC),
    )
    update = OpenUpdate(
        status="sent", since=datetime(2026, 12, 7, 12, 30, tzinfo=UTC), attempts=2, reason=None
    )
    verdict = classify_label(
        _facts(last_seen=AUDIT_AT - timedelta(minutes=2), unanswered=frame, update=update),
        at=AUDIT_AT,
        thresholds=Thresholds(),
    )

    assert verdict.audit_class is AuditClass.UNCONFIRMED
    assert verdict.reason == (
        "last reported 3.49 PLN (due), but a frame showing 4.99 PLN was sent at "
        "2026-12-07 13:01:05 (+01:00) and is unanswered: the panel may show it; "
        "update sent since 2026-12-07 13:30 (+01:00), 2 attempt(s)"
    )
    assert verdict.since == frame.sent_at


def test_an_unbound_label_names_when_it_was_unbound_on_the_stores_clock() -> None:
    shown = _shown(_due())
    unbound_at = datetime(2026, 7, 1, 6, 15, 42, tzinfo=UTC)  # summer: 08:15:42 in Warsaw
    screen = OpenUpdate(
        status="pending", since=datetime(2026, 12, 7, 7, 0, 9, tzinfo=UTC), attempts=0, reason=None
    )
    verdict = classify_unbound(
        UnboundFacts(
            "L1",
            WARSAW.code,
            unbound_at,
            "A",
            shown.content_hash,
            shown,
            screen,
            last_seen=None,
            battery_mv=None,
            time_zone=label_time_zone(WARSAW, None),
        )
    )

    assert verdict.reason == (
        "bound to no product, still shows A at 3.49 PLN (unbound from A at 2026-07-01 "
        "08:15:42 (+02:00)): a price nobody maintains; its identification screen pending "
        "since 2026-12-07 08:00:09 (+01:00), 0 attempt(s)"
    )
    assert label_to_dict(verdict, at=AUDIT_AT)["since"] == "2026-07-01T06:15:42+00:00"


def test_a_label_of_a_store_on_no_known_clock_reads_in_utc_and_says_so() -> None:
    for zone in (None, "Mars/Olympus_Mons"):
        verdict = classify_label(
            _facts(last_seen=HEARD, time_zone=zone), at=AUDIT_AT, thresholds=Thresholds()
        )

        assert verdict.reason == "not heard since 2026-12-07 11:02:03 (+00:00)"


def test_the_html_reports_heading_reads_the_stores_clock_when_they_share_one(
    world: AuditWorld,
) -> None:
    """One store (S01 names no zone: the pl_PL locale's, Warsaw's) reads the audit on its
    clock with UTC beside it; S01 with a store in Lisbon, on two clocks, reads it in UTC."""
    at = T0 + timedelta(hours=2)
    for label_id, store in (("L-1", "S01"), ("L-2", "S02")):
        world.label(label_id, store=store, sku="MLK-1")
        world.acknowledged(label_id, at=T0)
    with world.sessions.begin() as session:
        import_stores(
            session,
            "code,name,zone,time_zone\nS02,Lisboa Baixa,north,Europe/Lisbon\n",
            imported_by="test",
            now=T0,
            currency="PLN",
        )

    one_store = render_html_report(world.audit(at=at, stores=["S01"]), locale="pl_PL")
    two_clocks = render_html_report(world.audit(at=at), locale="pl_PL")

    assert (
        "<h1>Shelf price audit at 2026-03-02 12:00 Europe/Warsaw (+01:00), that is "
        "2026-03-02 11:00 UTC</h1>"
    ) in one_store
    assert "<h1>Shelf price audit at 2026-03-02 11:00 UTC</h1>" in two_clocks


def test_an_audit_of_a_warsaw_store_reads_its_offline_labels_on_the_stores_clock(
    world: AuditWorld,
) -> None:
    """Through the whole audit: S01 in Europe/Warsaw, S02 in Europe/Lisbon. A label last
    heard this December morning, one last heard in July (summer time), audited in
    December: each reason on its own store's clock, with the offset it had then."""
    with world.sessions.begin() as session:
        import_stores(
            session,
            "code,name,zone,time_zone\n"
            "S01,Warszawa Mokotów,north,Europe/Warsaw\n"
            "S02,Lisboa Baixa,north,Europe/Lisbon\n",
            imported_by="test",
            now=T0,
            currency="PLN",
        )
    heard = {
        "L-winter": ("S01", HEARD),
        "L-summer": ("S01", datetime(2026, 7, 15, 11, 2, 3, 500_000, tzinfo=UTC)),
        "L-lisbon": ("S02", HEARD),
    }
    for label_id, (store, last_seen) in heard.items():
        world.label(label_id, store=store, sku="MLK-1")
        world.acknowledged(label_id, at=last_seen)

    found = {v.label_id: v for v in world.audit(at=AUDIT_AT).report.labels}

    assert {label_id: v.reason for label_id, v in found.items()} == {
        "L-winter": "not heard since 2026-12-07 12:02:03 (+01:00)",
        "L-summer": "not heard since 2026-07-15 13:02:03 (+02:00)",
        "L-lisbon": "not heard since 2026-12-07 11:02:03 (+00:00)",
    }
    assert found["L-winter"].last_seen == HEARD  # the field stays UTC, to the microsecond
