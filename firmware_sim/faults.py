"""The knobs that make the simulated radio and labels misbehave, reproducibly.

Every random choice (which frame is lost, which label is out of range or flat) comes from
one `random.Random(seed)`, so a failing test replays exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["FaultPlan", "RadioConditions", "SimulatedRadio"]


@dataclass(frozen=True, slots=True)
class RadioConditions:
    """Each transmission is lost with `loss_rate`; a delivered downlink frame arrives
    twice with `duplicate_rate`; each hop takes `latency_ms` plus up to `jitter_ms`."""

    loss_rate: float = 0.0
    duplicate_rate: float = 0.0
    latency_ms: int = 0
    jitter_ms: int = 0

    def __post_init__(self) -> None:
        for name in ("loss_rate", "duplicate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} {value} outside 0..1")
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("latency and jitter cannot be negative")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What goes wrong during a simulated run, measured from the gateway's start.

    - `offline_rate` of the labels (or exactly `offline_labels` of them, when given) are
      out of radio range from `offline_after_s` for `offline_for_s` seconds (they miss
      their check-ins, then come back);
    - `flat_battery_rate` of the labels have a battery at `flat_battery_mv` (below the
      refresh threshold: they answer, but refuse to refresh);
    - `restart_after_s`: the gateway restarts once, losing what it held in memory.
    """

    seed: int = 0
    radio: RadioConditions = field(default_factory=RadioConditions)
    offline_rate: float = 0.0
    offline_labels: int | None = None
    offline_after_s: float = 0.0
    offline_for_s: float = 0.0
    flat_battery_rate: float = 0.0
    flat_battery_mv: int = 2_300
    restart_after_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("offline_rate", "flat_battery_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} {value} outside 0..1")
        if self.offline_labels is not None and self.offline_labels < 0:
            raise ValueError("offline_labels cannot be negative")
        if self.offline_after_s < 0 or self.offline_for_s < 0:
            raise ValueError("offline window cannot be negative")
        if self.restart_after_s is not None and self.restart_after_s < 0:
            raise ValueError("restart_after_s cannot be negative")


class SimulatedRadio:
    """Decides, per transmission, whether and when copies of a frame arrive."""

    __slots__ = ("_rng", "conditions", "duplicated", "lost", "transmissions")

    def __init__(self, conditions: RadioConditions, rng: random.Random) -> None:
        self.conditions = conditions
        self._rng = rng
        self.transmissions = 0
        self.lost = 0
        self.duplicated = 0

    def transmit(self, *, allow_duplicate: bool) -> tuple[int, ...]:
        """Delays in ms of each copy that arrives: () lost, (d,) once, (d1, d2) twice."""
        self.transmissions += 1
        conditions = self.conditions
        if conditions.loss_rate and self._rng.random() < conditions.loss_rate:
            self.lost += 1
            return ()
        first = self._delay()
        duplicate_rate = conditions.duplicate_rate if allow_duplicate else 0.0
        if duplicate_rate and self._rng.random() < duplicate_rate:
            self.duplicated += 1
            return (first, first + self._delay() + 1)
        return (first,)

    def _delay(self) -> int:
        jitter = self.conditions.jitter_ms
        return self.conditions.latency_ms + (self._rng.randint(0, jitter) if jitter else 0)
