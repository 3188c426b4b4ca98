"""Engines, sessions and `esl db upgrade`: nothing connects until one of these is called."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from esl.errors import SchemaRevisionError
from gateways.protocol.key_files import keep_key_file_private

__all__ = ["create_engine_for", "migrations_config", "session_factory", "upgrade_database"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_engine_for(url: str, *, echo: bool = False, busy_timeout_ms: int = 10_000) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout (how long a
    statement waits for another writer's lock before it fails), and a file of its owner's
    alone (`gateways.protocol.key_files`)."""
    if url.startswith("sqlite"):
        database = _database_file(url)
        if database is not None:
            # It holds every label's key: a folder made for it is its owner's alone.
            database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

        def pragmas(dbapi_connection: Any, _record: object) -> None:
            _sqlite_pragmas(dbapi_connection, busy_timeout_ms=busy_timeout_ms)

        event.listen(engine, "connect", pragmas)
        if database is not None:
            file = database

            def private(*_args: object) -> None:
                keep_key_file_private(file)

            # Before SQLite opens (and, the first time, creates) the file.
            event.listen(engine, "do_connect", private)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _database_file(url: str) -> Path | None:
    """The file of a SQLite URL; None in memory, and for a `file:` URI SQLite reads itself."""
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:") or "uri" in parsed.query:
        return None
    return Path(parsed.database)


def _sqlite_pragmas(dbapi_connection: Any, *, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrations_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS.as_posix())
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema up to `revision` with Alembic (what `esl db upgrade` runs); the
    revision the database is at afterwards.

    SchemaRevisionError for a revision that is not there, and for one older than the
    database's: Alembic's upgrade goes up only, and did nothing, silently."""
    config = migrations_config(engine)
    scripts = ScriptDirectory.from_config(config)
    head = scripts.get_current_head()
    try:
        target = scripts.get_revision(revision)
    except CommandError:
        raise SchemaRevisionError(
            f"no schema revision {revision!r}",
            revision=revision,
            current=None,
            hint=f"name one from 0001 to {head}, or none for the newest (head)",
        ) from None
    current = _stamped_revision(engine)
    if current is not None:
        shipped = {script.revision for script in scripts.walk_revisions()}
        if current not in shipped:
            # Looked up first: Alembic's walk from an unknown revision raises its own
            # ResolutionError, which is not a CommandError.
            raise SchemaRevisionError(
                f"the database is at schema {current}, which this version does not know "
                f"(its newest is {head})",
                revision=revision,
                current=current,
                hint="run the version of esl that wrote it",
            )
        below = {script.revision for script in scripts.iterate_revisions(current, "base")}
        # `base` (target None) is below every revision.
        if target is None or (target.revision != current and target.revision in below):
            wanted = "base" if target is None else target.revision
            raise SchemaRevisionError(
                f"the database is at schema {current}, newer than {wanted}: "
                "`esl db upgrade` does not go down",
                revision=revision,
                current=current,
                hint="to go back, restore a backup taken at that schema",
            )
    command.upgrade(config, revision)
    return _stamped_revision(engine)


def _stamped_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
