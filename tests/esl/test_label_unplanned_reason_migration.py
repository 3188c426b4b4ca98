"""Migration 0032 on an existing database: `label_states.unplanned_reason` is added empty
(a label's state written before keeps its plan, and health reads it as before until the
next pass records a reason), and a long reason is stored whole up to its length;
downgrading drops the column. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from alembic import command
from sqlalchemy import BigInteger, Boolean, Engine, String, column, insert, inspect, select, table
from sqlalchemy import update as sql_update

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import UNPLANNED_REASON_CHARS, LabelStateRow
from esl.services.health import label_health
from firmware_sim.fleet import make_fleet
from tests.support.database import START
from tests.support.pipeline import register_and_bind


def test_the_reason_is_added_empty_and_dropped_on_downgrade(seeded: Engine) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=2)
    with session_factory(seeded).begin() as session:
        register_and_bind(session, fleet, store="S01", gateway="gw1", skus=["MLK-1"], now=START)
    shown, refused = sorted(p.label_id for p in fleet)
    command.downgrade(migrations_config(seeded), "0031")
    # Written through the 0031 columns (the model names the new one too).
    states = table(
        "label_states",
        column("label_id", String),
        column("last_sequence", BigInteger),
        column("can_schedule", Boolean),
        column("desired_key", String),
        column("desired_hash", String),
        column("confirmed_hash", String),
    )
    with session_factory(seeded).begin() as session:
        session.execute(
            insert(states),
            [
                {
                    "label_id": label_id,
                    "last_sequence": 1,
                    "can_schedule": True,
                    "desired_key": "standard|model|aa",
                    "desired_hash": "aa",
                    "confirmed_hash": "aa",
                }
                for label_id in (shown, refused)
            ],
        )

    upgrade_database(seeded)

    with session_factory(seeded)() as session:
        found = dict(
            session.execute(select(LabelStateRow.label_id, LabelStateRow.unplanned_reason)).all()
        )
        (health,) = label_health(session, now=START)
    assert found == {shown: None, refused: None}
    assert (health.up_to_date, health.unplanned) == (2, 0)
    reason = "not drawn: " + "x" * (UNPLANNED_REASON_CHARS - len("not drawn: "))
    with session_factory(seeded).begin() as session:
        session.execute(
            sql_update(LabelStateRow)
            .where(LabelStateRow.label_id == refused)
            .values(unplanned_reason=reason)
        )
    with session_factory(seeded)() as session:
        (health,) = label_health(session, now=START)
    assert (health.up_to_date, health.unplanned) == (1, 1)
    assert health.unplanned_reasons == {reason: 1}

    command.downgrade(migrations_config(seeded), "0031")
    columns = {c["name"] for c in inspect(seeded).get_columns("label_states")}
    assert "unplanned_reason" not in columns
    upgrade_database(seeded)
