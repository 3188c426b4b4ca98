"""`esl zones put|list`: the pricing zones stores belong to (as `PUT /api/v1/zones/{code}`)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from esl.cli.invocation import sessions_of
from esl.db.models import ZoneRow
from esl.services.zones import save_zone

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    zones = typer.Typer(no_args_is_help=True, help="Pricing zones, which stores belong to.")

    @zones.command("put")
    def put(
        ctx: typer.Context,
        code: Annotated[str, typer.Argument(help="The zone's code (letters, digits, _ . -).")],
        name: Annotated[str, typer.Option("--name", help="The zone's name.")],
    ) -> None:
        """Create a zone or rename it; a store file or PUT /stores may then name it."""
        with sessions_of(ctx).begin() as session:
            created = session.get(ZoneRow, code) is None
            saved = save_zone(session, code=code, name=name).name
        typer.echo(f"{'created' if created else 'saved'} zone {code}: {saved}")

    @zones.command("list")
    def list_(ctx: typer.Context) -> None:
        """Code and name of every zone."""
        with sessions_of(ctx)() as session:
            for row in session.scalars(select(ZoneRow).order_by(ZoneRow.code)):
                typer.echo(f"{row.code}\t{row.name}")

    app.add_typer(zones, name="zones")
