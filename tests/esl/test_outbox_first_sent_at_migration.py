"""Migration 0042 on an existing database: the outbox gets `first_sent_at`, NULL for every
row stored then (its next send sets it, from when the wait for a frame its gateway
reports queued is counted: ESL_RETRY_WAITING_LIMIT_S), and a downgrade takes the column
away. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, select, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import OutboxRow
from firmware_sim.fleet import make_fleet
from tests.support.pipeline import register_and_bind

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _has_column(engine: Engine) -> bool:
    return "first_sent_at" in {c["name"] for c in inspect(engine).get_columns("outbox")}


def test_rows_stored_before_have_no_first_send_until_their_next(seeded: Engine) -> None:
    (label,) = make_fleet(store="S01", gateway="gw1", count=1)
    with session_factory(seeded)() as session, session.begin():
        register_and_bind(session, [label], store="S01", gateway="gw1", skus=["MLK-1"], now=AT)
    command.downgrade(migrations_config(seeded), "0041")
    assert not _has_column(seeded)
    with session_factory(seeded)() as session, session.begin():
        session.execute(
            text(
                "INSERT INTO outbox (label_id, store, gateway, sequence, content_hash, payload,"
                " status, attempts, not_before, sent_at, created_at) VALUES (:label, 'S01',"
                " 'gw1', 7, :digest, :payload, 'sent', 2, :at, :at, :at)"
            ),
            {"label": label.label_id, "digest": "0" * 32, "payload": b"frame", "at": AT},
        )

    upgrade_database(seeded)

    assert _has_column(seeded)
    with session_factory(seeded)() as session:
        rows = session.execute(select(OutboxRow.sequence, OutboxRow.first_sent_at)).all()
    assert [tuple(row) for row in rows] == [(7, None)]
