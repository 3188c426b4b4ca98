"""When to send a frame again, and when to stop and park it: a pure policy.

Attempt n (1-based) that went unanswered waits `base * 2**(n-1)`, capped at `cap`, then
stretched by a random factor in [1 - jitter, 1 + jitter] from the RNG passed in, so
thousands of labels that missed the same gateway restart do not all come back in the
same instant. After `max_attempts` sends without a settling answer the update is parked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    ack_timeout: timedelta = timedelta(seconds=120)
    base_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=10)
    jitter: float = 0.2
    max_attempts: int = 5
    # A label that answers "busy" is alive and refreshing its panel (three-colour e-paper
    # takes about 15 s): asking again sooner only spends its battery and our attempts.
    busy_delay: timedelta = timedelta(seconds=20)
    # How long a frame its gateway keeps reporting WAITING (queued at its radio) is waited
    # for, counted from the update's first send: the gateway's queue has no fixed length,
    # so this bounds what a gateway that never gets to the label can hold it `sent`.
    waiting_limit: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("a frame needs at least one attempt")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"jitter {self.jitter} outside [0, 1)")
        if self.base_delay <= timedelta(0) or self.max_delay < self.base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        if self.ack_timeout <= timedelta(0):
            raise ValueError("the acknowledgement timeout must be positive")
        if self.waiting_limit < self.ack_timeout:
            raise ValueError("the waiting limit must be at least the acknowledgement timeout")

    def delay_after(self, attempts: int, *, rng: random.Random, busy: bool = False) -> timedelta:
        """How long to wait before the next send, after `attempts` sends; at least
        `busy_delay` when the label said it was busy."""
        if attempts < 1:
            return timedelta(0)
        # Capping the exponent first keeps 2**n from growing without bound.
        exponent = min(attempts - 1, 32)
        nominal = min(self.base_delay * (2**exponent), self.max_delay)
        if busy:
            nominal = max(nominal, self.busy_delay)
        factor = 1.0 + rng.uniform(-self.jitter, self.jitter)
        delay: timedelta = nominal * factor
        return delay

    @property
    def longest_delay(self) -> timedelta:
        """No delay `delay_after` gives is longer: a row waiting further ahead than this
        was given its delay by a clock since set back (dispatch)."""
        longest: timedelta = max(self.max_delay, self.busy_delay) * (1.0 + self.jitter)
        return longest

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
