"""Migration 0026 on an existing database: each label action already signed keeps the
number it was signed with in `label_action_frames`, so a late answer to it is still its
action's; downgrading drops the table. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.pipeline.label_actions import signed_action_sequences
from firmware_sim.fleet import make_fleet
from tests.support.database import START
from tests.support.pipeline import register_and_bind


def test_upgrading_keeps_the_number_each_action_was_signed_with(seeded: Engine) -> None:
    provisions = make_fleet(store="S01", gateway="gw1", count=1)
    (label_id,) = (p.label_id for p in provisions)
    with session_factory(seeded).begin() as session:
        register_and_bind(
            session, provisions, store="S01", gateway="gw1", skus=["MLK-1"], now=START
        )
    command.downgrade(migrations_config(seeded), "0025")
    with seeded.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO label_actions (label_id, action, status, sequence, requested_by, "
                "requested_at) VALUES (:label, :action, :status, :sequence, 'admin', :at)"
            ),
            [
                {
                    "label": label_id,
                    "action": "flash",
                    "status": "sent",
                    "sequence": 12,
                    "at": START,
                },
                {
                    "label": label_id,
                    "action": "ping",
                    "status": "requested",
                    "sequence": None,
                    "at": START,
                },
            ],
        )

    upgrade_database(seeded)

    with session_factory(seeded)() as session:
        (flash_id,) = session.execute(
            text("SELECT id FROM label_actions WHERE action = 'flash'")
        ).scalars()
        assert signed_action_sequences(session, [(label_id, 12), (label_id, 13)]) == {
            (label_id, 12): flash_id
        }
    command.downgrade(migrations_config(seeded), "0025")
    upgrade_database(seeded)
