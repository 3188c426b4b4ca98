"""/metrics of one worker (`esl run --metrics-port` on PostgreSQL): its stores, their
lag, its acknowledgements and heartbeat, every series labelled with the worker's MQTT
client id so one dashboard sums or splits the workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from esl.pipeline.controller_lease import ControllerIdentity
from esl.pipeline.database_outage import is_database_outage
from esl.pipeline.worker_overview import workers_overview

__all__ = ["WorkerCollector"]


class WorkerCollector(Collector):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        identity: ControllerIdentity,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.worker = identity.mqtt_client_id

    def collect(self) -> Iterator[Metric]:
        try:
            with self.sessions() as session:
                views, stores = workers_overview(session, now=self.clock())
        except Exception as error:
            if not is_database_outage(error):
                raise
            return
        mine = next((view for view in views if view.client_id == self.worker), None)
        held = 0 if mine is None else len(mine.stores)
        yield self._series(
            GaugeMetricFamily, "esl_worker_stores", "Stores this worker holds.", held
        )
        if mine is not None:
            yield self._series(
                CounterMetricFamily,
                "esl_worker_frames_acked",
                "Frames acknowledged to this worker since it started.",
                mine.acknowledged,
            )
            yield self._series(
                GaugeMetricFamily,
                "esl_worker_heartbeat_age_seconds",
                "Since this worker last renewed its leases.",
                mine.heartbeat_age_s,
            )
            if mine.clock_offset_s is not None:
                yield self._series(
                    GaugeMetricFamily,
                    "esl_worker_clock_offset_seconds",
                    "This worker's host clock minus the database's, at its last balance.",
                    mine.clock_offset_s,
                )
        lag = GaugeMetricFamily(
            "esl_worker_store_lag_seconds",
            "How long the oldest due frame of a store this worker holds has waited.",
            labels=["worker", "store"],
        )
        open_frames = GaugeMetricFamily(
            "esl_worker_store_open_frames",
            "Frames of a store this worker holds not acknowledged yet.",
            labels=["worker", "store"],
        )
        for store in stores:
            if store.holder == self.worker:
                lag.add_metric([self.worker, store.store], store.lag_s)
                open_frames.add_metric([self.worker, store.store], store.open_frames)
        yield lag
        yield open_frames

    def _series(
        self,
        family: type[GaugeMetricFamily | CounterMetricFamily],
        name: str,
        documentation: str,
        value: float,
    ) -> Metric:
        """A metric of this worker as a whole: one sample, labelled with the worker."""
        metric = family(name, documentation, labels=["worker"])
        metric.add_metric([self.worker], value)
        return metric
