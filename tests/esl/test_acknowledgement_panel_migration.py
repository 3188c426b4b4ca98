"""Migration 0046 on an existing database: `label_acknowledgements` gets `panel` (what the
record made of each kept word's panel) and `heard`, NULL in the rows kept before, which
the past audit reads as before: a row naming an image is the label's panel then (a
refusal naming none is passed over), every row the label heard then. A downgrade takes
the columns away. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import BigInteger, Engine, String, column, insert, inspect, table

from esl.audit.label_reads import past_seen
from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.types import UtcDateTime
from firmware_sim.fleet import make_fleet
from tests.support.database import START
from tests.support.pipeline import register_and_bind


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("label_acknowledgements")}


def test_words_kept_before_are_read_as_before(seeded: Engine) -> None:
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    label_id = provision.label_id
    with session_factory(seeded).begin() as session:
        register_and_bind(
            session, [provision], store="S01", gateway="gw1", skus=["MLK-1"], now=START
        )
    command.downgrade(migrations_config(seeded), "0045")
    assert not {"panel", "heard"} & _columns(seeded)
    acks = table(
        "label_acknowledgements",
        column("label_id", String),
        column("sequence", BigInteger),
        column("reason", String),
        column("displayed_hash", String),
        column("acked_hash", String),
        column("at", UtcDateTime()),
    )
    shown, busy_at = "ab" * 16, START + timedelta(minutes=2)
    with session_factory(seeded).begin() as session:
        session.execute(
            insert(acks),
            [
                {"label_id": label_id, "sequence": 1, "reason": "SUCCESS", "displayed_hash": shown,
                 "acked_hash": shown, "at": START + timedelta(minutes=1)},
                {"label_id": label_id, "sequence": 2, "reason": "BUSY", "displayed_hash": None,
                 "acked_hash": None, "at": busy_at},
            ],
        )  # fmt: skip

    upgrade_database(seeded)

    assert {"panel", "heard"} <= _columns(seeded)
    with session_factory(seeded)() as session:
        seen = past_seen(session, [label_id], at=busy_at + timedelta(minutes=1))[label_id]
    assert (seen.shown_hash, seen.last_seen) == (shown, busy_at)

    command.downgrade(migrations_config(seeded), "0045")
    assert not {"panel", "heard"} & _columns(seeded)
    upgrade_database(seeded)
