"""A shelf at the due price stays a match when its store and a running promotion are both
renamed (neither changes a price).

Found by review: comparing the drawn content rebuilt the due label with the store's new
name, so only the footer differed and the unchanged shelf became "stale".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, update

from esl.db.models import LabelModelRow, LabelRow, StoreRow
from esl.imports import import_promotions
from tests.audit.world import T0, AuditWorld

PROMOTION_CSV = """\
id,name,kind,skus,channels,percent,valid_from
P-CFE,{name},percent_off,CFE-1,store,20,{start}
"""


def _promotion(world: AuditWorld, name: str, *, now: datetime) -> None:
    start = (T0 - timedelta(days=1)).isoformat()
    with world.sessions.begin() as session:
        import_promotions(
            session,
            PROMOTION_CSV.format(name=name, start=start),
            currency="PLN",
            imported_by="t",
            now=now,
        )


def _shows_due(world: AuditWorld, minutes: int) -> tuple[bool, str]:
    report = world.audit(at=T0 + timedelta(minutes=minutes)).report
    verdict = {v.label_id: v for v in report.labels}["L-1"]
    return verdict.shows_due, verdict.reason


def test_a_renamed_store_and_promotion_leave_a_shelf_at_the_due_price_a_match(
    engine: Engine,
) -> None:
    world = AuditWorld(engine)
    _promotion(world, "Coffee week", now=T0 - timedelta(days=1))
    world.label("L-1", store="S03", sku="CFE-1")
    with world.sessions.begin() as session:  # a 4.2" label: its template prints the store
        session.add(LabelModelRow(id="4.2-bwr", width=400, height=300, accent_colour="red"))
        session.flush()
        session.execute(update(LabelRow).where(LabelRow.id == "L-1").values(model="4.2-bwr"))
    world.acknowledged("L-1", at=T0)
    world.checked_in("L-1", at=T0 + timedelta(minutes=20))

    with world.sessions.begin() as session:
        session.execute(update(StoreRow).where(StoreRow.code == "S03").values(name="Renamed"))
    # The store renamed alone: the audit calls the shelf right (price fingerprints equal).
    assert _shows_due(world, 21)[0]

    _promotion(world, "Tydzień kawy", now=T0 + timedelta(minutes=22))
    shows_due, reason = _shows_due(world, 25)
    assert shows_due, f"only the store name differs, as before the rename: {reason}"
