"""What the running controller says about itself, readable while its database is away.

The label counts of `esl health` come from the database; when the database does not
answer, the controller is the only one who knows since when. So it writes this small
JSON file next to its data (atomically: a reader never sees half of it) whenever its
view changes and at every lease renewal. `esl health`, the health API and `/metrics`
read it; `written_at` tells them whether the controller is still alive to report.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateways.base import UnheardStore

__all__ = [
    "STATUS_FILE_NAME",
    "ControllerStatus",
    "controller_report",
    "controller_status_path",
    "read_controller_status",
    "write_controller_status",
]

log = logging.getLogger(__name__)

STATUS_FILE_NAME = "controller-status.json"


@dataclass(frozen=True, slots=True)
class ControllerStatus:
    pid: int
    host: str
    started_at: datetime
    written_at: datetime
    database_unreachable_since: datetime | None  # None: the database answers
    database_failed_tries: int
    database_error: str | None
    database_outages: int  # outages ridden out since start
    # Per store, uplinks dropped over its bound since start (a flood of its `up` topic).
    uplinks_dropped: dict[str, int] = field(default_factory=dict)
    # Per store served and not heard now (its own broker session down or refused): its
    # labels' answers cannot reach the controller, so nothing sent there is confirmed.
    stores_unheard: dict[str, UnheardStore] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "host": self.host,
            "started_at": self.started_at.isoformat(),
            "written_at": self.written_at.isoformat(),
            "database_unreachable_since": _iso(self.database_unreachable_since),
            "database_failed_tries": self.database_failed_tries,
            "database_error": self.database_error,
            "database_outages": self.database_outages,
            "uplinks_dropped": self.uplinks_dropped,
            "stores_unheard": {
                store: {"since": unheard.since.isoformat(), "reason": unheard.reason}
                for store, unheard in sorted(self.stores_unheard.items())
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ControllerStatus:
        since = data.get("database_unreachable_since")
        return cls(
            pid=int(data["pid"]),
            host=str(data["host"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            written_at=datetime.fromisoformat(data["written_at"]),
            database_unreachable_since=None if since is None else datetime.fromisoformat(since),
            database_failed_tries=int(data.get("database_failed_tries", 0)),
            database_error=data.get("database_error"),
            database_outages=int(data.get("database_outages", 0)),
            uplinks_dropped={
                str(store): int(count)
                for store, count in (data.get("uplinks_dropped") or {}).items()
            },
            stores_unheard={
                str(store): UnheardStore(
                    since=datetime.fromisoformat(unheard["since"]), reason=str(unheard["reason"])
                )
                for store, unheard in (data.get("stores_unheard") or {}).items()
            },
        )

    def alive(self, *, now: datetime, renew_every: timedelta) -> bool:
        """Whether the controller still writes its status: it does at every lease
        renewal, so three renewals without a word mean it is gone (killed, or its host).
        A report dated more than that ahead of `now` was written on a clock since set
        back (NTP correcting a fast host): a live controller writes one on the corrected
        clock within a renewal, so one still ahead is a dead controller's, not fresh."""
        return abs(now - self.written_at) <= 3 * renew_every

    def report(self, *, now: datetime, renew_every: timedelta) -> dict[str, Any]:
        """What `GET /api/v1/health/controller` and `esl health --json` say: the last
        status and whether the controller still reports (`running`)."""
        return {"running": self.alive(now=now, renew_every=renew_every), **self.to_dict()}

    def describe(self, *, now: datetime, renew_every: timedelta) -> str:
        """One line for `esl health`."""
        who = f"controller pid {self.pid} on {self.host}"
        age = (now - self.written_at).total_seconds()
        if not self.alive(now=now, renew_every=renew_every):
            # Killed (SIGKILL leaves the file) or its host down: what it last said about
            # the database or its stores is no longer news, only a clue.
            when = f"{age:.0f} s ago" if age >= 0 else f"dated {-age:.0f} s ahead of this clock"
            last = (
                "the database did not answer since "
                f"{self.database_unreachable_since:%Y-%m-%d %H:%M:%S} UTC "
                f"({self.database_failed_tries} tries, {self.database_error})"
                if self.database_unreachable_since is not None
                else "the database answered"
            )
            return (
                f"{who}: not reporting since {self.written_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({when}): stopped without removing its status, or its host is down; "
                f"its last report: {last}"
            )
        notes = ""
        if self.uplinks_dropped:
            notes += "; uplinks dropped over the per-store bound (frames sent again): " + ", ".join(
                f"{store} {count}" for store, count in self.uplinks_dropped.items()
            )
        if self.stores_unheard:
            notes += "; stores not heard (their answers cannot be confirmed): " + ", ".join(
                f"{store} since {unheard.since:%Y-%m-%d %H:%M:%S} UTC ({unheard.reason})"
                for store, unheard in sorted(self.stores_unheard.items())
            )
        if self.database_unreachable_since is not None:
            return (
                f"{who}: database unreachable since "
                f"{self.database_unreachable_since:%Y-%m-%d %H:%M:%S} UTC "
                f"({self.database_failed_tries} tries, {self.database_error}); last report "
                f"{age:.0f} s ago{notes}"
            )
        return f"{who}: database reachable; last report {age:.0f} s ago{notes}"


def controller_report(
    status: ControllerStatus | None, *, now: datetime, renew_every: timedelta
) -> dict[str, Any]:
    """`ControllerStatus.report`, or `running` false when no controller wrote one."""
    if status is None:
        return {"running": False}
    return status.report(now=now, renew_every=renew_every)


def controller_status_path(data_dir: Path) -> Path:
    """Where the running controller reports on itself (`esl health`, the API, /metrics)."""
    return data_dir / STATUS_FILE_NAME


def write_controller_status(path: Path, status: ControllerStatus) -> None:
    """Replace the file in one rename; a failure is logged, never fatal to the controller."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(status.to_dict(), sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        log.warning("cannot write the controller status to %s: %s", path, error)


def read_controller_status(path: Path) -> ControllerStatus | None:
    """The last status written, or None when no controller has written one."""
    try:
        return ControllerStatus.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("unreadable controller status %s: %s", path, error)
        return None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
