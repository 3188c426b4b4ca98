"""Migration 0045 on an existing database: `console_uploads` gets `shelves_seen` (what a
kept preview showed the file doing to each store's shelves), NULL for every file kept
then (what its preview showed is unknown: "Publish now" asks for a new preview rather
than guess), and a downgrade takes the column away. SQLite always, PostgreSQL when
configured."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select

from esl.db.console_models import ConsoleUploadRow
from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.errors import InvalidItemError
from esl.ui.console_uploads import check_shelves_unchanged
from tests.support.console_uploads import keep_file_at_revision

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _has_column(engine: Engine) -> bool:
    return "shelves_seen" in {c["name"] for c in inspect(engine).get_columns("console_uploads")}


def test_files_kept_before_have_no_shelves_seen(seeded: Engine) -> None:
    keep_file_at_revision(
        seeded, "0044", at=AT, columns={"rule_version_seen": 7, "promotion_version_seen": 3}
    )
    assert not _has_column(seeded)

    upgrade_database(seeded)

    assert _has_column(seeded)
    with session_factory(seeded)() as session:
        (row,) = session.scalars(select(ConsoleUploadRow)).all()
        assert (row.rule_version_seen, row.promotion_version_seen) == (7, 3)
        assert row.shelves_seen is None
        with pytest.raises(InvalidItemError, match="kept before an upgrade"):
            check_shelves_unchanged(row.shelves_seen, {})

    command.downgrade(migrations_config(seeded), "0044")
    assert not _has_column(seeded)
