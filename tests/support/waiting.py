"""Waiting in an async test for what another task, thread or process does.

Poll the very condition the test then asserts, on the running loop (whatever brings it
about may run there too), with a generous bound: the CI machine has two loaded cores.
When it does not come, the failure says what was awaited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["until"]


async def until(
    condition: Callable[[], object], *, what: str, timeout_s: float, poll_s: float = 0.05
) -> None:
    """Return once `condition()` is true; fail after `timeout_s` naming `what`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        await asyncio.sleep(poll_s)
