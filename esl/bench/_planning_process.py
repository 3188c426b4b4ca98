"""One planning pass in a process of its own, for `esl bench planning`.

    python -m esl.bench._planning_process DATABASE_URL

Builds the controller the way `esl run` does, with a transport that is never started
(planning sends nothing), and runs one planning pass: the queued publications and the
start-up re-plan of every label. Prints one JSON object: the resident memory before the
pass (`baseline_rss_mb`: interpreter, imports, an empty render cache) and its peak
during the pass (`peak_rss_mb`), the frames planned, and the wall and CPU seconds.
Each size runs in a fresh process, so one size's peak cannot hide another's. Not a
suite: the name starts with "_".
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from esl.composition import build_controller, controller_settings
from esl.db.engine import create_engine_for, session_factory
from esl.settings import Settings
from gateways.base import Downlink, Gateway, GatewayEvent, TransportKind
from gateways.errors import GatewayError


class _PlanningOnly(Gateway):
    """The transport of a controller that only plans: sending is a programming error."""

    transport = TransportKind.MQTT

    async def start(self) -> None:
        raise RuntimeError("the planning benchmark never starts its transport")

    async def stop(self) -> None:
        return None

    async def send(self, downlink: Downlink) -> None:
        raise RuntimeError("the planning benchmark sends nothing")

    async def send_all(self, downlinks: Sequence[Downlink]) -> list[GatewayError | None]:
        raise RuntimeError("the planning benchmark sends nothing")

    async def events(self) -> AsyncIterator[GatewayEvent]:
        return
        yield  # an async generator that ends at once

    @property
    def max_in_flight(self) -> int:
        return 1


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def main(database_url: str) -> dict[str, float]:
    sessions = session_factory(create_engine_for(database_url))
    controller = build_controller(
        controller_settings(Settings.defaults()),
        gateway=_PlanningOnly(),
        sessions=sessions,
        clock=lambda: datetime.now(UTC),
        rng=random.Random(0),
    )
    baseline = _rss_mb("VmRSS")
    started, cpu_started = time.perf_counter(), time.process_time()
    planned = controller.plan_due_work()
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    controller.executor.shutdown()
    return {
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(max(_rss_mb("VmHWM"), baseline), 1),
        "planned": planned,
        "seconds": round(seconds, 3),
        "cpu_s": round(cpu_s, 3),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
