"""`esl run` as a process: the controller (or, on PostgreSQL, a worker) with its database
opened when reachable, its lease, its broker connection and its /metrics.

Apart from `esl/cli/pipeline_cmd.py` so that `esl` starts its other commands without
loading the pipeline. The wall clock and the RNG are made here, at the edge; everything
below takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal

import typer
from prometheus_client import start_http_server
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from esl.composition import (
    build_controller,
    controller_settings,
    controller_transport,
    shares_stores,
    worker_settings,
)
from esl.db.engine import session_factory
from esl.db.readiness import DatabaseNotReadyError, open_ready_engine
from esl.metrics import metrics_registry
from esl.mqtt.broker_choice import configured_broker
from esl.pipeline.controller_lease import (
    ControllerIdentity,
    release_lease,
    take_lease_when_reachable,
)
from esl.pipeline.controller_status import controller_status_path
from esl.pipeline.database_outage import DatabaseRetry
from esl.services.ledger_instants import wall_clock as _now
from esl.settings import Settings
from esl.worker_metrics import WorkerCollector

__all__ = ["run_controller"]

log = logging.getLogger(__name__)


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
