"""Two price writers whose clocks disagree (two API workers, or an NTP step back): the
second updates in place a rule the first wrote, a minute earlier by its own clock. A past
quote and a past audit after both price with the second's amount, which the table, the
ledger and the shelf hold: `begin_price_write` lifts a writer's instant to the newest rule
or promotion version recorded, as to the newest ledger entry, so versions are recorded in
the order they were written. Before, a price file whose rows all start later (no ledger
entry at its import) let the next writer's version be recorded before its own, and
`rules_as_at` read the superseded 3.19 at every instant after both (a false `match` for
the label showing it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from esl.audit.classify import AuditClass
from esl.imports import import_prices
from esl.services.quotes import quote
from tests.audit.world import T0, AuditWorld

PRICES = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
START = T0 + timedelta(days=3)
ROW = "MLK-1,store,,S02,{price},PLN," + START.isoformat().replace("+00:00", "Z") + ",\n"
NOW = T0 + timedelta(days=5)
FIRST = T0 + timedelta(days=1)  # worker-a's write


def _quoted(world: AuditWorld, *, at: datetime) -> str:
    with world.sessions() as session:
        resolved = quote(
            session,
            sku="MLK-1",
            store="S02",
            channel="store",
            at=at,
            now=NOW,
            locale="pl_PL",
            currency="PLN",
        )
    return str(resolved.price.amount)


def _import(world: AuditWorld, price: str, *, by: str, now: datetime) -> None:
    """S02's store price for MLK-1 from START, imported by worker `by` at its `now`."""
    with world.sessions.begin() as session:
        import_prices(
            session, PRICES + ROW.format(price=price), currency="PLN", imported_by=by, now=now
        )


def test_a_rule_updated_by_a_writer_whose_clock_is_behind_is_quoted_as_updated(
    world: AuditWorld,
) -> None:
    _import(world, "3.19", by="worker-a", now=FIRST)
    _import(world, "2.99", by="worker-b", now=FIRST - timedelta(minutes=1))  # a minute behind
    assert _quoted(world, at=NOW) == "2.99"  # the record of now: the table
    # A day after both writes, the rule in force (since START) was the 2.99 one.
    assert _quoted(world, at=START + timedelta(days=1)) == "2.99"


def test_the_past_audit_calls_the_label_showing_the_superseded_price_stale(
    world: AuditWorld,
) -> None:
    """L-wrong shows the superseded 3.19, L-right the 2.99 in force since START; audited as
    of START + 1 d (both writes long done), L-right is right and L-wrong wrong."""
    shown_at = START + timedelta(hours=1)
    then = START + timedelta(days=1)
    _import(world, "3.19", by="worker-a", now=FIRST)
    world.label("L-wrong", store="S02", sku="MLK-1", at=T0)
    _, wrong = world.acknowledged("L-wrong", at=shown_at)
    _import(world, "2.99", by="worker-b", now=FIRST - timedelta(minutes=1))
    world.label("L-right", store="S02", sku="MLK-1", at=T0)
    _, right = world.acknowledged("L-right", at=shown_at)
    assert (str(wrong.price), str(right.price)) == ("3.19", "2.99")
    for label_id in ("L-right", "L-wrong"):
        world.checked_in(label_id, at=then - timedelta(minutes=5))
    report = world.audit(at=then, now=NOW).report
    classes = {v.label_id: v.audit_class for v in report.labels if v.label_id.startswith("L-")}
    assert (classes["L-right"], classes["L-wrong"]) == (AuditClass.MATCH, AuditClass.STALE)
