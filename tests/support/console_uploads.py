"""A file the console kept at an older schema revision, as a migration test finds it."""

from __future__ import annotations

from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import Engine, text

from esl.db.engine import migrations_config, session_factory
from esl.services.keys import Role, create_key
from esl.ui.console_sessions import open_session

__all__ = ["keep_file_at_revision"]


def keep_file_at_revision(
    engine: Engine, revision: str, *, at: datetime, columns: dict[str, object] | None = None
) -> None:
    """Sign a pricing key in at head, take the schema down to `revision` and keep a price
    file there for that session through the columns that revision has: the common ones,
    and `columns` (name -> value) besides."""
    with session_factory(engine)() as session, session.begin():
        _, key = create_key(session, name="pricing-1", role=Role.PRICING, store=None, now=at)
        _, signed_in = open_session(session, api_key=key, now=at)
    command.downgrade(migrations_config(engine), revision)
    values: dict[str, object] = {
        "console_session_id": signed_in.session_id,
        "kind": "prices",
        "filename": "milk.csv",
        "digest": "0" * 64,
        "content": b"sku,scope,price,currency\n",
        "created_at": at,
        "expires_at": at + timedelta(hours=1),
        **(columns or {}),
    }
    names = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    with session_factory(engine)() as session, session.begin():
        session.execute(
            text(f"INSERT INTO console_uploads ({names}) VALUES ({placeholders})"), values
        )
