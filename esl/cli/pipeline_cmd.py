"""`esl run` (the update controller) and `esl health` (labels per store).

The wall clock and the RNG are made here, at the edge; everything below takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from prometheus_client import start_http_server
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from esl.cli.invocation import settings_of
from esl.composition import (
    build_controller,
    controller_settings,
    controller_transport,
    shares_stores,
    worker_settings,
)
from esl.db.engine import create_engine_for, session_factory
from esl.db.readiness import DatabaseNotReadyError, open_ready_engine
from esl.metrics import metrics_registry
from esl.mqtt.broker_choice import configured_broker
from esl.pipeline.controller_lease import (
    ControllerIdentity,
    release_lease,
    take_lease_when_reachable,
)
from esl.pipeline.controller_status import (
    controller_report,
    controller_status_path,
    read_controller_status,
)
from esl.pipeline.database_outage import DatabaseRetry, is_database_outage
from esl.pipeline.errors import ControllerAlreadyRunningError, ControllerLeaseLostError
from esl.services.health import label_health
from esl.services.label_status import StatusThresholds
from esl.services.security_events import security_summary
from esl.services.stores import require_known_stores
from esl.settings import Settings
from esl.worker_metrics import WorkerCollector

__all__ = ["register", "run_controller"]

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


async def _open_when_reachable(
    settings: Settings, *, retry: DatabaseRetry, stop: asyncio.Event
) -> Engine | None:
    """An engine on the migrated database; None when stopped first.

    A database that is missing or not migrated is an operator's mistake: said at once
    (`DatabaseNotReadyError`). One that does not answer (a server restarting, a lock) is
    an outage: the controller waits for it, with the same backoff as when running.
    """
    delay = retry.first
    while True:
        try:
            return open_ready_engine(
                settings.resolved_database_url(),
                busy_timeout_ms=settings.database_busy_timeout_ms,
            )
        except DatabaseNotReadyError as error:
            if not isinstance(error.__cause__, DBAPIError):
                raise
            log.warning("%s; trying again in %.1f s", error.message, delay.total_seconds())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay.total_seconds())
        if stop.is_set():
            return None
        delay = min(delay * 2, retry.longest)


async def run_controller(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    metrics_port: int | None = None,
) -> None:
    """Run the controller until `stop` is set (or SIGINT/SIGTERM); with `metrics_port`,
    serve /metrics (Prometheus) on ESL_API_HOST:metrics_port meanwhile.

    On SQLite, takes the database's controller lease before connecting to the broker: a
    second controller on the same database stops here with `ControllerAlreadyRunningError`.
    On PostgreSQL every `esl run` is a worker sharing the stores with the others
    (esl/pipeline/store_leases.py, docs/scale.md).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    policy = controller_settings(settings)
    engine = await _open_when_reachable(settings, retry=policy.database_retry, stop=stop)
    if engine is None:
        return
    identity = ControllerIdentity.of_this_process(now=_now())
    sessions = session_factory(engine)
    worker = shares_stores(engine.dialect.name)
    if worker:
        policy = worker_settings(settings)
    exporter = None
    if metrics_port is not None:
        registry, _ = metrics_registry(
            sessions,
            _now,
            status_path=controller_status_path(settings.data_dir),
            renew_every=policy.lease.renew_every,
        )
        if worker:
            registry.register(WorkerCollector(sessions, _now, identity))
        exporter, _thread = start_http_server(
            metrics_port, addr=settings.api_host, registry=registry
        )
        typer.echo(f"metrics on http://{settings.api_host}:{metrics_port}/metrics")
    leased = False
    try:
        if not worker and not await take_lease_when_reachable(
            sessions,
            identity,
            clock=_now,
            terms=policy.lease,
            retry=policy.database_retry,
            stop=stop,
        ):
            return
        leased = not worker
        async with configured_broker(settings.broker_url) as endpoint:
            transport = controller_transport(
                endpoint,
                client_id=identity.mqtt_client_id,
                stores=() if worker else None,
                max_packet_bytes=settings.mqtt_max_packet_bytes,
                max_queued_per_store=settings.controller_uplinks_per_store,
            )
            async with transport:
                controller = build_controller(
                    policy,
                    gateway=transport,
                    sessions=sessions,
                    clock=_now,
                    rng=random.Random(),
                    identity=identity,
                    status_path=controller_status_path(settings.data_dir),
                )
                role = "worker" if worker else "controller"
                typer.echo(
                    f"{role} running against {endpoint.host}:{endpoint.port} "
                    f"as {identity.mqtt_client_id} (pid {identity.pid} on {identity.host})"
                )
                await controller.run(stop)
    finally:
        if leased:
            # The controller gives its lease back when it stops; a start that failed
            # before it ran (a broker not there) must too, or the next start is refused
            # for a minute as "another controller runs" by this exited process.
            _give_lease_back(sessions, identity)
        if exporter is not None:
            exporter.shutdown()
            exporter.server_close()
        engine.dispose()


def _give_lease_back(sessions: sessionmaker[Session], identity: ControllerIdentity) -> None:
    try:
        with sessions.begin() as session:
            release_lease(session, identity)
    except SQLAlchemyError as error:  # the database away: the lease goes stale in 60 s
        log.warning("could not give the controller lease back: %s", error)


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
