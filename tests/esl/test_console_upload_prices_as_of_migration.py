"""Migration 0044 on an existing database: `console_uploads` gets `rule_version_seen` and
`promotion_version_seen` (the prices a kept preview was drawn with), NULL for every file
kept then (its prices unknown: "Publish now" asks for a new preview rather than guess),
and a downgrade takes the columns away. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, select

from esl.db.console_models import ConsoleUploadRow
from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.ui.console_uploads import seen_at_preview
from tests.support.console_uploads import keep_file_at_revision

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
COLUMNS = {"rule_version_seen", "promotion_version_seen"}


def _columns(engine: Engine) -> set[str]:
    return COLUMNS & {c["name"] for c in inspect(engine).get_columns("console_uploads")}


def test_files_kept_before_have_no_prices_seen(seeded: Engine) -> None:
    keep_file_at_revision(seeded, "0043", at=AT)
    assert _columns(seeded) == set()

    upgrade_database(seeded)

    assert _columns(seeded) == COLUMNS
    with session_factory(seeded)() as session:
        (row,) = session.scalars(select(ConsoleUploadRow)).all()
        assert (row.rule_version_seen, row.promotion_version_seen) == (None, None)
        assert seen_at_preview(row) is None

    command.downgrade(migrations_config(seeded), "0043")
    assert _columns(seeded) == set()
