"""`esl keys create|list|revoke`: API keys, stored hashed; the token is printed once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from esl.cli.invocation import sessions_of
from esl.services.keys import Role, create_key, list_keys, revoke_key

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    keys = typer.Typer(no_args_is_help=True, help="API keys and their roles.")

    @keys.command("create")
    def create(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Who or what uses the key.")],
        role: Annotated[Role, typer.Option("--role", help="pricing, store, auditor or admin.")],
        store: str | None = typer.Option(None, "--store", help="The store of a store key."),
    ) -> None:
        """Create a key and print its token (it is not stored and cannot be shown again)."""
        with sessions_of(ctx)() as session, session.begin():
            _, token = create_key(session, name=name, role=role, store=store, now=datetime.now(UTC))
        typer.echo(token)

    @keys.command("list")
    def list_(ctx: typer.Context) -> None:
        """Name, role, store, token prefix and state of every key."""
        with sessions_of(ctx)() as session:
            for row in list_keys(session):
                state = "revoked" if row.revoked_at else "active"
                typer.echo(f"{row.name}\t{row.role}\t{row.store or '-'}\t{row.prefix}…\t{state}")

    @keys.command("revoke")
    def revoke(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
        """Refuse the key from now on."""
        with sessions_of(ctx)() as session, session.begin():
            revoke_key(session, name=name, now=datetime.now(UTC))
        typer.echo(f"revoked {name}")

    app.add_typer(keys, name="keys")
