"""Migration 0028 on an existing database: labels known before have no clock offset
(right as far as known: their timed flips count at the instant, as before), an offset
written after the upgrade is kept, one far off included (a clock reset to its epoch, tens
of years behind, in milliseconds), and downgrading drops the column. SQLite always,
PostgreSQL when configured."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelStateRow
from firmware_sim.fleet import make_fleet
from tests.support.database import insert_label_as_before

# A label whose clock restarted at 1970, audited in 2026: 56 years behind.
_EPOCH_BEHIND_MS = -56 * 365 * 24 * 3600 * 1000


def test_states_from_before_have_no_offset_and_a_large_one_is_kept(seeded: Engine) -> None:
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    command.downgrade(migrations_config(seeded), "0027")
    with session_factory(seeded).begin() as session:
        # Written through the 0027 columns (the model has the new one).
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
        assert (state.last_sequence, state.clock_offset_ms) == (7, None)
        state.clock_offset_ms = _EPOCH_BEHIND_MS
    with session_factory(seeded)() as session:
        state = session.get(LabelStateRow, provision.label_id)
        assert state is not None
        assert state.clock_offset_ms == _EPOCH_BEHIND_MS
    command.downgrade(migrations_config(seeded), "0027")
    with seeded.connect() as connection:
        columns = connection.execute(text("SELECT * FROM label_states")).keys()
    assert "clock_offset_ms" not in columns
    upgrade_database(seeded)
