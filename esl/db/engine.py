"""Engines, sessions and `esl db upgrade`: nothing connects until one of these is called."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from esl.errors import SchemaRevisionError
from gateways.protocol.key_files import keep_key_file_private

__all__ = [
    "POSTGRESQL_LINK_LIMITS",
    "create_engine_for",
    "migrations_config",
    "session_factory",
    "upgrade_database",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# libpq's liveness limits, so a worker whose network to PostgreSQL fails hears of it in
# about a minute rather than hours (with libpq's defaults a new connection waited up to
# psycopg's own 130 s, an idle one was first probed after two idle hours, and sent data
# the server never acknowledged failed only after some 15 minutes of retransmissions).
# A new connection, login included, gives up after 10 s: a login takes milliseconds.
# An idle connection is probed after 30 s, then every 10 s, and dropped after 3
# unanswered probes (a minute in all). Data sent and not acknowledged for 30 s
# (tcp_user_timeout, in ms) fails the connection: a live link retransmits far sooner.
# Each is a default: a URL naming the parameter (`?keepalives_idle=60`) wins.
# docs/scale.md, "A worker's link to the database".
POSTGRESQL_LINK_LIMITS: Final[Mapping[str, int]] = {
    "connect_timeout": 10,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def create_engine_for(url: str, *, echo: bool = False, busy_timeout_ms: int = 10_000) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout (how long a
    statement waits for another writer's lock before it fails), and a file of its owner's
    alone (`gateways.protocol.key_files`); PostgreSQL, the link limits the URL does not
    name (POSTGRESQL_LINK_LIMITS)."""
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
    return create_engine(
        url, echo=echo, pool_pre_ping=True, connect_args=_postgresql_link_limits(url)
    )


# The DB-API drivers on libpq, which take its parameters as keyword arguments.
_LIBPQ_DRIVERS = frozenset({"psycopg", "psycopg2"})


def _postgresql_link_limits(url: str) -> dict[str, int]:
    """POSTGRESQL_LINK_LIMITS but those the operator set for libpq: in `url`'s query
    (SQLAlchemy lays connect_args over the URL's, so a limit given in both would lose the
    operator's), in the environment (`PGCONNECT_TIMEOUT`, the only one of them read
    there), or in a connection service file (`service=` or `PGSERVICE`: its values are
    not ours to read, so no keepalive limit is laid over them; its `connect_timeout`
    psycopg never reads, so ours stands)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() not in _LIBPQ_DRIVERS:
        return {}
    named = set(parsed.query)
    if "service" in parsed.query or os.environ.get("PGSERVICE"):
        named |= POSTGRESQL_LINK_LIMITS.keys() - {"connect_timeout"}
    if os.environ.get("PGCONNECT_TIMEOUT"):
        named.add("connect_timeout")
    return {name: value for name, value in POSTGRESQL_LINK_LIMITS.items() if name not in named}


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
