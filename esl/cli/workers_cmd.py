"""`esl workers`: the workers sharing the stores on PostgreSQL, and each store's lease;
a worker whose host clock is off the database's is named on stderr (fix its NTP)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli.invocation import settings_of

if TYPE_CHECKING:
    from rich.table import Table


def register(app: typer.Typer) -> None:
    @app.command("workers")
    def workers(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Which worker holds which store, lease and heartbeat ages, each store's lag, and
        each worker's host clock offset from the database's."""
        # Imported here: the pipeline's modules would cost every other `esl` command.
        from rich.console import Console

        from esl.composition import shares_stores
        from esl.db.engine import session_factory
        from esl.db.readiness import open_ready_engine
        from esl.pipeline.worker_overview import workers_overview

        settings = settings_of(ctx)
        engine = open_ready_engine(settings.resolved_database_url())
        try:
            if not shares_stores(engine.dialect.name):
                typer.echo(
                    f"esl workers: {engine.dialect.name} runs one controller; workers share "
                    "stores on PostgreSQL only (`esl health` shows the controller)",
                    err=True,
                )
                raise typer.Exit(1)
            now = datetime.now(UTC)
            with session_factory(engine)() as session:
                views, stores = workers_overview(session, now=now)
        finally:
            engine.dispose()
        for view in views:
            if view.clock_off and view.clock_offset_s is not None:
                typer.echo(
                    f"esl workers: the clock of {view.host} (worker {view.client_id}) is "
                    f"{abs(view.clock_offset_s):.1f} s "
                    f"{'ahead of' if view.clock_offset_s > 0 else 'behind'} the database's: "
                    "leases use the database's clock, but label flips and ledger instants "
                    "use the host's; fix its NTP",
                    err=True,
                )
        if as_json:
            document = {
                "workers": [
                    asdict(view) | {"started_at": view.started_at.isoformat()} for view in views
                ],
                "stores": [asdict(store) for store in stores],
            }
            typer.echo(json.dumps(document, sort_keys=True))
            return
        console = Console(width=max(Console().width, 140))
        table = _plain_table(
            "worker", "pid", "host", "clock_offset_s", "heartbeat_age_s", "acknowledged", "stores"
        )
        for view in views:
            table.add_row(
                view.client_id,
                str(view.pid),
                view.host,
                "-" if view.clock_offset_s is None else f"{view.clock_offset_s:+.1f}",
                f"{view.heartbeat_age_s:.1f}",
                str(view.acknowledged),
                " ".join(view.stores) or "-",
            )
        console.print(table)
        table = _plain_table(
            "store", "held by", "held_for_s", "heartbeat_age_s", "open_frames", "lag_s"
        )
        for store in stores:
            table.add_row(
                store.store,
                store.holder or "(free)",
                "-" if store.held_for_s is None else f"{store.held_for_s:.1f}",
                "-" if store.heartbeat_age_s is None else f"{store.heartbeat_age_s:.1f}",
                str(store.open_frames),
                f"{store.lag_s:.1f}",
            )
        console.print(table)


def _plain_table(*columns: str) -> Table:
    from rich.table import Table

    """A borderless table whose cells never wrap: ids and ages stay on one line to grep."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in columns:
        table.add_column(name, no_wrap=True)
    return table
