"""`esl db upgrade` / `esl db current`: the schema, by Alembic."""

from __future__ import annotations

import typer
from alembic import command

from esl.db.engine import create_engine_for, migrations_config, upgrade_database
from esl.settings import load_settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    db = typer.Typer(no_args_is_help=True, help="The database schema.")

    @db.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
        """Create or migrate the database named by ESL_DATABASE_URL (SQLite file by default)."""
        settings = load_settings()
        engine = create_engine_for(settings.resolved_database_url())
        upgrade_database(engine, revision)
        typer.echo(
            f"database at {engine.url.render_as_string(hide_password=True)} is at {revision}"
        )

    @db.command("current")
    def current() -> None:
        """Print the schema revision the database is at."""
        settings = load_settings()
        command.current(migrations_config(create_engine_for(settings.resolved_database_url())))

    app.add_typer(db, name="db")
