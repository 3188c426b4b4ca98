"""`esl db upgrade` / `esl db current`: the schema, by Alembic."""

from __future__ import annotations

import typer

from esl.cli.invocation import settings_of
from esl.db.engine import create_engine_for, upgrade_database
from esl.db.readiness import (
    UPGRADE_HINT,
    DatabaseNotReadyError,
    behind_hint,
    database_revision,
    head_revision,
    sqlite_file,
)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    db = typer.Typer(no_args_is_help=True, help="The database schema.")

    @db.command("upgrade")
    def upgrade(
        ctx: typer.Context,
        revision: str = typer.Argument(
            "head", help="Target revision (0001 up to the newest, head); it never goes down."
        ),
    ) -> None:
        """Create or migrate the database named by ESL_DATABASE_URL (SQLite file by default)
        up to REVISION; prints the revision it is at then (it never goes down)."""
        settings = settings_of(ctx)
        engine = create_engine_for(settings.resolved_database_url())
        try:
            database_revision(engine)  # a server that refuses says so, as for every command
            reached = upgrade_database(engine, revision)
        finally:
            engine.dispose()
        head = " (head)" if reached == head_revision() else ""
        typer.echo(
            f"database at {engine.url.render_as_string(hide_password=True)} is at {reached}{head}"
        )

    @db.command("current")
    def current(ctx: typer.Context) -> None:
        """Print the schema revision the database is at (exit 1: none, or not the newest)."""
        url = settings_of(ctx).resolved_database_url()
        path = sqlite_file(url)
        if path is not None and not path.exists():  # looking must not create it
            raise DatabaseNotReadyError(f"no database at {path}", database=url, hint=UPGRADE_HINT)
        engine = create_engine_for(url)
        try:
            revision = database_revision(engine)
        finally:
            engine.dispose()
        head = head_revision()
        shown = engine.url.render_as_string(hide_password=True)
        if revision is None:
            raise DatabaseNotReadyError(
                f"the database at {shown} has no schema yet", database=shown, hint=UPGRADE_HINT
            )
        if revision != head:
            typer.echo(f"{revision} (this version needs {head}: {behind_hint(revision)})")
            raise typer.Exit(1)
        typer.echo(f"{revision} (head)")

    app.add_typer(db, name="db")
