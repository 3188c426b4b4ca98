"""Migration 0049 on an existing database: store versions get `opened`, each version
stored then the store's opening as it is (what every audit of a past instant read for
it), a store whose opening is moved since keeps the one before in its versions, and a
downgrade takes the column away. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import Engine, inspect, select

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import StoreVersionRow
from esl.services.stores import save_stores
from pricing.products import Store
from tests.support.database import START

CREATED = START + timedelta(days=3)
MOVED = CREATED + timedelta(days=10)


def _has_column(engine: Engine) -> bool:
    return "opened" in {c["name"] for c in inspect(engine).get_columns("store_versions")}


def _save(engine: Engine, store: Store, *, now: datetime) -> None:
    with session_factory(engine).begin() as session:
        save_stores(
            session, [store], title=store.code, kind="catalogue", by="test", now=now, currency="PLN"
        )


def _versions(engine: Engine, code: str) -> list[tuple[object, object]]:
    with session_factory(engine)() as session:
        return [
            (row.valid_from, row.opened)
            for row in session.execute(
                select(StoreVersionRow.valid_from, StoreVersionRow.opened)
                .where(StoreVersionRow.store == code)
                .order_by(StoreVersionRow.valid_from)
            )
        ]


def test_versions_stored_before_keep_the_opening_and_a_move_keeps_the_one_before(
    seeded: Engine,
) -> None:
    _save(seeded, Store(code="S09", name="Sopot"), now=CREATED)
    command.downgrade(migrations_config(seeded), "0048")
    assert not _has_column(seeded)

    upgrade_database(seeded)

    assert _has_column(seeded)
    assert _versions(seeded, "S09") == [(CREATED, CREATED)]
    # Moved earlier by `PUT /stores/S09` (the store file alike): the one before is kept.
    earlier = CREATED - timedelta(days=50)
    _save(seeded, Store(code="S09", name="Sopot", opened=earlier), now=MOVED)
    assert _versions(seeded, "S09") == [(CREATED, CREATED), (MOVED, earlier)]

    command.downgrade(migrations_config(seeded), "0048")
    assert not _has_column(seeded)
