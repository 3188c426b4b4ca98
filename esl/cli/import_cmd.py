"""`esl import prices|promotions|products|history|stores FILE.csv`, `esl import provisioning
FILE.json` and `esl export prices`."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli.invocation import checked_principal, sessions_of, settings_of
from esl.errors import ImportRejectedError, StoreOfRecordError
from esl.imports import (
    export_prices,
)
from esl.imports.by_kind import ImportKind, import_file
from esl.imports.csv_text import CsvEncoding, decode_csv
from esl.services.ledger_instants import wall_clock
from esl.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from esl.pipeline.label_models import ModelChange

__all__ = ["register"]

MAX_PRINTED_PROBLEMS = 50


def _run(
    settings: Settings,
    sessions: sessionmaker[Session],
    kind: ImportKind,
    path: Path,
    *,
    who: str,
    record_ledger: bool,
    as_json: bool,
    encoding: CsvEncoding | None,
) -> None:
    try:
        f = io.StringIO(decode_csv(path.read_bytes(), encoding=encoding, kind=kind), newline="")
        with sessions() as session, session.begin():
            report = import_file(
                session,
                kind,
                f,
                currency=settings.currency,
                imported_by=who,
                now=wall_clock,  # read once the price writers' lock is held
                title=path.name,
                record_ledger=record_ledger,
                time_zone=settings.installation_time_zone,
            )
    except ImportRejectedError as error:
        _report_rejection(path, error, as_json=as_json)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        typer.echo(
            f"{path}: {report.rows} rows, {report.inserted} new, {report.updated} changed, "
            f"{report.unchanged} unchanged"
        )


def _import_provisioning(sessions: sessionmaker[Session], path: Path, *, as_json: bool) -> None:
    # Imported here: the pipeline's modules would cost every other `esl` command.
    from esl.pipeline.provisioning import parse_provisioning, register_provisioned_labels

    try:
        parsed = parse_provisioning(path.read_text(encoding="utf-8"))
        moved: list[str] = []
        remodelled: list[ModelChange] = []
        with sessions.begin() as session:
            added = register_provisioned_labels(
                session,
                parsed.labels,
                store=parsed.store,
                gateway=parsed.gateway,
                now=datetime.now(UTC),
                moved=moved,
                remodelled=remodelled,
            )
    except ImportRejectedError as error:
        _report_rejection(path, error, as_json=as_json)
        raise typer.Exit(1) from error
    except StoreOfRecordError as error:
        if as_json:
            typer.echo(json.dumps(error.to_dict()))
        else:
            typer.echo(f"{path}: {error.message}", err=True)
        raise typer.Exit(1) from error
    except UnicodeDecodeError as error:
        typer.echo(f"{path}: not UTF-8 text ({error})", err=True)
        raise typer.Exit(1) from error
    summary = {
        "store": parsed.store,
        "gateway": parsed.gateway,
        "labels": len(parsed.labels),
        "added": added,
        "moved": moved,
        "remodelled": [
            {"label_id": c.label_id, "old_model": c.old_model, "new_model": c.new_model}
            for c in remodelled
        ],
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"{path}: gateway {parsed.gateway} of store {parsed.store}, "
            f"{len(parsed.labels)} labels, {added} new"
            + (f", {len(moved)} moved to {parsed.gateway} from another gateway" if moved else "")
            + (f", {len(remodelled)} of another model now" if remodelled else "")
        )
        for change in remodelled:
            typer.echo(f"  {change.label_id} is now a {change.new_model} (was {change.old_model})")


def _report_rejection(path: Path, error: ImportRejectedError, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(error.to_dict()))
        return
    typer.echo(f"{path}: {error.message}", err=True)
    for problem in error.problems[:MAX_PRINTED_PROBLEMS]:
        typer.echo(f"  line {problem['line']}: {problem['reason']}", err=True)
    if len(error.problems) > MAX_PRINTED_PROBLEMS:
        typer.echo(f"  … and {len(error.problems) - MAX_PRINTED_PROBLEMS} more", err=True)


def register(app: typer.Typer) -> None:
    importer = typer.Typer(no_args_is_help=True, help="Load CSV files (docs/csv-formats.md).")
    FileArg = typer.Argument(..., exists=True, dir_okay=False, readable=True)  # noqa: N806
    By = typer.Option(  # noqa: N806
        "cli", "--by", help="Recorded as who imported the file.", callback=checked_principal
    )
    AsJson = typer.Option(False, "--json", help="Print the report as JSON.")  # noqa: N806
    Encoding = typer.Option(  # noqa: N806
        None, "--encoding", help="The file's encoding when it is not UTF-8 (Excel pl_PL: cp1250)."
    )

    @importer.command("prices")
    def prices(
        ctx: typer.Context,
        path: Path = FileArg,
        by: str = By,
        as_json: bool = AsJson,
        encoding: CsvEncoding | None = Encoding,
        ledger: bool = typer.Option(
            True, "--ledger/--no-ledger", help="Record changed applied prices in the ledger."
        ),
    ) -> None:
        """Regular prices: all rows apply or none; re-importing the same file changes nothing."""
        _run(
            settings_of(ctx),
            sessions_of(ctx),
            "prices",
            path,
            who=by,
            record_ledger=ledger,
            as_json=as_json,
            encoding=encoding,
        )

    def plain_import(kind: ImportKind, summary: str) -> None:
        # Promotions, products, history and stores take the same options and no choice of
        # ledger, so one command body serves all four.
        @importer.command(kind, help=summary)
        def command(
            ctx: typer.Context,
            path: Path = FileArg,
            by: str = By,
            as_json: bool = AsJson,
            encoding: CsvEncoding | None = Encoding,
        ) -> None:
            _run(
                settings_of(ctx),
                sessions_of(ctx),
                kind,
                path,
                who=by,
                record_ledger=False,
                as_json=as_json,
                encoding=encoding,
            )

    plain_import("promotions", "Promotions, one per row.")
    plain_import("products", "Product master data.")
    plain_import("stores", "Stores with their price zones and time zones.")
    plain_import(
        "history", "Prices that applied before installation, into the ledger (for the 30-day low)."
    )

    @importer.command("provisioning")
    def provisioning(ctx: typer.Context, path: Path = FileArg, as_json: bool = AsJson) -> None:
        """A store gateway's provisioning file: registers the gateway and its labels with
        their keys (docs/protocol.md). All labels or none; labels already registered with
        the same key are left alone, or moved to this gateway from another of the store;
        another key is refused."""
        _import_provisioning(sessions_of(ctx), path, as_json=as_json)

    app.add_typer(importer, name="import")

    exporter = typer.Typer(no_args_is_help=True, help="Write CSV files in the import formats.")

    @exporter.command("prices")
    def export(
        ctx: typer.Context,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Default: stdout.")
        ] = None,
        current: bool = typer.Option(False, "--current", help="Only rules in force now."),
    ) -> None:
        """Every stored price rule, in the price import format."""
        sessions = sessions_of(ctx)
        now = datetime.now(UTC) if current else None
        with sessions() as session:
            if output is None:
                for chunk in export_prices(session, current_at=now):
                    sys.stdout.write(chunk)
                return
            with output.open("w", encoding="utf-8", newline="") as f:
                for chunk in export_prices(session, current_at=now):
                    f.write(chunk)

    app.add_typer(exporter, name="export")
