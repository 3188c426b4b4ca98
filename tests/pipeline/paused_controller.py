"""Holding a running controller's database work at a known point, and waiting on a
condition with a deadline (not a sleep), for the outage tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
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


async def until(condition: Callable[[], bool], *, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)
