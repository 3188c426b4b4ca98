"""Every label lands in exactly one class, with the facts that explain it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass, LabelVerdict
from esl.db.models import LabelRow, LabelStateRow, StoreRow
from esl.imports import import_products, import_promotions
from esl.services.labels import bind_label
from rendering.display_models import get_display_model
from rendering.identification import identification_content, identification_template
from tests.audit.scenario import (
    AUDIT_AT,
    EXPECTED_CLASSES,
    RECENTLY,
    T1,
    TAMPERED_HASH,
    build_chain,
)
from tests.audit.world import ADMIN, T0, AuditWorld


def verdicts(world: AuditWorld) -> dict[str, LabelVerdict]:
    report = world.audit(at=AUDIT_AT).report
    return {v.label_id: v for v in report.labels}


def test_each_label_gets_its_class(world: AuditWorld) -> None:
    build_chain(world)
    found = verdicts(world)
    assert {label: v.audit_class.value for label, v in found.items()} == EXPECTED_CLASSES


def test_match_and_intended_differences_name_what_the_shelf_shows(world: AuditWorld) -> None:
    build_chain(world)
    found = verdicts(world)
    match = found["L-match"]
    assert (match.shown_price, match.due_price, match.web_price) == (
        Decimal("3.49"),
        Decimal("3.49"),
        Decimal("3.49"),
    )
    assert match.shows_due
    assert match.rule is None

    store_rule = found["L-store-rule"]
    assert (store_rule.shown_price, store_rule.web_price) == (Decimal("7.99"), Decimal("9.49"))
    assert store_rule.rule is not None
    assert "store_channel scope" in store_rule.rule

    promotion = found["L-store-promo"]
    assert (promotion.shown_price, promotion.web_price) == (Decimal("47.99"), Decimal("59.99"))
    assert promotion.rule is not None
    assert "P-CFE" in promotion.rule
    assert "percent_off" in promotion.rule


def test_a_stale_label_says_since_when_how_often_and_why(world: AuditWorld) -> None:
    build_chain(world)
    stale = verdicts(world)["L-stale"]
    assert stale.audit_class is AuditClass.STALE
    assert (stale.shown_price, stale.due_price) == (Decimal("8.99"), Decimal("9.49"))
    assert stale.since == T1  # the new price applies from T1
    assert stale.age(AUDIT_AT) == timedelta(hours=1)
    assert stale.attempts == 3
    assert stale.last_reason == "sent"
    assert not stale.shows_due


def test_health_classes_carry_their_facts(world: AuditWorld) -> None:
    build_chain(world)
    found = verdicts(world)
    offline = found["L-offline"]
    assert offline.last_seen == T0
    assert offline.since == T0
    assert offline.shows_due  # e-paper keeps the last image: still the right price

    flat = found["L-flat"]
    assert flat.battery_mv == 2_300
    assert "2300 mV" in flat.reason
    assert "flat battery" in flat.reason
    assert flat.last_reason == "flat battery"
    assert flat.attempts == 5
    assert not flat.shows_due
    assert flat.wrong_since == T1

    unconfirmed = found["L-unconfirmed"]
    assert unconfirmed.shown_hash is None
    assert unconfirmed.attempts == 1
    assert unconfirmed.since == T0

    unsold = found["L-unsold"]
    assert unsold.due_price is None


def test_a_display_changed_behind_the_controllers_back_is_caught(world: AuditWorld) -> None:
    build_chain(world)
    tampered = verdicts(world)["L-tampered"]
    assert tampered.audit_class is AuditClass.UNKNOWN_CONTENT
    assert tampered.shown_hash == TAMPERED_HASH
    assert tampered.since == RECENTLY
    assert TAMPERED_HASH in tampered.reason


def test_store_summaries_list_unlabelled_products_and_labels_on_unsold_ones(
    world: AuditWorld,
) -> None:
    build_chain(world)
    report = world.audit(at=AUDIT_AT).report
    by_store = {s.store: s for s in report.stores}
    assert by_store["S01"].unlabelled_products == ()
    assert by_store["S02"].unlabelled_products == ("CFE-1",)
    assert by_store["S02"].labels_on_unsold_products == ("L-unsold",)
    assert by_store["S03"].counts["intended_difference"] == 1
    assert by_store["S03"].counts["offline"] == 1
    assert by_store["S03"].counts["low_battery"] == 1
    assert sum(s.labels for s in report.stores) == len(EXPECTED_CLASSES)
    assert by_store["S02"].mismatches == 2  # stale + no_longer_sold


def test_overdue_labels_are_those_wrong_for_longer_than_the_threshold(world: AuditWorld) -> None:
    build_chain(world)
    report = world.audit(at=AUDIT_AT).report
    overdue = {v.label_id for v in report.overdue(timedelta(minutes=30))}
    # L-offline still shows the due price; L-tampered reported its image a minute ago.
    assert overdue == {"L-stale", "L-flat", "L-unconfirmed"}
    assert {v.label_id for v in report.overdue(timedelta(hours=1, minutes=1))} == {"L-unconfirmed"}


def test_a_stale_label_that_confirms_becomes_a_match(world: AuditWorld) -> None:
    build_chain(world)
    world.acknowledged("L-stale", at=RECENTLY)
    assert verdicts(world)["L-stale"].audit_class is AuditClass.MATCH


def test_audit_of_one_store_only_reads_that_store(world: AuditWorld) -> None:
    build_chain(world)
    report = world.audit(at=AUDIT_AT, stores=["S03"]).report
    assert [s.store for s in report.stores] == ["S03"]
    assert {v.label_id for v in report.labels} == {"L-store-promo", "L-offline", "L-flat"}


MLK2_CSV = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
MLK-2,Mleko 2% 1 l,Mlekovita,5900512000022,dairy,5,1,l,yes,2025-01-01T00:00:00Z,
"""


def test_a_label_still_showing_the_product_it_was_bound_to_before_is_stale(
    world: AuditWorld,
) -> None:
    # Re-bound from MLK-1 to MLK-2 at the same price: the price fingerprints are equal,
    # but the panel still names MLK-1 until MLK-2's image is acknowledged.
    with world.sessions.begin() as session:
        import_products(session, MLK2_CSV, currency="PLN", imported_by="t", now=T0)
    world.publish(
        [{"action": "set_price", "sku": "MLK-2", "amount": "3.49"}], now=T0 - timedelta(days=30)
    )
    world.label("L-1", store="S02", sku="MLK-1")
    shown_hash, _ = world.acknowledged("L-1", at=T0)
    rebound_at = T0 + timedelta(minutes=10)
    with world.sessions.begin() as session:
        bind_label(
            session,
            principal=ADMIN,
            label_id="L-1",
            sku="MLK-2",
            template="standard",
            now=rebound_at,
        )
    new_hash = world.planned_but_unanswered("L-1", at=rebound_at, attempts=2, status="sent")
    assert new_hash != shown_hash
    world.checked_in("L-1", at=T0 + timedelta(minutes=20))

    verdict = {v.label_id: v for v in world.audit(at=T0 + timedelta(minutes=25)).report.labels}[
        "L-1"
    ]
    assert verdict.shown_hash == shown_hash
    assert not verdict.shows_due
    assert verdict.audit_class is AuditClass.STALE
    assert verdict.reason.startswith("shows MLK-1 at 3.49 PLN, due MLK-2 at 3.49")


def test_a_bound_label_still_showing_its_identification_screen_is_stale_not_tampered(
    world: AuditWorld,
) -> None:
    # Registered and bound to nothing, the label showed the identification screen the
    # controller sent it; bound five minutes later, its first product image is on its way.
    model = get_display_model("2.9-bwr")
    with world.sessions.begin() as session:
        session.add(
            LabelRow(
                id="L-new",
                store="S02",
                model=model.id,
                gateway="gw-S02",
                secret_key=bytes(range(16)),
                registered_at=T0,
            )
        )
        session.flush()
        store = session.get(StoreRow, "S02")
        assert store is not None
        content = identification_content(
            label_id="L-new", store="S02", store_name=store.name, locale="pl_PL", currency="PLN"
        )
        screen = world.cache.render(content, model=model, template=identification_template(model))
        digest = screen.content_hash.hex()
        sequence = world._frame(session, "L-new", digest, at=T0, status="acked", attempts=1)
        session.add(
            LabelStateRow(
                label_id="L-new",
                last_sequence=sequence,
                can_schedule=True,
                desired_hash=digest,
                confirmed_hash=digest,
                displayed_hash=digest,
                last_seen=T0,
                battery_mv=2_950,
            )
        )
        session.flush()
        bind_label(
            session,
            principal=ADMIN,
            label_id="L-new",
            sku="MLK-1",
            template="standard",
            now=T0 + timedelta(minutes=5),
        )
    world.planned_but_unanswered("L-new", at=T0 + timedelta(minutes=5), attempts=1, status="sent")
    world.checked_in("L-new", at=T0 + timedelta(minutes=6))

    verdict = {v.label_id: v for v in world.audit(at=T0 + timedelta(minutes=7)).report.labels}[
        "L-new"
    ]
    assert verdict.shown_hash == digest
    assert verdict.audit_class is AuditClass.STALE
    assert verdict.reason.startswith("shows its identification screen, due MLK-1 at 3.49")
    assert verdict.reason.endswith("update sent since 2026-03-02 10:05 (+01:00), 1 attempt(s)")


PROMOTION_CSV = """\
id,name,kind,skus,channels,percent,valid_from
P-CFE,{name},percent_off,CFE-1,store,20,{start}
"""


def test_a_running_promotion_renamed_leaves_an_unchanged_shelf_as_it_was(
    world: AuditWorld,
) -> None:
    # The name is not drawn: the image due is the very one the label shows, and planning
    # sends nothing. The price fingerprints differ (they cover the name); the drawing not.
    start = (T0 - timedelta(days=1)).isoformat()
    with world.sessions.begin() as session:
        import_promotions(
            session,
            PROMOTION_CSV.format(name="Coffee week", start=start),
            currency="PLN",
            imported_by="t",
            now=T0 - timedelta(days=1),
        )
    world.label("L-1", store="S03", sku="CFE-1")
    shown_hash, _ = world.acknowledged("L-1", at=T0)
    renamed_at = T0 + timedelta(minutes=10)
    with world.sessions.begin() as session:
        report = import_promotions(
            session,
            PROMOTION_CSV.format(name="Tydzień kawy", start=start),
            currency="PLN",
            imported_by="t",
            now=renamed_at,
        )
        assert report.updated == 1
        due_hash, _, _ = world.planned_content(session, "L-1", at=renamed_at)
    assert due_hash == shown_hash
    world.checked_in("L-1", at=T0 + timedelta(minutes=20))

    verdict = {v.label_id: v for v in world.audit(at=T0 + timedelta(minutes=25)).report.labels}[
        "L-1"
    ]
    assert verdict.shows_due
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE
    assert verdict.reason.startswith("store promotion P-CFE")


def test_a_difference_made_by_a_web_promotion_names_both_channels_offers(
    world: AuditWorld,
) -> None:
    # P-BOTH (-10 %) applies everywhere; on the web an exclusive P-WEB (-30 %) wins.
    start = T0 - timedelta(days=50)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-BOTH",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["CFE-1"],
            }
        ],
        now=start,
    )
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-WEB",
                "kind": "percent_off",
                "percent": "30",
                "skus": ["CFE-1"],
                "channels": ["web"],
                "priority": 5,
                "exclusive": True,
            }
        ],
        now=start + timedelta(minutes=1),
    )
    world.label("L-1", store="S03", sku="CFE-1")
    world.acknowledged("L-1", at=T0)

    verdict = {v.label_id: v for v in world.audit(at=T0 + timedelta(minutes=5)).report.labels}[
        "L-1"
    ]
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE
    assert (str(verdict.due_price), str(verdict.web_price)) == ("53.99", "41.99")
    assert verdict.rule == (
        "store promotion P-BOTH (percent_off, 'P-BOTH') against web promotion P-WEB "
        "(percent_off, 'P-WEB')"
    )
