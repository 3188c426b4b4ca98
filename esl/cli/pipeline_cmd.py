"""`esl run` (the update controller, esl/cli/controller_process.py) and `esl health`
(labels per store).

The wall clock is read here, at the edge; everything below takes it. The modules each
command needs are imported in it: `esl` starts every command, and the pipeline's would
cost each of them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli.invocation import settings_of

if TYPE_CHECKING:
    from esl.settings import Settings

__all__ = ["register"]


def _now() -> datetime:
    return datetime.now(UTC)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        ctx: typer.Context,
        window: Annotated[
            int | None,
            typer.Option(
                "--window",
                min=1,
                help="Frames in flight per store gateway (ESL_CONTROLLER_WINDOW).",
            ),
        ] = None,
        poll: Annotated[
            float | None,
            typer.Option(
                "--poll",
                min=0.05,
                help="Seconds between looks for new work (ESL_CONTROLLER_POLL_S).",
            ),
        ] = None,
        metrics_port: Annotated[
            int | None,
            typer.Option(
                "--metrics-port",
                min=1,
                max=65535,
                help="Serve Prometheus /metrics on this port (host: ESL_API_HOST).",
            ),
        ] = None,
    ) -> None:
        """Run the update controller: plan published prices into frames, send, track acks."""
        from esl.cli.controller_process import run_controller
        from esl.pipeline.errors import ControllerAlreadyRunningError, ControllerLeaseLostError

        settings = settings_of(ctx)
        # An option given on the command line wins over the environment.
        chosen = {"controller_window": window, "controller_poll_s": poll}
        settings = settings.model_copy(
            update={name: value for name, value in chosen.items() if value is not None}
        )
        try:
            asyncio.run(run_controller(settings, metrics_port=metrics_port))
        except (ControllerAlreadyRunningError, ControllerLeaseLostError) as error:
            typer.echo(f"esl run: {error.message}", err=True)
            raise typer.Exit(1) from error

    @app.command("health")
    def health(
        ctx: typer.Context,
        store: Annotated[
            list[str] | None, typer.Option("--store", help="Only these stores; repeatable.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Labels per store in each state (docs/pipeline.md), and the controller."""
        from rich.console import Console
        from rich.table import Table

        from esl.db.engine import session_factory
        from esl.db.readiness import DatabaseNotReadyError, open_ready_engine
        from esl.pipeline.controller_status import (
            controller_report,
            controller_status_path,
            read_controller_status,
        )
        from esl.pipeline.database_outage import is_database_outage
        from esl.services.health import label_health
        from esl.services.label_status import StatusThresholds
        from esl.services.stores import require_known_stores

        settings = settings_of(ctx)
        # From a file the controller writes: it says since when the database is away even
        # when the counts below cannot be read.
        status = read_controller_status(controller_status_path(settings.data_dir))
        renew_every = timedelta(seconds=settings.controller_lease_renew_s)
        controller_line = (
            status.describe(now=_now(), renew_every=renew_every)
            if status
            else "controller: not running"
        )

        def echo_controller_only() -> None:
            """What is known without the database: the controller's own report. With
            --json still the one JSON object a script parses, `stores` null."""
            if as_json:
                controller = controller_report(status, now=_now(), renew_every=renew_every)
                typer.echo(json.dumps({"stores": None, "controller": controller}, sort_keys=True))
            else:
                typer.echo(controller_line)

        try:
            engine = open_ready_engine(settings.resolved_database_url())
        except DatabaseNotReadyError:
            echo_controller_only()
            raise
        try:
            with session_factory(engine)() as session:
                require_known_stores(session, store or [])
                report = label_health(
                    session,
                    now=_now(),
                    stores=store,
                    thresholds=StatusThresholds.from_settings(settings),
                )
        except Exception as error:
            if not is_database_outage(error):
                raise
            echo_controller_only()
            cause = getattr(error, "orig", error)
            typer.echo(f"esl health: the database does not answer: {cause}", err=True)
            raise typer.Exit(1) from error
        finally:
            engine.dispose()
        if as_json:
            # The controller as GET /api/v1/health/controller reports it, beside the stores.
            controller = controller_report(status, now=_now(), renew_every=renew_every)
            document = {"stores": [asdict(item) for item in report], "controller": controller}
            typer.echo(json.dumps(document, sort_keys=True))
            return
        header = (
            "store",
            "labels",
            "up_to_date",
            "pending",
            "failed",
            "unplanned",
            "offline",
            "low_battery",
            "scheduled",
            "unbound",
        )
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in header:
            table.add_column(name, justify="left" if name == "store" else "right", no_wrap=True)
        table.add_column("failed because", no_wrap=True)
        table.add_column("unplanned because", no_wrap=True)
        for item in report:
            table.add_row(
                *(str(getattr(item, name)) for name in header),
                _counted(item.failures),
                _counted(item.unplanned_reasons),
            )
        # Wide enough for every column: a table cut at 80 columns is harder to read than
        # one the terminal wraps, and scripts read `--json` anyway.
        Console(width=max(Console().width, 160)).print(table)
        typer.echo(controller_line)
        _echo_security(settings, store)


def _counted(reasons: dict[str, int]) -> str:
    return ", ".join(f"{count} x {reason}" for reason, count in sorted(reasons.items()))


def _echo_security(settings: Settings, stores: list[str] | None) -> None:
    """Security events of the last 24 h under the health table (none: nothing printed)."""
    from esl.db.engine import create_engine_for, session_factory
    from esl.services.security_events import security_summary

    engine = create_engine_for(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session:
            summary = security_summary(session, now=_now(), stores=stores)
    finally:
        engine.dispose()
    for item in summary:
        kinds = ", ".join(f"{count} x {kind}" for kind, count in sorted(item.kinds.items()))
        typer.echo(
            f"store {item.store}: {item.events} security event(s) in the last 24 h ({kinds})"
        )
