"""`esl publish FILE.json`: create, validate and publish a publication in one go.

The JSON file has the body of POST /api/v1/publications: {"title", "effective_at"?,
"items": [...]}; `--validate-only` stops before publishing. A file that is no such body
(not UTF-8, not JSON, a field missing) and a draft the API refuses at POST (an
effective_at in the past, an amount finer than its currency, a promotion of no SKU and
no category, a SKU, zone, store or promotion not stored, a zone no store belongs to, a
promotion of a category no product has) are refused in one or two lines, exit code 2,
and nothing is stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from esl.api.schemas import PublicationIn
from esl.cli.failures import show_traceback_if_debug
from esl.cli.invocation import checked_principal, sessions_of, settings_of
from esl.errors import InputFileError, InvalidItemError, PublicationRejectedError
from esl.services.ledger_instants import wall_clock
from esl.services.publication import (
    create_publication,
    publish_publication,
    require_storable_draft,
    validate_publication,
)
from esl.text_files import read_utf8_text

__all__ = ["register"]

BODY_HINT = (
    'the file holds the body of POST /api/v1/publications: {"title", "effective_at"?, '
    '"items": [...]} (docs/api.md, examples/publication.json)'
)
# Problems named on the one line; a file wrong in a thousand items names the first few.
LISTED_PROBLEMS = 3


def register(app: typer.Typer) -> None:
    @app.command("publish")
    def publish(
        ctx: typer.Context,
        path: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, help="Publication JSON.")
        ],
        by: str = typer.Option(
            "cli", "--by", help="Recorded as author and publisher.", callback=checked_principal
        ),
        validate_only: bool = typer.Option(False, "--validate-only", help="Do not publish."),
    ) -> None:
        """Publish price and promotion changes atomically, now or at their effective_at."""
        body = _read_body(ctx, path)
        settings = settings_of(ctx)
        now = datetime.now(UTC)
        commands = body.commands()
        sessions = sessions_of(ctx)
        with sessions() as session, session.begin():
            try:
                # POST /publications's own checks, before anything is stored (a refusal
                # leaves the transaction, which has written nothing, rolled back).
                require_storable_draft(
                    session,
                    effective_at=body.effective_at,
                    items=commands,
                    now=now,
                    currency=settings.currency,
                )
            except InvalidItemError as error:
                show_traceback_if_debug(ctx, error)
                item = error.fields.get("item")
                where = f"items[{item}]: " if item is not None else ""
                _refuse(path, f"{where}{error.message}", "correct the file; nothing was stored")
            row = create_publication(
                session,
                title=body.title,
                effective_at=body.effective_at,
                items=commands,
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
            # Its items and reasons, as the API's 409 body, are the command's result.
            show_traceback_if_debug(ctx, error)
            typer.echo(json.dumps(error.to_dict(), default=str))
            raise typer.Exit(1) from error
        typer.echo(json.dumps({"id": publication_id, "status": row.status, "impact": row.impact}))


def _read_body(ctx: typer.Context, path: Path) -> PublicationIn:
    """The file as the API's request body, or the command refused naming what is wrong."""
    try:
        text = read_utf8_text(path)
    except InputFileError as error:
        show_traceback_if_debug(ctx, error)
        _refuse(path, error.reason, error.hint or "")
    try:
        return PublicationIn.model_validate_json(text)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)
        named = "; ".join(_located(problem) for problem in problems[:LISTED_PROBLEMS])
        more = len(problems) - LISTED_PROBLEMS
        _refuse(path, named + (f" (and {more} more)" if more > 0 else ""), BODY_HINT)


def _located(problem: ErrorDetails) -> str:
    """`items[0].set_price.amount: Field required`; a file that is no JSON at all has
    no place but the line and column pydantic's message gives."""
    place = ""
    for part in problem["loc"]:
        place += f"[{part}]" if isinstance(part, int) else f".{part}" if place else str(part)
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{place}: {message}" if place else message


def _refuse(path: Path, problem: str, hint: str) -> NoReturn:
    typer.echo(f"error: {path}: {problem}", err=True)
    typer.echo(f"  {hint}", err=True)
    raise typer.Exit(2)
