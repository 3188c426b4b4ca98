"""Is the database there and at the schema this version of the code needs?

Commands other than `esl db upgrade` must not create a database by connecting to it (a
SQLite file springs into being on first connect), and must not run against a schema
that is missing or older than the code: both end in SQL errors that do not say what to do.

    open_ready_engine(url)        an engine, or DatabaseNotReadyError saying what to run
    database_revision(engine)     the revision Alembic recorded (None: no schema), or
                                  DatabaseNotReadyError when it cannot be opened
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from esl.db.engine import MIGRATIONS, create_engine_for
from esl.errors import StoreOfRecordError

__all__ = [
    "DatabaseNotReadyError",
    "behind_hint",
    "database_revision",
    "head_revision",
    "open_ready_engine",
    "sqlite_file",
]

UPGRADE_HINT = "run `esl db upgrade` (or point ESL_DATA_DIR / ESL_DATABASE_URL at your database)"


class DatabaseNotReadyError(StoreOfRecordError):
    """No database at the configured place, unreachable, or not at the code's schema."""

    code = "database_not_ready"

    def __init__(self, message: str, *, database: str, hint: str) -> None:
        super().__init__(message, database=database, hint=hint)
        self.hint = hint


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS.as_posix())
    return ScriptDirectory.from_config(config)


def head_revision() -> str | None:
    """The newest migration this version of the code ships."""
    return _scripts().get_current_head()


def behind_hint(revision: str) -> str:
    """What to run for a database at `revision`, which is not the head: `esl db upgrade`
    for an older schema; for one this version does not ship (written by a newer version,
    then the binary rolled back), the version that wrote it, since `esl db upgrade`
    refuses it."""
    if revision in {script.revision for script in _scripts().walk_revisions()}:
        return "run `esl db upgrade`"
    return (
        f"it was written by a newer version of esl (this one knows up to {head_revision()}): "
        "run the version that wrote it, or restore a backup taken at this version's schema"
    )


def database_revision(engine: Engine) -> str | None:
    """The revision stamped in the database; None when it has no schema yet;
    DatabaseNotReadyError when the database cannot be opened (a server that refuses)."""
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseNotReadyError(
            f"cannot open the database at {shown}: {reason}",
            database=shown,
            hint="check ESL_DATABASE_URL and that the database server is running",
        ) from error
    except SQLAlchemyError as error:
        raise DatabaseNotReadyError(
            f"cannot open the database at {shown}: {error}",
            database=shown,
            hint="check ESL_DATABASE_URL",
        ) from error


def open_ready_engine(url: str, **engine_options: Any) -> Engine:
    """An engine on an existing database at the newest schema, or DatabaseNotReadyError.

    `engine_options` go to `create_engine_for` (echo, timeouts)."""
    shown = make_url(url).render_as_string(hide_password=True)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseNotReadyError(f"no database at {path}", database=shown, hint=UPGRADE_HINT)
    engine = create_engine_for(url, **engine_options)
    try:
        current = database_revision(engine)
    except DatabaseNotReadyError:
        engine.dispose()
        raise
    head = head_revision()
    if current is None:
        engine.dispose()
        raise DatabaseNotReadyError(
            f"the database at {shown} has no schema yet", database=shown, hint=UPGRADE_HINT
        )
    if current != head:
        engine.dispose()
        raise DatabaseNotReadyError(
            f"the database at {shown} is at schema {current}, this version needs {head}",
            database=shown,
            hint=behind_hint(current),
        )
    return engine
