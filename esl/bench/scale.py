"""`esl bench scale`: 1, 2 and 3 `esl run` workers sharing the stores on PostgreSQL.

Full size: 30,000 labels across 30 stores (one simulated gateway each, 1,000 labels),
one Mosquitto, a throwaway PostgreSQL server, the simulated gateways in a process of
their own (as `esl bench pipeline`, whose seeding and gateways this reuses). Workers are
real `esl run` processes, started for each worker count and stopped after it.

For each worker count: the workers start and divide the stores (not measured), the
outbox drains, then a publication changing every price is published and timed to the
last acknowledgement: `acked_per_s[n]`; `scaling[n]` = acked_per_s[n] / acked_per_s[1],
measured in the same run. `cpu_s_per_acked_label[n]`: the workers' user + system CPU
over that publication, per label; on a machine with fewer cores than workers this, not
the rate, is what predicts scale on bigger machines.

Then, with three workers, a publication during which one worker is killed with SIGKILL
once a fifth of the labels answered: `takeover_s` (kill to every store held by a live
worker, under the default `ESL_STORE_LEASE_STALE_AFTER` unless smoke), `duplicates`
(sends beyond the first of that publication's frames) and `lost` (frames not
acknowledged at the end: 0 is the promise).

`worker_peak_rss_mb`: the largest peak resident memory of a worker. How planning memory
grows with the labels planned (`rss_mb_per_100k_labels_planned`, the slope between
sizes) is `esl bench planning`'s figure: one size of whole workers here says nothing
about growth (its peak is mostly the interpreter, imports and caches).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from esl.bench._mosquitto import bench_broker
from esl.bench._postgres import throwaway_postgres
from esl.bench._worker_processes import start_esl_run, stop_gracefully
from esl.bench.pipeline import _gateways, _prepare, _publish, _release, _seed
from esl.db.engine import create_engine_for
from esl.db.lease_models import StoreLeaseRow, WorkerRow
from esl.db.models import OutboxRow
from gateways.mqtt.endpoint import BrokerEndpoint

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS = (
    "labels",
    "stores",
    "acked_per_s",
    "scaling",
    "cpu_s_per_acked_label",
    "takeover_s",
    "duplicates",
    "lost",
    "worker_peak_rss_mb",
)

WINDOW = 200  # frames in flight per gateway
WORKER_COUNTS = (1, 2, 3)
_TICKS = os.sysconf("SC_CLK_TCK")


def run(*, smoke: bool) -> dict[str, object]:
    if smoke:
        # Quick leases, so the takeover costs seconds; full size: the defaults.
        quick = {"ESL_STORE_LEASE_STALE_AFTER": "3", "ESL_STORE_LEASE_RENEW_S": "0.5"}
        return run_sized(stores=3, per_store=4, products=3, speed=100.0, leases=quick)
    return run_sized(stores=30, per_store=1_000, products=500, speed=10.0, leases={})


def run_sized(
    *, stores: int, per_store: int, products: int, speed: float, leases: dict[str, str]
) -> dict[str, object]:
    """The benchmark at another size (`run` is the full one and the smoke one)."""
    with (
        tempfile.TemporaryDirectory(prefix="esl-bench-scale-") as tmp,
        throwaway_postgres() as database_url,
        bench_broker("scale") as endpoint,
    ):
        return _measure(
            Path(tmp),
            database_url,
            endpoint,
            stores=stores,
            per_store=per_store,
            products=products,
            speed=speed,
            leases=leases,
        ) | {"window_per_gateway": WINDOW, "lease_settings": leases or "defaults"}


def _measure(
    tmp: Path,
    database_url: str,
    endpoint: BrokerEndpoint,
    *,
    stores: int,
    per_store: int,
    products: int,
    speed: float,
    leases: dict[str, str],
) -> dict[str, object]:
    engine = create_engine_for(database_url)
    state_dir = tmp / "sim"
    sessions, pairs = _seed(
        engine, state_dir, stores=stores, per_store=per_store, products=products
    )
    labels = stores * per_store
    env = {
        **os.environ,
        **leases,
        "ESL_DATA_DIR": str(tmp / "data"),
        "ESL_DATABASE_URL": database_url,
        "ESL_BROKER_URL": endpoint.url,
        "ESL_RETRY_ACK_TIMEOUT_S": "30",
        "ESL_RETRY_BASE_DELAY_S": "1",
        "ESL_RETRY_MAX_DELAY_S": "10",
        # The simulated labels run on an accelerated clock, ahead by design.
        "ESL_LABEL_CLOCK_TOLERANCE_S": "0",
    }
    env.pop("ESL_ENV_FILE", None)
    rates: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peak_rss: dict[str, float] = {}
    cents = iter(range(1, 100))
    _publish(sessions, products, next(cents), _now())
    try:
        with _gateways(endpoint, state_dir, pairs, speed=speed):
            for count in WORKER_COUNTS:
                workers = [
                    start_esl_run(env, tmp / f"w{count}-{n}", poll_s=0.05, window=WINDOW)
                    for n in range(count)
                ]
                try:
                    _wait(partial(_balanced, sessions, count, stores), "the stores divided")
                    _wait(lambda: _open(sessions) == 0, "the outbox drained", timeout_s=1800)
                    time.sleep(20 / speed)  # the panels finish their last refresh
                    before = sum(_cpu_s(worker) for worker in workers)
                    publication = _prepare(sessions, products, next(cents), _now())
                    mark = _last_frame(sessions)
                    started = _release(sessions, publication, _now())
                    _wait(partial(_all_acked, sessions, mark, labels), "all acked", 1800)
                    seconds = time.perf_counter() - started
                    rates[str(count)] = round(labels / seconds, 1)
                    spent = sum(_cpu_s(worker) for worker in workers) - before
                    cpu[str(count)] = round(spent / labels, 6)
                    peak_rss[str(count)] = max(_peak_rss_mb(worker) for worker in workers)
                    print(  # progress on stderr: stdout is the one JSON object
                        f"{count} workers: {rates[str(count)]} acked/s, "
                        f"{cpu[str(count)]} CPU s per label, {peak_rss[str(count)]} MB peak",
                        file=sys.stderr,
                        flush=True,
                    )
                    if count == WORKER_COUNTS[-1]:
                        takeover = _kill_one_midway(sessions, workers, products, next(cents))
                finally:
                    for worker in workers:
                        stop_gracefully(worker, timeout_s=60)
    finally:
        engine.dispose()
    single = rates[str(WORKER_COUNTS[0])]
    return {
        "labels": labels,
        "stores": stores,
        "acked_per_s": rates,
        "scaling": {count: round(rate / single, 3) for count, rate in rates.items()},
        "cpu_s_per_acked_label": cpu,
        "worker_peak_rss_mb": max(peak_rss.values()),
        "cores": os.cpu_count(),
        **takeover,
    }


def _kill_one_midway(
    sessions: sessionmaker[Session],
    workers: list[subprocess.Popen[bytes]],
    products: int,
    cents: int,
) -> dict[str, object]:
    with sessions() as session:
        labels = session.scalar(select(func.count(func.distinct(OutboxRow.label_id)))) or 0
    _wait(lambda: _open(sessions) == 0, "the outbox drained", timeout_s=1800)
    publication = _prepare(sessions, products, cents, _now())
    mark = _last_frame(sessions)
    _release(sessions, publication, _now())
    _wait(lambda: _acked(sessions, mark) >= labels // 5, "a fifth acked", 1800)
    victim = workers[0]
    with sessions() as session:
        holder = session.scalar(select(WorkerRow.holder).where(WorkerRow.pid == victim.pid))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed = time.perf_counter()

    def taken_over() -> bool:
        with sessions() as session:
            held = session.scalars(select(StoreLeaseRow.holder)).all()
        return all(store_holder not in (None, holder) for store_holder in held)

    _wait(taken_over, "the killed worker's stores taken over", timeout_s=300)
    takeover_s = time.perf_counter() - killed
    with contextlib.suppress(TimeoutError):  # reported as lost below
        _wait(partial(_all_acked, sessions, mark, labels), "all acked after the kill", 600)
    with sessions() as session:
        attempts, acked = session.execute(
            select(
                func.coalesce(func.sum(OutboxRow.attempts), 0),
                func.count().filter(OutboxRow.status == "acked"),
            ).where(OutboxRow.id > mark)
        ).one()
    return {
        "takeover_s": round(takeover_s, 2),
        "duplicates": int(attempts) - int(acked),
        "lost": labels - int(acked),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _count(sessions: sessionmaker[Session], statement: object) -> int:
    with sessions() as session:
        return int(session.scalar(statement) or 0)  # type: ignore[call-overload]


def _open(sessions: sessionmaker[Session]) -> int:
    return _count(
        sessions,
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.status.in_(("pending", "sent", "parked"))),
    )


def _last_frame(sessions: sessionmaker[Session]) -> int:
    """The newest outbox row: the frames of a publication published next come after."""
    return _count(sessions, select(func.coalesce(func.max(OutboxRow.id), 0)))


def _all_acked(sessions: sessionmaker[Session], after_id: int, labels: int) -> bool:
    return _acked(sessions, after_id) >= labels


def _acked(sessions: sessionmaker[Session], after_id: int) -> int:
    """Frames after `after_id` acknowledged."""
    return _count(
        sessions,
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.id > after_id, OutboxRow.status == "acked"),
    )


def _balanced(sessions: sessionmaker[Session], workers: int, stores: int) -> bool:
    """`workers` live workers, every store held, none holding more than its share."""
    with sessions() as session:
        live = session.scalar(select(func.count()).select_from(WorkerRow)) or 0
        held = session.execute(
            select(StoreLeaseRow.holder, func.count()).group_by(StoreLeaseRow.holder)
        ).all()
    share = -(-stores // workers)
    counts = dict(held)
    return (
        live == workers
        and None not in counts
        and len(counts) == workers
        and max(counts.values()) <= share
    )


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise TimeoutError(f"esl bench scale: timed out waiting for {what}")


def _cpu_s(worker: subprocess.Popen[bytes]) -> float:
    """User + system CPU seconds the worker process used so far."""
    fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _peak_rss_mb(worker: subprocess.Popen[bytes]) -> float:
    for line in Path(f"/proc/{worker.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
