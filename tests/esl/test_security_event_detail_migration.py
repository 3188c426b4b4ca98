"""Migration 0025 on an existing database: security event rows get the last event's
sequence and detail where they are known (a row standing for one event), and none where
they are not (a row whose repeats' details were never kept); downgrading drops them. And
events added to a row in later transactions move its last sequence and detail, never
back to an earlier event's. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import Engine, select, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import SecurityEventRow
from esl.pipeline.security_events import (
    SecurityEvent,
    SecurityEventKind,
    record_security_events,
)
from esl.services.security_events import recent_security_events
from tests.support.database import START


def test_upgrading_keeps_the_last_detail_of_single_events_and_none_of_coalesced_ones(
    engine: Engine,
) -> None:
    command.downgrade(migrations_config(engine), "0024")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO security_events "
                "(at, kind, store, gateway, label_id, sequence, detail, repeats, last_at) "
                "VALUES (:at, :kind, 'S01', 'gw1', :label, :sequence, :detail, :repeats, :at)"
            ),
            [
                {
                    "at": START,
                    "kind": "tampered frame",
                    "label": "S01-gw1-00001",
                    "sequence": 7,
                    "detail": "BAD_MAC for a frame the controller signed",
                    "repeats": 0,
                },
                {
                    "at": START,
                    "kind": "forged answer",
                    "label": "S01-gw1-00002",
                    "sequence": None,
                    "detail": "uplink of 77 bytes fails the label's MAC",
                    "repeats": 41,
                },
            ],
        )

    upgrade_database(engine)

    with session_factory(engine)() as session:
        rows = session.execute(
            select(
                SecurityEventRow.label_id,
                SecurityEventRow.last_sequence,
                SecurityEventRow.last_detail,
            ).order_by(SecurityEventRow.label_id)
        ).all()
        listed = recent_security_events(session, now=START + timedelta(minutes=1))
    assert [tuple(row) for row in rows] == [
        ("S01-gw1-00001", 7, "BAD_MAC for a frame the controller signed"),
        ("S01-gw1-00002", None, None),
    ]
    assert {(event.label_id, event.last_detail) for event in listed} == {
        ("S01-gw1-00001", "BAD_MAC for a frame the controller signed"),
        ("S01-gw1-00002", None),
    }

    command.downgrade(migrations_config(engine), "0024")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM security_events")).scalar() == 2
    upgrade_database(engine)


def _tampered(at_s: int, sequence: int) -> SecurityEvent:
    return SecurityEvent(
        at=START + timedelta(seconds=at_s),
        kind=SecurityEventKind.TAMPERED_FRAME,
        store="S01",
        gateway="gw1",
        label_id="S01-gw1-00001",
        sequence=sequence,
        detail=f"BAD_MAC for frame {sequence}",
    )


def test_events_added_to_a_row_later_keep_the_latest_ones_sequence_and_detail(
    engine: Engine,
) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        record_security_events(session, [_tampered(0, 5)])
    with sessions.begin() as session:  # a later batch: added to that row
        record_security_events(session, [_tampered(20, 9), _tampered(10, 7)])
    with sessions.begin() as session:  # a batch settled late: the row's last stays
        record_security_events(session, [_tampered(15, 8)])
    with sessions() as session:
        row = session.execute(
            select(
                SecurityEventRow.sequence,
                SecurityEventRow.detail,
                SecurityEventRow.repeats,
                SecurityEventRow.last_at,
                SecurityEventRow.last_sequence,
                SecurityEventRow.last_detail,
            )
        ).one()
    assert tuple(row) == (
        5,
        "BAD_MAC for frame 5",
        3,
        START + timedelta(seconds=20),
        9,
        "BAD_MAC for frame 9",
    )
