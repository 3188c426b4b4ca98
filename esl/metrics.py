"""Prometheus metrics: what the pipeline did and where the labels stand, read from the
store of record at scrape time, plus the API's own request latency.

The pipeline's figures come from the database rather than from counters in the
controller's memory: the API process and `esl run` then report the same numbers, a
restarted controller does not start again from zero, and two processes never disagree.

    esl_frames_sent_total                 deliveries of signed frames (attempts)
    esl_frames_acked_total                frames a label verifiably acknowledged
    esl_frames_retried_total              deliveries after the first, per frame
    esl_frames_parked{reason}             frames parked now, by reason
    esl_outbox_frames{status}             outbox rows by status (depth: pending + sent)
    esl_time_to_shelf_seconds             planned frame -> verified acknowledgement
    esl_labels{store,state}               labels per store: up_to_date, pending, failed, ...
    esl_api_request_duration_seconds      API latency by method, route and status (a
                                          method outside GET..OPTIONS is "other", a path
                                          outside the API's operations "unmatched")
    esl_store_of_record_up                1 when this scrape could read the database, else 0
    esl_controller_up                     1 while the controller reports (its status file)
    esl_database_unreachable_seconds      how long the controller's database has not answered
    esl_database_outages_total            database outages the controller rode out since start
    esl_controller_uplinks_dropped_total{store}  uplinks dropped over the per-store bound
    esl_controller_store_unheard_seconds{store}  how long a served store is not heard

The controller's view of its database comes from the status file it writes
(esl/pipeline/controller_status.py), so a scrape still says since when the database is
away while the figures read from it cannot be had.

`metrics_registry(sessions, clock, status_path=...)` builds one registry per process (tests
build many);
`render(registry)` gives the text exposition format.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esl.api.route_templates import operation_paths
from esl.db.models import OutboxRow
from esl.delivery_states import OutboxStatus, ParkReason, park_metric_reason
from esl.pipeline.controller_status import read_controller_status
from esl.pipeline.database_outage import is_database_outage
from esl.services.health import label_health

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_METHODS",
    "ApiLatency",
    "ControllerCollector",
    "PipelineCollector",
    "latency_method",
    "metrics_registry",
    "render",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# From a listening label (a second) to one that waits for its next check-ins (minutes).
TIME_TO_SHELF_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class PipelineCollector(Collector):
    """Reads the outbox and the label states on every scrape."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        try:
            with self.sessions() as session:
                # Read whole before yielding: a scrape is all or nothing.
                metrics = [
                    *self._frames(session),
                    self._time_to_shelf(session),
                    self._labels(session),
                ]
        except Exception as error:
            if not is_database_outage(error):
                raise
            metrics = []
        yield GaugeMetricFamily(
            "esl_store_of_record_up",
            "1 when this scrape could read the store of record, else 0.",
            value=1 if metrics else 0,
        )
        yield from metrics

    def _frames(self, session: Session) -> Iterator[Metric]:
        sent, retried, acked = session.execute(
            select(
                func.coalesce(func.sum(OutboxRow.attempts), 0),
                func.coalesce(
                    func.sum(case((OutboxRow.attempts > 1, OutboxRow.attempts - 1), else_=0)), 0
                ),
                func.coalesce(func.sum(case((OutboxRow.status == "acked", 1), else_=0)), 0),
            )
        ).one()
        yield CounterMetricFamily("esl_frames_sent", "Deliveries of signed frames.", value=sent)
        yield CounterMetricFamily(
            "esl_frames_acked", "Frames a label verifiably acknowledged.", value=acked
        )
        yield CounterMetricFamily(
            "esl_frames_retried", "Deliveries after a frame's first.", value=retried
        )
        parked = GaugeMetricFamily(
            "esl_frames_parked", "Frames parked now, by reason.", labels=["reason"]
        )
        # By the bare reason, as docs/operations.md lists them: the detail (a label's
        # refusal code, a frame's size) would split a reason into series no alert
        # written from the docs matches. Every reason has a series, 0 when none parked.
        by_reason = dict.fromkeys((park_metric_reason(reason) for reason in ParkReason), 0)
        for reason, count in session.execute(
            select(OutboxRow.parked_reason, func.count())
            .where(OutboxRow.status == OutboxStatus.PARKED.value)
            .group_by(OutboxRow.parked_reason)
        ):
            key = park_metric_reason(reason)
            by_reason[key] = by_reason.get(key, 0) + count
        for reason, count in by_reason.items():
            parked.add_metric([reason], count)
        yield parked
        depth = GaugeMetricFamily(
            "esl_outbox_frames",
            "Outbox rows by status (pending + sent is the depth).",
            labels=["status"],
        )
        statement = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        counts: dict[str, int] = {row[0]: row[1] for row in session.execute(statement)}
        for status in ("held", "pending", "sent", "acked", "parked", "superseded"):
            depth.add_metric([status], counts.get(status, 0))
        yield depth

    def _time_to_shelf(self, session: Session) -> Metric:
        buckets = [0] * (len(TIME_TO_SHELF_BUCKETS) + 1)
        total = 0.0
        for created, settled in session.execute(
            select(OutboxRow.created_at, OutboxRow.settled_at).where(
                OutboxRow.status == "acked", OutboxRow.settled_at.is_not(None)
            )
        ):
            if settled is None:
                continue
            seconds = max((settled - created).total_seconds(), 0.0)
            total += seconds
            index = next(
                (i for i, bound in enumerate(TIME_TO_SHELF_BUCKETS) if seconds <= bound),
                len(TIME_TO_SHELF_BUCKETS),
            )
            buckets[index] += 1
        cumulative, running = [], 0
        for bound, count in zip((*TIME_TO_SHELF_BUCKETS, float("inf")), buckets, strict=True):
            running += count
            cumulative.append(("+Inf" if bound == float("inf") else str(bound), running))
        return HistogramMetricFamily(
            "esl_time_to_shelf_seconds",
            "From a frame being planned (a price taking effect) to its verified acknowledgement.",
            buckets=cumulative,
            sum_value=total,
        )

    def _labels(self, session: Session) -> Metric:
        labels = GaugeMetricFamily(
            "esl_labels", "Labels per store and state.", labels=["store", "state"]
        )
        for health in label_health(session, now=self.clock()):
            # Every count the classifier has (a new state shows up without a change here).
            for item in dataclasses.fields(health):
                value = getattr(health, item.name)
                if item.name != "labels" and isinstance(value, int):
                    labels.add_metric([health.store, item.name], value)
        return labels


class ControllerCollector(Collector):
    """The controller's own report (its status file): alive, its database outages, and
    per store the uplinks it dropped over its bound (a flood an operator alerts on)."""

    def __init__(
        self, status_path: Path, clock: Callable[[], datetime], renew_every: timedelta
    ) -> None:
        self.status_path = status_path
        self.clock = clock
        self.renew_every = renew_every

    def collect(self) -> Iterator[Metric]:
        status = read_controller_status(self.status_path)
        now = self.clock()
        alive = status is not None and status.alive(now=now, renew_every=self.renew_every)
        yield GaugeMetricFamily(
            "esl_controller_up", "1 while the controller reports, else 0.", value=int(alive)
        )
        if status is None:
            return
        # A dead controller's last word (SIGKILL leaves its file) is no outage now.
        since = status.database_unreachable_since if alive else None
        yield GaugeMetricFamily(
            "esl_database_unreachable_seconds",
            "How long the running controller's database has not answered "
            "(0: it answers, or no controller reports).",
            value=0.0 if since is None else max((now - since).total_seconds(), 0.0),
        )
        yield CounterMetricFamily(
            "esl_database_outages",
            "Database outages the controller rode out since it started.",
            value=status.database_outages,
        )
        # The same counts as `esl health` and /health/controller; a store appears once it
        # dropped one (a counter series starts at its first increment).
        dropped = CounterMetricFamily(
            "esl_controller_uplinks_dropped",
            "Uplinks of a store dropped since the controller started, over its bound of "
            "ESL_CONTROLLER_UPLINKS_PER_STORE waiting (a flood of its up topic).",
            labels=["store"],
        )
        for store, count in sorted(status.uplinks_dropped.items()):
            dropped.add_metric([store], count)
        yield dropped
        unheard = GaugeMetricFamily(
            "esl_controller_store_unheard_seconds",
            "How long a store the controller serves has not been heard (its own broker "
            "session refused or down); a store appears only while it is not heard.",
            labels=["store"],
        )
        for store, item in sorted(status.stores_unheard.items() if alive else ()):
            unheard.add_metric([store], max((now - item.since).total_seconds(), 0.0))
        yield unheard


class ApiLatency:
    """ASGI middleware timing every API request into a histogram."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            # The path's template, not the path: one series per operation, not per SKU.
            template = operation_paths(scope["app"]).template(scope["path"]) or "unmatched"
            self.histogram.labels(latency_method(scope["method"]), template, str(status)).observe(
                time.perf_counter() - started
            )


# The methods the API and console answer; the HTTP server passes on any token as a method
# (`X17Y /api/v1/stores` reaches the app), and a label per token would let anyone, even
# without a key, add a series per request: /metrics and memory growing without bound.
LATENCY_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def latency_method(method: str) -> str:
    """The method label of a request: the method itself, or "other" for any other token."""
    return method if method in LATENCY_METHODS else "other"


def metrics_registry(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    *,
    status_path: Path,
    renew_every: timedelta,
) -> tuple[CollectorRegistry, Histogram]:
    """A registry with the pipeline and controller collectors and the API latency
    histogram; `status_path` is the controller's status file, `renew_every` how often it
    writes it (the lease renewal)."""
    registry = CollectorRegistry()
    registry.register(PipelineCollector(sessions, clock))
    registry.register(ControllerCollector(status_path, clock, renew_every))
    latency = Histogram(
        "esl_api_request_duration_seconds",
        "API request latency.",
        ["method", "route", "status"],
        registry=registry,
    )
    return registry, latency


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
