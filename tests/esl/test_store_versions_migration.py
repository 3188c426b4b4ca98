"""Migration 0029 on an existing database: each store stored before gets one version, as
it is, valid since the epoch; a store moved to another zone after the upgrade is seen in
its old zone before the move and in its new one after; downgrading drops the table.
SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import Engine, inspect, select, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import StoreVersionRow
from esl.db.repositories import stores_as_at
from esl.services.stores import SINCE_EVER, save_stores
from pricing.products import Store
from tests.support.database import START


def test_stores_from_before_keep_their_past_and_a_move_after_is_dated(seeded: Engine) -> None:
    command.downgrade(migrations_config(seeded), "0028")
    with session_factory(seeded).begin() as session:
        # Written through the 0028 columns (the model names the new table too).
        session.execute(
            text(
                "INSERT INTO stores (code, name, zone, time_zone) "
                "VALUES ('S04', 'Lisboa', 'south', 'Europe/Lisbon')"
            )
        )

    upgrade_database(seeded)

    with session_factory(seeded)() as session:
        versions = session.execute(
            select(
                StoreVersionRow.store,
                StoreVersionRow.valid_from,
                StoreVersionRow.name,
                StoreVersionRow.zone,
                StoreVersionRow.time_zone,
            ).order_by(StoreVersionRow.store)
        ).all()
    assert [tuple(v) for v in versions] == [
        ("S01", SINCE_EVER, "Gdańsk Oliwa", "north", None),
        ("S02", SINCE_EVER, "Gdynia", "north", None),
        ("S03", SINCE_EVER, "Kraków", "south", None),
        ("S04", SINCE_EVER, "Lisboa", "south", "Europe/Lisbon"),
    ]

    moved_at = START + timedelta(days=1)
    with session_factory(seeded).begin() as session:
        save_stores(
            session,
            [Store(code="S01", name="Gdańsk Oliwa", zone="south")],
            title="store S01",
            kind="catalogue",
            by="test",
            now=moved_at,
            currency="PLN",
        )
    with session_factory(seeded)() as session:
        before = {s.code: s.zone for s in stores_as_at(session, moved_at - timedelta(seconds=1))}
        after = {s.code: s.zone for s in stores_as_at(session, moved_at)}
    assert before == {"S01": "north", "S02": "north", "S03": "south", "S04": "south"}
    assert after == {"S01": "south", "S02": "north", "S03": "south", "S04": "south"}

    command.downgrade(migrations_config(seeded), "0028")
    assert "store_versions" not in inspect(seeded).get_table_names()
    upgrade_database(seeded)
