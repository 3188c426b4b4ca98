"""Waiting in an async test for what another task, thread or process does.

Poll the very condition the test then asserts, on the running loop (whatever brings it
about may run there too), with a generous bound: the CI machine has two loaded cores.
When it does not come, the failure says what was awaited.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

__all__ = ["run_in_a_thread_of_its_own", "until"]


async def until(
    condition: Callable[[], object], *, what: str, timeout_s: float, poll_s: float = 0.05
) -> None:
    """Return once `condition()` is true; fail after `timeout_s` naming `what`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        await asyncio.sleep(poll_s)


def run_in_a_thread_of_its_own(
    scenario: Callable[[], Awaitable[None]], *, name: str, timeout_s: float = 120
) -> None:
    """Run the coroutine `scenario()` to its end on an event loop of its own thread (the
    browser tests beside it hold this thread's loop); its failure is raised here."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_awaited(scenario))
        except BaseException as error:  # reported to the test thread
            failure.append(error)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"{name} did not end within {timeout_s:g} s"
    if failure:
        raise failure[0]


async def _awaited(scenario: Callable[[], Awaitable[None]]) -> None:
    await scenario()
