"""When a periodic step of the controller is due, on a host clock that may be set back.

The controller times its periodic steps (lease renewal, the status report, the ledger
look, keep-alive pings, the re-plan...) on its clock, which on a real host is the wall
clock: NTP may set it back. A next turn computed before that lies further ahead than one
period, and waiting for it stalled the step for as long as the clock had been off: an
hour-fast host set right stopped renewing its lease and rewriting its status file for an
hour, so a controller killed meanwhile still read as running (`esl health`, the API,
`esl_controller_up`) and held its lease. A turn further ahead than its period is due.

Unlike the stamps judged by `stamps_ahead.stamped_ahead`, no margin for a small step
back (NTP's second or two): a step taken a period early costs one turn (a lease renewed,
a status file written again), while waiting out the step could let a lease lapse.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["due"]


def due(next_turn: datetime | None, *, now: datetime, every: timedelta) -> bool:
    """Whether a step taken every `every`, next at `next_turn` (None: never taken), is
    due at `now`: its turn has come, or lies beyond one period (the clock was set back)."""
    return next_turn is None or now >= next_turn or next_turn - now > every
