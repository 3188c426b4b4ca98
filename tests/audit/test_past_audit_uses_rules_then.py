"""An audit and a quote of a past instant price it with the price rules and promotions as
the record held them then, as they do the stores and products (docs/audit.md, "Auditing
the past: --at"; docs/pricing.md, "A quote for a past instant").

MLK-1's national price was 3.49 for two months. L-right showed it; L-wrong showed 3.59 by
mistake. A day later a price file put the national rule (same identity: its start two months
before) to 3.59, updating that rule in place. Audited as of the day before the file, L-right was
right and L-wrong wrong; quoted as of then, the shelf charged 3.49 (the ledger says so).
Priced with today's rules, the audit called the right label stale and the wrong one a
match, and the quote answered 3.59, a price the shelf never charged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass
from esl.imports import import_prices, import_promotions
from esl.services.quotes import quote
from tests.audit.world import T0, AuditWorld

PRICES = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
THEN = T0 + timedelta(days=1)
CHANGED = T0 + timedelta(days=2)
LATER = CHANGED + timedelta(hours=1)


def _prices(world: AuditWorld, rows: str, *, now) -> None:  # type: ignore[no-untyped-def]
    with world.sessions.begin() as session:
        import_prices(session, PRICES + rows, currency="PLN", imported_by="t", now=now)


def _labels(world: AuditWorld, change: Callable[[], None]) -> None:
    """L-right got 3.49 at T0 (due then); `change` is written at CHANGED; L-wrong's
    acknowledgement at T0 is of the content `change` makes due (3.59), which was not due
    at T0. Both are seen shortly before THEN."""
    world.label("L-right", store="S02", sku="MLK-1", at=T0)
    world.label("L-wrong", store="S02", sku="MLK-1", at=T0)
    _, right = world.acknowledged("L-right", at=T0)
    assert right.price == Decimal("3.49")
    change()
    _, wrong = world.acknowledged("L-wrong", at=T0)
    assert wrong.price == Decimal("3.59")
    for label_id in ("L-right", "L-wrong"):
        world.checked_in(label_id, at=THEN - timedelta(minutes=5))


def _classes(world: AuditWorld) -> dict[str, AuditClass]:
    report = world.audit(at=THEN, now=LATER).report
    return {v.label_id: v.audit_class for v in report.labels if v.label_id.startswith("L-")}


def _quoted(world: AuditWorld, *, at) -> str:  # type: ignore[no-untyped-def]
    with world.sessions() as session:
        resolved = quote(
            session,
            sku="MLK-1",
            store="S02",
            channel="store",
            at=at,
            now=LATER,
            locale="pl_PL",
            currency="PLN",
        )
    return str(resolved.price.amount)


def test_a_rule_updated_in_place_since_is_priced_as_it_was_then(world: AuditWorld) -> None:
    # The same rule as the national 3.49 (its identity: published at T0 - 60 d), updated
    # in place.
    since = (T0 - timedelta(days=60)).isoformat().replace("+00:00", "Z")
    _labels(world, lambda: _prices(world, f"MLK-1,national,,,3.59,PLN,{since},\n", now=CHANGED))

    classes = _classes(world)
    assert (classes["L-right"], classes["L-wrong"]) == (AuditClass.MATCH, AuditClass.STALE)
    assert _quoted(world, at=THEN) == "3.49"
    assert _quoted(world, at=LATER) == "3.59"


def test_a_rule_written_since_with_a_start_already_passed_did_not_price_the_past(
    world: AuditWorld,
) -> None:
    """A store price written at CHANGED claims to start at T0: it did not exist at THEN,
    so the shelf could not have charged it (the ledger records it from CHANGED)."""
    start = T0.isoformat().replace("+00:00", "Z")
    _labels(world, lambda: _prices(world, f"MLK-1,store,,S02,3.59,PLN,{start},\n", now=CHANGED))

    classes = _classes(world)
    assert (classes["L-right"], classes["L-wrong"]) == (AuditClass.MATCH, AuditClass.STALE)
    assert _quoted(world, at=THEN) == "3.49"
    assert _quoted(world, at=LATER) == "3.59"


PROMOTIONS = (
    "id,name,kind,skus,categories,stores,percent,amount,currency,quantity,valid_from,valid_until\n"
)


def test_a_promotion_replaced_since_is_priced_as_it_was_then(world: AuditWorld) -> None:
    """Dairy -10 % (3.14) from T0 - 1 d, replaced at CHANGED by a file making it -20 %
    (2.79) over the same window: as of THEN the shelf charged 3.14."""
    start = (T0 - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    until = (T0 + timedelta(days=10)).isoformat().replace("+00:00", "Z")
    row = "P-DAIRY,Dairy days,percent_off,,dairy,,{percent},,,,{start},{until}\n"
    with world.sessions.begin() as session:
        import_promotions(
            session,
            PROMOTIONS + row.format(percent="10", start=start, until=until),
            currency="PLN",
            imported_by="t",
            now=T0 - timedelta(days=1),
        )
    assert _quoted(world, at=THEN) == "3.14"
    with world.sessions.begin() as session:
        import_promotions(
            session,
            PROMOTIONS + row.format(percent="20", start=start, until=until),
            currency="PLN",
            imported_by="t",
            now=CHANGED,
        )
    assert _quoted(world, at=THEN) == "3.14"
    assert _quoted(world, at=LATER) == "2.79"
