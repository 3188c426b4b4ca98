"""How far the controller looked in a table whose rows wake planning, by their ids.

Label bindings (a label bound anew) and the label history (a BLE label associated anew)
only ever gain rows, so the controller plans from the rows above the highest id it
looked at: a poll with nothing new costs one indexed lookup (the newest id), not a scan.
But an id is taken at INSERT and its row seen at COMMIT: on PostgreSQL, of two writers
at once, the one with the lower id may commit after the other's row was looked at. So
the ids missing below the mark are remembered and looked for again at every poll, until
the pass that covers their rows anyway has come round (`keep_for` after they were found
missing): the id of a transaction rolled back never comes. At most `MAX_GAPS` of them: a
jump in the ids (a sequence restored) is left to that pass too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["MAX_GAPS", "IdWatermark", "ids_missing"]

MAX_GAPS = 500  # ids missing below a mark, looked for again at every poll


@dataclass(slots=True)
class IdWatermark:
    # How long an id missing is looked for: until the pass covering its row has come.
    keep_for: timedelta
    seen: int | None = None  # the highest id looked at (None: not looked yet)
    # The ids below `seen` missing (taken, not committed yet) and since when.
    gaps: dict[int, datetime] = field(default_factory=dict)

    def waiting(self, now: datetime) -> list[int]:
        """The missing ids still looked for at `now`, in order; those missing for longer
        than `keep_for` are forgotten (a rolled-back transaction's, or the pass's now)."""
        for gap in [gap for gap, since in self.gaps.items() if now - since > self.keep_for]:
            del self.gaps[gap]
        return sorted(self.gaps)

    def room(self) -> int:
        """How many more missing ids would be remembered."""
        return MAX_GAPS - len(self.gaps)

    def moved(
        self, newest: int, *, found: Iterable[int], missing: Collection[int], now: datetime
    ) -> None:
        """Looked up to `newest`: of the missing ids, those `found` are there now; the
        new ids `missing` are looked for from `now` (not after the first look: whatever
        comes before it is the start-up's; nor when too many: the pass's)."""
        for gap in found:
            self.gaps.pop(gap, None)
        if self.seen is not None and missing and len(missing) <= self.room():
            self.gaps.update(dict.fromkeys(missing, now))
        self.seen = max(self.seen or 0, newest)


def ids_missing(after: int, upto: int, present: Collection[int]) -> list[int]:
    """The ids in (`after`, `upto`] not in `present`."""
    return [i for i in range(after + 1, upto + 1) if i not in present]
