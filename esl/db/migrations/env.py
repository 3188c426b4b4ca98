"""Alembic environment: runs on the engine handed in by `esl.db.engine.upgrade_database`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from esl.db.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `esl db upgrade`, which supplies the engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
