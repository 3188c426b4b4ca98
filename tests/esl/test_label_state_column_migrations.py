"""Migrations that add a column to label_states, on an existing database: labels known
before have none (NULL: right as far as known), a value written after the upgrade is kept,
and downgrading drops the column. SQLite always, PostgreSQL when configured.

- 0028 `clock_offset_ms`: a label without one has its timed flips counted at the instant,
  as before; a far-off one is kept (a clock reset to its epoch, tens of years behind, in
  milliseconds).
- 0039 `latest_label_time`: the claim held stands in for it until the label's next answer.
- 0047 `later_word_label_time`, `later_word_hash`, `later_word_heard_at`: no later word held,
  so every answer is judged as before until one is heard.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelStateRow
from firmware_sim.fleet import make_fleet
from tests.support.database import insert_label_as_before

# A label whose clock restarted at 1970, audited in 2026: 56 years behind.
_EPOCH_BEHIND_MS = -56 * 365 * 24 * 3600 * 1000


@pytest.mark.parametrize(
    ("revision_before", "column", "value"),
    [
        ("0027", "clock_offset_ms", _EPOCH_BEHIND_MS),
        ("0038", "latest_label_time", datetime(2027, 1, 5, 8, 10, tzinfo=UTC)),
        ("0046", "later_word_label_time", datetime(2027, 1, 5, 8, 11, tzinfo=UTC)),
        ("0046", "later_word_hash", "9a6d1ac07cf6b56b07a6bd65a83c0165"),
        ("0046", "later_word_heard_at", datetime(2027, 1, 5, 8, 12, tzinfo=UTC)),
    ],
)
def test_states_from_before_have_none_and_a_value_is_kept(
    seeded: Engine, revision_before: str, column: str, value: Any
) -> None:
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    command.downgrade(migrations_config(seeded), revision_before)
    with session_factory(seeded).begin() as session:
        # Written through the columns of the revision before (the model has the new one).
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
        assert (state.last_sequence, getattr(state, column)) == (7, None)
        setattr(state, column, value)
    with session_factory(seeded)() as session:
        state = session.get(LabelStateRow, provision.label_id)
        assert state is not None
        assert getattr(state, column) == value
    command.downgrade(migrations_config(seeded), revision_before)
    with seeded.connect() as connection:
        columns = connection.execute(text("SELECT * FROM label_states")).keys()
    assert column not in columns
    upgrade_database(seeded)
