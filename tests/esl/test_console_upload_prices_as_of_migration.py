"""Migration 0044 on an existing database: `console_uploads` gets `rule_version_seen` and
`promotion_version_seen` (the prices a kept preview was drawn with), NULL for every file
kept then (its prices unknown: "Publish now" asks for a new preview rather than guess),
and a downgrade takes the columns away. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Engine, inspect, select, text

from esl.db.console_models import ConsoleUploadRow
from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.services.keys import Role, create_key
from esl.ui.console_sessions import open_session
from esl.ui.console_uploads import seen_at_preview

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
COLUMNS = {"rule_version_seen", "promotion_version_seen"}


def _columns(engine: Engine) -> set[str]:
    return COLUMNS & {c["name"] for c in inspect(engine).get_columns("console_uploads")}


def test_files_kept_before_have_no_prices_seen(seeded: Engine) -> None:
    with session_factory(seeded)() as session, session.begin():
        _, key = create_key(session, name="pricing-1", role=Role.PRICING, store=None, now=AT)
        _, signed_in = open_session(session, api_key=key, now=AT)
    command.downgrade(migrations_config(seeded), "0043")
    assert _columns(seeded) == set()
    with session_factory(seeded)() as session, session.begin():
        session.execute(
            text(
                "INSERT INTO console_uploads (console_session_id, kind, filename, digest,"
                " content, created_at, expires_at) VALUES (:session, 'prices', 'milk.csv',"
                " :digest, :content, :at, :until)"
            ),
            {
                "session": signed_in.session_id,
                "digest": "0" * 64,
                "content": b"sku,scope,price,currency\n",
                "at": AT,
                "until": AT + timedelta(hours=1),
            },
        )

    upgrade_database(seeded)

    assert _columns(seeded) == COLUMNS
    with session_factory(seeded)() as session:
        (row,) = session.scalars(select(ConsoleUploadRow)).all()
        assert (row.rule_version_seen, row.promotion_version_seen) == (None, None)
        assert seen_at_preview(row) is None

    command.downgrade(migrations_config(seeded), "0043")
    assert _columns(seeded) == set()
