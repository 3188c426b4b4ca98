"""Migration 0027 on an existing database: labels registered before are in service (not
retired), a label retired after the upgrade keeps when and by whom, and downgrading drops
the columns. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelRow
from esl.services.label_retirement import retire_label
from firmware_sim.fleet import make_fleet
from tests.support.database import START, insert_label_as_before
from tests.support.pipeline import ADMIN


def test_labels_registered_before_stay_in_service_and_can_be_retired(seeded: Engine) -> None:
    provisions = make_fleet(store="S01", gateway="gw1", count=2)
    command.downgrade(migrations_config(seeded), "0026")
    with session_factory(seeded).begin() as session:
        # Registered through the 0026 columns (the model has the new ones).
        for provision in provisions:
            insert_label_as_before(session, provision)

    upgrade_database(seeded)

    first, second = (p.label_id for p in provisions)
    with session_factory(seeded).begin() as session:
        for label_id in (first, second):
            label = session.get(LabelRow, label_id)
            assert label is not None
            assert (label.retired_at, label.retired_by) == (None, None)
        retire_label(session, principal=ADMIN, label_id=first, now=START)
    with session_factory(seeded)() as session:
        label = session.get(LabelRow, first)
        assert label is not None
        assert (label.retired_at, label.retired_by) == (START, ADMIN.name)
    command.downgrade(migrations_config(seeded), "0026")
    with seeded.connect() as connection:
        columns = connection.execute(text("SELECT * FROM labels")).keys()
    assert "retired_at" not in columns
    upgrade_database(seeded)
