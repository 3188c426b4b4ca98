"""A one-store past audit (`esl audit --at T --store S01`, `GET /audit?store=S01&at=`)
reads that store's labels' history only, and says for them what the chain's past audit
of the same instant says.

The past audit's reads of the kept words, the timed flips held, the frames sent
unanswered, the labels' health and their open updates read every label of the chain and
its whole outbox, and kept the store's in Python: a one-store past audit cost two thirds
of the chain's (5.0 s for one store's 2,000 labels against 8.4 s for the chain's 100,000
with 8 frames kept per label: `esl bench audit`, `past_audit_store_s`; now 0.8 s).
Each statement the audit sent is run again here, and none may return a row of another
store's label.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

from esl.audit.classify import AuditClass, LabelVerdict, Thresholds
from esl.db.models import LabelAcknowledgementRow, LabelStateRow, OutboxRow
from esl.delivery_states import RecordedPanel
from tests.audit.world import T0, AuditWorld

FLIPS = T0 + timedelta(hours=2)  # the new price's instant, and the timed frame's
AT = FLIPS + timedelta(minutes=30)  # the audited instant
# A label last heard before the flip is not `offline` here: what it shows is the point.
PATIENT = Thresholds(offline_after=timedelta(days=1))


def _timed_flip_acknowledged(world: AuditWorld, label_id: str) -> str:
    """The label, showing 3.49, acknowledged ahead the frame of 2.99 timed for FLIPS and
    says nothing since: it flipped by itself (the past audit reads it from the held
    flip). Returns the flip's image."""
    sent = T0 + timedelta(minutes=30)
    with world.sessions.begin() as session:
        digest, _, _ = world.planned_content(session, label_id, at=FLIPS)
        sequence = world.sequences[label_id] = world.sequences[label_id] + 1
        state = session.get(LabelStateRow, label_id)
        assert state is not None
        shown = state.displayed_hash
        session.add(
            OutboxRow(
                label_id=label_id,
                store=label_id[:3],
                gateway=f"gw-{label_id[:3]}",
                sequence=sequence,
                content_hash=digest,
                base_hash=None,
                display_at=FLIPS,
                payload=b"frame",
                status="acked",
                attempts=1,
                not_before=sent,
                sent_at=sent,
                first_sent_at=sent,
                created_at=sent,
                settled_at=sent,
            )
        )
        session.add(
            LabelAcknowledgementRow(
                label_id=label_id,
                sequence=sequence,
                reason="SUCCESS",
                displayed_hash=shown,
                acked_hash=digest,
                at=sent,
                panel=RecordedPanel.REPORTED,
                heard=True,
            )
        )
    return digest


def _chain_of_two_stores(world: AuditWorld) -> dict[str, str]:
    """In S01 and S02 alike: a label that flipped by itself to a timed image (2.99 from
    FLIPS), one that took 2.99 and was then sent 2.49, a price of ten minutes, unanswered
    at AT (answered after it), and one that took 2.99. Returns each flip's image."""
    flips = {}
    for store in ("S01", "S02"):
        for name in ("flip", "frame", "ok"):
            world.label(f"{store}-{name}", store=store, sku="MLK-1")
            world.acknowledged(f"{store}-{name}", at=T0)
    world.publish(
        [{"action": "set_price", "sku": "MLK-1", "amount": "2.99"}],
        now=T0 + timedelta(minutes=10),
        effective_at=FLIPS,
    )
    for store in ("S01", "S02"):
        flips[f"{store}-flip"] = _timed_flip_acknowledged(world, f"{store}-flip")
        world.acknowledged(f"{store}-ok", at=FLIPS + timedelta(minutes=5))
        world.acknowledged(f"{store}-frame", at=FLIPS + timedelta(minutes=5))
    for amount, minutes in (("2.49", 8), ("2.99", 20)):
        world.publish(
            [{"action": "set_price", "sku": "MLK-1", "amount": amount}],
            now=FLIPS + timedelta(minutes=minutes - 2),
            effective_at=FLIPS + timedelta(minutes=minutes),
        )
        if amount == "2.49":
            for store in ("S01", "S02"):
                world.planned_but_unanswered(
                    f"{store}-frame", at=FLIPS + timedelta(minutes=10), attempts=1, status="sent"
                )
    for store in ("S01", "S02"):
        world.acknowledged(f"{store}-frame", at=AT + timedelta(minutes=10))
    return flips


def _rows_read(engine: Engine, statements: list[tuple[str, Any]]) -> set[Any]:
    """Every value of every row the recorded SELECT statements return, run again."""
    found: set[Any] = set()
    with engine.connect() as connection:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                for row in connection.exec_driver_sql(statement, parameters):
                    found.update(v for v in row if isinstance(v, str))
    return found


def test_a_one_store_past_audit_reads_only_its_labels_and_says_what_the_chains_says(
    engine: Engine,
) -> None:
    world = AuditWorld(engine)
    flips = _chain_of_two_stores(world)

    chain = world.audit(at=AT, now=AT + timedelta(hours=1), thresholds=PATIENT).report
    statements: list[tuple[str, Any]] = []

    def record(
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        one = world.audit(
            at=AT, now=AT + timedelta(hours=1), stores=["S01"], thresholds=PATIENT
        ).report
    finally:
        event.remove(engine, "before_cursor_execute", record)

    by_label: dict[str, LabelVerdict] = {v.label_id: v for v in chain.labels}
    # Both stores' flips and unanswered frames were weighed in the chain's audit.
    for store in ("S01", "S02"):
        flipped = by_label[f"{store}-flip"]
        # Counted flipped, not heard after the instant: not `match` on that count alone.
        assert (flipped.audit_class, flipped.shown_hash) == (
            AuditClass.UNCONFIRMED,
            flips[f"{store}-flip"],
        )
        drawn = by_label[f"{store}-frame"]
        assert drawn.audit_class is AuditClass.UNCONFIRMED, drawn
        assert "2.49" in drawn.reason, drawn.reason
        assert "may show" in drawn.reason, drawn.reason
        assert by_label[f"{store}-ok"].audit_class is AuditClass.MATCH
    # The one-store audit says the same of S01's labels, and nothing of S02's.
    assert sorted(one.labels) == sorted(v for v in chain.labels if v.store == "S01")

    read = _rows_read(engine, statements)
    assert {"S01-flip", "S01-frame", "S01-ok"} <= read  # the check sees label ids
    assert not {"S02-flip", "S02-frame", "S02-ok"} & read, "read another store's labels"
