"""Clocks for tests: one a test moves by hand, the wall clock, and an accelerated one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.support.database import START

__all__ = ["SIM_SPEED", "Clock", "fast_clock", "wall_clock"]

SIM_SPEED = 20.0  # simulated seconds per wall-clock second


@dataclass
class Clock:
    """The time the app sees; a test moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def wall_clock() -> datetime:
    return datetime.now(UTC)


def fast_clock(start: datetime, speed: float = SIM_SPEED) -> Callable[[], datetime]:
    origin = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=(time.monotonic() - origin) * speed)

    return now
