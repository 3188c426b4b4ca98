"""Holding a running controller's database work at a known point, for the outage tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from esl.pipeline import UpdateController


@contextmanager
def paused_database_work(controller: UpdateController) -> Iterator[None]:
    """Within the block, the controller touches no database: its planning and
    dispatching run on one worker thread, which waits here (what was under way when the
    block began has finished by the time it starts)."""
    entered, gate = threading.Event(), threading.Event()

    def wait_at_gate() -> None:
        entered.set()
        gate.wait(timeout=120)

    controller.dispatcher.executor.submit(wait_at_gate)
    try:
        if not entered.wait(timeout=60):
            raise AssertionError("the controller's worker never reached the gate")
        yield
    finally:
        gate.set()
