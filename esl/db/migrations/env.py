"""Alembic environment: runs on the engine handed in by `esl.db.engine.upgrade_database`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine, event

from esl.db.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `esl db upgrade`, which supplies the engine")


def _begin_explicitly(connection: Connection) -> None:
    """Make each migration on SQLite one transaction, its DDL and its revision stamp
    together, so an upgrade killed half-way leaves the last whole migration.

    pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so CREATE TABLE, ALTER
    and DROP committed on their own. SQLAlchemy's pysqlite recipe: the driver in autocommit
    mode, and BEGIN emitted whenever the connection begins. IMMEDIATE takes the write lock
    at once, so the migration does not read a schema another writer changes under it. This
    connection only: the pool resets the isolation level when it is given back, and the
    app's own connections keep the driver's transaction handling."""
    connection.execution_options(isolation_level="AUTOCOMMIT")
    event.listen(connection, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))


with engine.connect() as connection:
    on_sqlite = connection.dialect.name == "sqlite"
    if on_sqlite:
        _begin_explicitly(connection)
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=on_sqlite,
        # Alembic takes SQLite's DDL for non-transactional; with the explicit BEGIN it is,
        # and one transaction per migration commits each with its stamp.
        transactional_ddl=True if on_sqlite else None,
        transaction_per_migration=on_sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
