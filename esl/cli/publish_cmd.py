"""`esl publish FILE.json`: create, validate and publish a publication in one go.

The JSON file has the body of POST /api/v1/publications: {"title", "effective_at"?,
"items": [...]}; `--validate-only` stops before publishing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from esl.api.schemas import PublicationIn
from esl.cli.invocation import sessions_of, settings_of
from esl.errors import PublicationRejectedError
from esl.services.ledger_instants import wall_clock
from esl.services.publication import (
    create_publication,
    publish_publication,
    validate_publication,
)
from pricing.errors import EslError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("publish")
    def publish(
        ctx: typer.Context,
        path: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, help="Publication JSON.")
        ],
        by: str = typer.Option("cli", "--by", help="Recorded as author and publisher."),
        validate_only: bool = typer.Option(False, "--validate-only", help="Do not publish."),
    ) -> None:
        """Publish price and promotion changes atomically, now or at their effective_at."""
        try:
            body = PublicationIn.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as error:
            typer.echo(f"{path}: {error}", err=True)
            raise typer.Exit(2) from error
        settings = settings_of(ctx)
        sessions = sessions_of(ctx)
        now = datetime.now(UTC)
        with sessions() as session, session.begin():
            row = create_publication(
                session,
                title=body.title,
                effective_at=body.effective_at,
                items=body.commands(),
                created_by=by,
                now=now,
            )
            validate_publication(session, row.id, now=now, currency=settings.currency)
            publication_id = row.id
        if row.problems:
            typer.echo(
                json.dumps({"id": publication_id, "status": row.status, "problems": row.problems})
            )
            raise typer.Exit(1)
        if validate_only:
            typer.echo(
                json.dumps({"id": publication_id, "status": row.status, "impact": row.impact})
            )
            return
        try:
            with sessions() as session, session.begin():
                # The clock once the price writers' lock is held, not when validation
                # began nor before waiting for another writer: a price written meanwhile
                # (another upload) is in the past of this publication, never ahead of it.
                row = publish_publication(
                    session,
                    publication_id,
                    published_by=by,
                    now=wall_clock,
                    currency=settings.currency,
                )
        except PublicationRejectedError as error:
            typer.echo(json.dumps(error.to_dict(), default=str))
            raise typer.Exit(1) from error
        except EslError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(1) from error
        typer.echo(json.dumps({"id": publication_id, "status": row.status, "impact": row.impact}))
