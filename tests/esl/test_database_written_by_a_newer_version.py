"""A retailer who upgraded, then went back to the previous release (a rollback of the
binary, the database kept): the database is stamped with a revision this version does not
ship. docs/database.md (Migrations): `esl db upgrade` refuses "a database at a revision
this version does not know (written by a newer one)" with a SchemaRevisionError, exit 1,
changing nothing. The other commands must not tell the operator to run `esl db upgrade`,
which cannot help."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, upgrade_database
from esl.db.readiness import head_revision
from esl.errors import SchemaRevisionError

pytestmark = pytest.mark.integration

NEWER = "0999"


def _stamp_newer(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": NEWER})


def test_upgrade_database_refuses_a_newer_schema_as_a_schema_revision_error(
    engine: Engine,
) -> None:
    _stamp_newer(engine)
    with pytest.raises(SchemaRevisionError, match="which this version does not know"):
        upgrade_database(engine)


def test_esl_db_upgrade_on_a_database_written_by_a_newer_version(cli: CliRunner) -> None:
    url = cli.invoke(app, ["db", "current"])  # at head
    assert url.exit_code == 0, url.output
    path = os.path.join(os.environ["ESL_DATA_DIR"], "esl.sqlite")
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        _stamp_newer(engine)
    finally:
        engine.dispose()

    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "unexpected" not in result.stderr, result.stderr
    assert "report it" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [
        f"error: the database is at schema {NEWER}, which this version does not know "
        f"(its newest is {head_revision()})",
        "  run the version of esl that wrote it",
    ]


def test_commands_on_a_newer_database_do_not_say_run_esl_db_upgrade(cli: CliRunner) -> None:
    path = os.path.join(os.environ["ESL_DATA_DIR"], "esl.sqlite")
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        _stamp_newer(engine)
    finally:
        engine.dispose()

    for command in (["health"], ["db", "current"]):
        result = cli.invoke(app, command)
        assert result.exit_code == 1
        # `esl db upgrade` cannot help here: it refuses a schema it does not know.
        assert "run `esl db upgrade`" not in result.output, (command, result.output)
