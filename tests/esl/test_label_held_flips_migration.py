"""Migration 0031 on an existing database: a label whose acknowledged image is its planned
timed image holds that flip (`label_states.held_hash`, `held_display_at`); one whose
timed image is still on its way, or with no timed image, holds none; downgrading drops
the columns. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import BigInteger, Boolean, Engine, String, column, insert, inspect, select, table

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelStateRow
from esl.db.types import UtcDateTime
from firmware_sim.fleet import make_fleet
from tests.support.database import START
from tests.support.pipeline import register_and_bind


def test_labels_holding_their_planned_flip_are_found_holding_it(seeded: Engine) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=3)
    with session_factory(seeded).begin() as session:
        register_and_bind(session, fleet, store="S01", gateway="gw1", skus=["MLK-1"], now=START)
    held, on_its_way, untimed = sorted(p.label_id for p in fleet)
    flip = START + timedelta(hours=1)
    command.downgrade(migrations_config(seeded), "0030")
    # Written through the 0030 columns (the model names the new ones too).
    states = table(
        "label_states",
        column("label_id", String),
        column("last_sequence", BigInteger),
        column("can_schedule", Boolean),
        column("desired_hash", String),
        column("confirmed_hash", String),
        column("desired_display_at", UtcDateTime()),
    )
    rows = [(held, "aa", "aa", flip), (on_its_way, "bb", "aa", flip), (untimed, "cc", "cc", None)]
    with session_factory(seeded).begin() as session:
        session.execute(
            insert(states),
            [
                {
                    "label_id": label_id,
                    "last_sequence": 2,
                    "can_schedule": True,
                    "desired_hash": desired,
                    "confirmed_hash": confirmed,
                    "desired_display_at": at,
                }
                for label_id, desired, confirmed, at in rows
            ],
        )

    upgrade_database(seeded)

    with session_factory(seeded)() as session:
        found = {
            label_id: (digest, at)
            for label_id, digest, at in session.execute(
                select(
                    LabelStateRow.label_id, LabelStateRow.held_hash, LabelStateRow.held_display_at
                )
            )
        }
    assert found[held] == ("aa", flip)
    assert found[on_its_way] == (None, None)
    assert found[untimed] == (None, None)

    command.downgrade(migrations_config(seeded), "0030")
    columns = {c["name"] for c in inspect(seeded).get_columns("label_states")}
    assert not {"held_hash", "held_display_at"} & columns
    upgrade_database(seeded)
