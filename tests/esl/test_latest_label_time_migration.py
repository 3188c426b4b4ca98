"""Migration 0039 on an existing database: labels known before have no latest clock
reading (the claim held stands in for it until their next answer), one written after the
upgrade is kept, and downgrading drops the column. SQLite always, PostgreSQL when
configured."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelStateRow
from firmware_sim.fleet import make_fleet
from tests.support.database import insert_label_as_before

SIGNED = datetime(2027, 1, 5, 8, 10, tzinfo=UTC)


def test_states_from_before_have_no_latest_label_time_and_one_is_kept(seeded: Engine) -> None:
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    command.downgrade(migrations_config(seeded), "0038")
    with session_factory(seeded).begin() as session:
        # Written through the 0038 columns (the model has the new one).
        insert_label_as_before(session, provision)
        session.execute(
            text(
                "INSERT INTO label_states (label_id, last_sequence, can_schedule) "
                "VALUES (:id, 7, :yes)"
            ),
            {"id": provision.label_id, "yes": True},
        )

    upgrade_database(seeded)

    with session_factory(seeded).begin() as session:
        state = session.get(LabelStateRow, provision.label_id)
        assert state is not None
        assert (state.last_sequence, state.latest_label_time) == (7, None)
        state.latest_label_time = SIGNED
    with session_factory(seeded)() as session:
        state = session.get(LabelStateRow, provision.label_id)
        assert state is not None
        assert state.latest_label_time == SIGNED
    command.downgrade(migrations_config(seeded), "0038")
    with seeded.connect() as connection:
        columns = connection.execute(text("SELECT * FROM label_states")).keys()
    assert "latest_label_time" not in columns
    upgrade_database(seeded)
