"""A worker's /metrics (`esl run --metrics-port`): the stores it holds, its heartbeat age
and each of its stores' lag, labelled with its client id so a dashboard can split or sum
the workers; another worker's stores never appear in its series."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.pipeline.controller_lease import ControllerIdentity
from esl.worker_metrics import WorkerCollector
from tests.workers.database import STORES, two_workers_sharing_the_stores


def _scrape(collector: WorkerCollector) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The samples of one scrape as Prometheus reads them, by sample name."""
    registry = CollectorRegistry()
    registry.register(collector)
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_a_workers_metrics_show_its_own_stores_heartbeat_and_lag(engine: Engine) -> None:
    now = datetime.now(UTC)
    first, second = two_workers_sharing_the_stores(engine, now=now)
    idle = ControllerIdentity.of_this_process(now=now)
    sessions = session_factory(engine)

    mine = _scrape(WorkerCollector(sessions, lambda: now, first))
    worker = first.mqtt_client_id
    assert mine["esl_worker_stores"] == [({"worker": worker}, 3.0)]
    assert mine["esl_worker_frames_acked_total"] == [({"worker": worker}, 0.0)]
    [(labels, heartbeat_age)] = mine["esl_worker_heartbeat_age_seconds"]
    assert labels == {"worker": worker}
    assert heartbeat_age == 4.0  # it renewed 4 s before the scrape's instant
    # Its host is the database's: no clock offset.
    assert mine["esl_worker_clock_offset_seconds"] == [({"worker": worker}, 0.0)]
    lagging = mine["esl_worker_store_lag_seconds"]
    assert {labels["worker"] for labels, _ in lagging} == {worker}
    held = {labels["store"] for labels, _ in lagging}
    assert len(held) == 3
    assert held < set(STORES)
    assert all(lag == 0 for _, lag in lagging)
    open_frames = mine["esl_worker_store_open_frames"]
    assert {labels["store"] for labels, _ in open_frames} == held

    theirs = _scrape(WorkerCollector(sessions, lambda: now, second))
    their_stores = {labels["store"] for labels, _ in theirs["esl_worker_store_lag_seconds"]}
    assert their_stores == set(STORES) - held

    # A worker that holds nothing says so, and reports no one else's stores.
    nothing = _scrape(WorkerCollector(sessions, lambda: now, idle))
    assert nothing["esl_worker_stores"] == [({"worker": idle.mqtt_client_id}, 0.0)]
    assert "esl_worker_heartbeat_age_seconds" not in nothing
    assert "esl_worker_store_lag_seconds" not in nothing
