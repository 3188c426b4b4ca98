"""`esl demo`: the whole system on one machine (see esl/demo/run.py for the steps)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli.invocation import settings_of
from esl.cli.stop_signals import stop_on_signals

if TYPE_CHECKING:
    from esl.demo.run import DemoOptions, DemoReport
    from esl.settings import Settings

__all__ = ["DemoTransport", "register"]


class DemoTransport(StrEnum):
    MQTT = "mqtt"
    BLE = "ble"
    OEPL = "oepl"


def _print_summary(report: DemoReport) -> None:
    typer.echo("")
    typer.echo(
        f"{'store':8} {'labels':>6} {'up to date':>10} {'pending':>8} {'failed':>7} {'offline':>8}"
    )
    for store in report.stores:
        typer.echo(
            f"{store['store']:8} {store['labels']:>6} {store['up_to_date']:>10} "
            f"{store['pending'] + store['unplanned']:>8} {store['failed']:>7} {store['offline']:>8}"
        )
    typer.echo(
        f"\n{report.acked} of {report.labels} labels acknowledged the promotion "
        f"in {report.seconds:.1f} s; {report.pending} pending, {report.failed} failed."
    )
    if report.retries or report.frames_lost:
        typer.echo(
            f"The radio lost {report.frames_lost} transmission(s); the controller sent "
            f"{report.retries} frame(s) again (unanswered in time, or the label was busy "
            "drawing its panel)."
        )
    typer.echo(f"What each label shows: {report.previews}/<store>/<label>.png")
    if report.unacknowledged:
        typer.echo(_not_acknowledged(report))


def _not_acknowledged(report: DemoReport) -> str:
    return (
        f"{report.unacknowledged} reachable label(s) did not acknowledge the promotion "
        "before the deadline (--timeout): the demo exits 1."
    )


def _print_serving(report: DemoReport, token: str, *, err: bool) -> None:
    data_dir = Path(report.database).parent
    lines = [
        "",
        "Serving until Ctrl-C:",
        f"  console   {report.api_url}/ui/  (sign in with the key below)",
        f"  API       {report.api_url}/api/v1  (docs: {report.api_url}/docs)",
        f"  key       {token}  (header X-API-Key, role admin)",
        f"  broker    {report.broker_url or '-'}",
        f"  database  {report.database}",
        f"  previews  {report.previews}/<store>/<label>.png, rewritten when a label changes",
        f"  CLI       ESL_DATA_DIR={data_dir} esl health",
    ]
    for line in lines:
        typer.echo(line, err=err)


async def _run(
    options: DemoOptions, settings: Settings, *, as_json: bool, keep_serving: bool
) -> DemoReport:
    # Imported here, as in `demo` below: the whole system, which no other command needs.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from esl.demo.run import run_demo

    stop = stop_on_signals() if keep_serving else None
    columns = (
        TextColumn("{task.description:16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    bar = Progress(*columns, disable=as_json)
    tasks: dict[str, TaskID] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    def ready(report: DemoReport, token: str) -> None:
        bar.stop()
        if as_json:
            typer.echo(json.dumps(report.to_json(), sort_keys=True))
        else:
            _print_summary(report)
        if stop is not None:
            _print_serving(report, token, err=as_json)

    with bar:
        return await run_demo(
            options, progress=progress, keep_serving=stop, on_ready=ready, settings=settings
        )


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        ctx: typer.Context,
        stores: Annotated[
            int, typer.Option("--stores", min=1, help="Stores (the sample has 3).")
        ] = 2,
        labels: Annotated[int, typer.Option("--labels", min=1, help="Labels per store.")] = 20,
        loss: Annotated[
            float, typer.Option("--loss", min=0.0, max=0.9, help="Radio frame loss, 0..0.9.")
        ] = 0.0,
        offline: Annotated[
            int, typer.Option("--offline", min=0, help="Labels out of radio range all run long.")
        ] = 0,
        broker: Annotated[
            str | None,
            typer.Option(
                "--broker", help="mqtt://user:pass@host:port; default: an embedded broker."
            ),
        ] = None,
        transport: Annotated[
            DemoTransport,
            typer.Option(
                "--transport",
                help="How labels are reached: simulated mqtt store gateways, ble, or oepl "
                "(emulated OpenEPaperLink APs behind the real `esl gateway oepl`).",
            ),
        ] = DemoTransport.MQTT,
        out: Annotated[Path, typer.Option("--out", help="Where the database and PNGs go.")] = Path(
            "demo-output"
        ),
        seed: Annotated[int, typer.Option("--seed", help="Seed of every simulated fault.")] = 7,
        sim_speed: Annotated[
            float,
            typer.Option(
                "--sim-speed", min=1.0, max=100.0, help="Simulated labels run this much faster."
            ),
        ] = 1.0,
        timeout: Annotated[
            float, typer.Option("--timeout", min=5.0, help="Seconds to wait for labels.")
        ] = 120.0,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print one JSON object and exit.")
        ] = False,
        keep_serving: Annotated[
            bool, typer.Option("--keep-serving", help="Keep the API, broker and labels running.")
        ] = False,
    ) -> None:
        """Publish a promotion and watch it reach every simulated shelf label."""
        # Imported here: `esl` starts every command, and the demo's modules (the API, the
        # pipeline, the simulator) would cost each of them.
        from esl.demo.chain import ChainTimings
        from esl.demo.run import DemoOptions
        from gateways.base import TransportKind

        # Read (and refused when unusable) before anything touches the output folder.
        settings = settings_of(ctx)
        if offline > stores * labels:
            raise typer.BadParameter(
                f"only {stores * labels} labels to take offline", param_hint="--offline"
            )
        options = DemoOptions(
            out_dir=out,
            stores=stores,
            labels=labels,
            loss=loss,
            offline=offline,
            broker_url=broker,
            transport=TransportKind.BLE if transport is DemoTransport.BLE else TransportKind.MQTT,
            oepl=transport is DemoTransport.OEPL,
            seed=seed,
            timeout_s=timeout,
            # An OEPL tag takes its image at its next check-in and the AP sends one at a
            # time: acknowledgements come later than a simulated gateway's.
            timings=ChainTimings(sim_speed=sim_speed, ack_timeout=timedelta(seconds=60))
            if transport is DemoTransport.OEPL
            else ChainTimings(sim_speed=sim_speed),
        )
        try:
            report = asyncio.run(
                _run(options, settings, as_json=as_json, keep_serving=keep_serving)
            )
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error
        # A script or `make demo` tells a chain that worked from one that did not.
        if report.unacknowledged:
            if as_json:  # stdout holds the JSON alone
                typer.echo(_not_acknowledged(report), err=True)
            raise typer.Exit(1)
