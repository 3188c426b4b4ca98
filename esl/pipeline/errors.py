"""Errors of the update pipeline.

EslError (pricing/errors.py)
+-- PipelineError              esl/pipeline: a label cannot be planned or sent
    +-- UnplannableLabelError  a label with no content or no way to sign (`label_id`, `reason`)
    +-- ControllerAlreadyRunningError  another controller holds this database's lease
    |                                  (`pid`, `host`, `since`, `heartbeat_at`)
    +-- ControllerLeaseLostError       another controller took the lease over (`holder`)
    +-- TransportEventsEndedError      the transport's events ended while the controller ran
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pricing.errors import EslError

__all__ = [
    "ControllerAlreadyRunningError",
    "ControllerLeaseLostError",
    "PipelineError",
    "TransportEventsEndedError",
    "UnplannableLabelError",
]


class PipelineError(EslError):
    code = "pipeline_error"


class UnplannableLabelError(PipelineError):
    code = "unplannable_label"

    def __init__(self, label_id: str, reason: str) -> None:
        super().__init__(f"label {label_id}: {reason}", label_id=label_id, reason=reason)
        self.label_id = label_id
        self.reason = reason


class ControllerAlreadyRunningError(PipelineError):
    """A second controller on one database would fight the first for every label."""

    code = "controller_already_running"

    def __init__(
        self,
        *,
        pid: int,
        host: str,
        since: datetime,
        heartbeat_at: datetime,
        stale_after: timedelta,
    ) -> None:
        super().__init__(
            f"another controller runs on this database: pid {pid} on {host}, since "
            f"{since:%Y-%m-%d %H:%M:%S} UTC (last heartbeat {heartbeat_at:%H:%M:%S} UTC); "
            f"stop it first (a controller that died is taken over "
            f"{stale_after.total_seconds():g} s after its last heartbeat)",
            pid=pid,
            host=host,
            since=since.isoformat(),
            heartbeat_at=heartbeat_at.isoformat(),
        )
        self.pid = pid
        self.host = host
        self.since = since


class ControllerLeaseLostError(PipelineError):
    """This controller's lease went stale and another controller took it over."""

    code = "controller_lease_lost"

    def __init__(self, *, pid: int | None, host: str | None) -> None:
        holder = "nobody" if pid is None else f"pid {pid} on {host}"
        super().__init__(
            f"this controller lost its lease on the database to {holder}; stopping",
            pid=pid,
            host=host,
        )


class TransportEventsEndedError(PipelineError):
    """The transport stopped handing events over before the controller was stopped: no
    answer could be settled again, so the controller ends rather than seem to run."""

    code = "transport_events_ended"

    def __init__(self) -> None:
        super().__init__(
            "the transport's events ended while the controller ran: no answer can be "
            "settled; stopping"
        )
