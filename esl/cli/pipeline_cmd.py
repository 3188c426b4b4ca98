"""`esl run` (the update controller) and `esl health` (labels per store).

The wall clock and the RNG are made here, at the edge; everything below takes them.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from prometheus_client import start_http_server

from esl.db.engine import session_factory
from esl.db.readiness import open_ready_engine
from esl.metrics import metrics_registry
from esl.mqtt.broker_choice import configured_broker
from esl.pipeline import ControllerSettings, UpdateController
from esl.services.health import label_health
from esl.services.stores import require_known_stores
from esl.settings import Settings, load_settings
from gateways.mqtt.driver import MqttGateway

__all__ = ["register", "run_controller"]


def _now() -> datetime:
    return datetime.now(UTC)


async def run_controller(
    settings: Settings,
    *,
    window: int,
    poll_s: float,
    stop: asyncio.Event | None = None,
    metrics_port: int | None = None,
) -> None:
    """Run the controller until `stop` is set (or SIGINT/SIGTERM); with `metrics_port`,
    serve /metrics (Prometheus) on ESL_API_HOST:metrics_port meanwhile."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    engine = open_ready_engine(settings.resolved_database_url())
    exporter = None
    if metrics_port is not None:
        registry, _ = metrics_registry(session_factory(engine), _now)
        exporter, _thread = start_http_server(
            metrics_port, addr=settings.api_host, registry=registry
        )
        typer.echo(f"metrics on http://{settings.api_host}:{metrics_port}/metrics")
    try:
        async with (
            configured_broker(settings.broker_url) as endpoint,
            MqttGateway(endpoint) as transport,
        ):
            controller = UpdateController(
                gateway=transport,
                sessions=session_factory(engine),
                clock=_now,
                rng=random.Random(),
                settings=ControllerSettings(
                    locale=settings.locale,
                    currency=settings.currency,
                    window=window,
                    poll_every=timedelta(seconds=poll_s),
                ),
            )
            typer.echo(f"controller running against {endpoint.host}:{endpoint.port}")
            await controller.run(stop)
    finally:
        if exporter is not None:
            exporter.shutdown()
            exporter.server_close()
        engine.dispose()


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        window: Annotated[
            int, typer.Option("--window", min=1, help="Frames in flight per store gateway.")
        ] = 64,
        poll: Annotated[
            float, typer.Option("--poll", min=0.05, help="Seconds between looks for new work.")
        ] = 1.0,
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
        asyncio.run(
            run_controller(load_settings(), window=window, poll_s=poll, metrics_port=metrics_port)
        )

    @app.command("health")
    def health(
        store: Annotated[
            list[str] | None, typer.Option("--store", help="Only these stores; repeatable.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Labels per store: up to date, pending, failed, unplanned, offline, low battery."""
        settings = load_settings()
        engine = open_ready_engine(settings.resolved_database_url())
        try:
            with session_factory(engine)() as session:
                require_known_stores(session, store or [])
                report = label_health(session, now=_now(), stores=store)
        finally:
            engine.dispose()
        if as_json:
            typer.echo(json.dumps([asdict(item) for item in report], sort_keys=True))
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
        )
        typer.echo("  ".join(f"{name:>11}" for name in header))
        for item in report:
            values = [getattr(item, name) for name in header]
            typer.echo("  ".join(f"{value!s:>11}" for value in values))
            for reason, count in sorted(item.failures.items()):
                typer.echo(f"{'':>13}failed: {count} x {reason}")
