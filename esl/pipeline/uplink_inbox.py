"""Uplinks heard and not yet settled, bounded per store.

A store gateway's login may publish on its own store's `up` topic as fast as the broker
lets it; nothing there is verified until it is settled (the keys are in the database,
read per batch). Without a bound, one store's login (a compromised gateway, a client
holding its password) could grow the controller's memory without limit and make every
settling round slower for every store. So each store has its own share: past
`per_store` uplinks of one store waiting, that store's further uplinks are dropped and
counted, and every other store's answers keep coming in and being settled.

Dropping an answer loses no truth: its frame is still `sent`, times out and is sent
again, and the label answers the repeat without acting twice (a retry); a dropped
check-in is followed by the next one. What is dropped is counted per store (the
controller status, `esl health`) and logged at most once per `REPORT_EVERY`.

The inbox is filled on the event loop and emptied on the database thread: a lock keeps
each store's count equal to what the list holds.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from gateways.base import Uplink

__all__ = ["REPORT_EVERY", "UplinkInbox"]

log = logging.getLogger(__name__)

# A flood drops thousands a second: one line per minute says who and how many.
REPORT_EVERY = timedelta(minutes=1)


class UplinkInbox:
    """Uplinks in arrival order, at most `per_store` of one store at once."""

    def __init__(self, *, per_store: int) -> None:
        if per_store < 1:
            raise ValueError("a store must be able to hold at least one uplink waiting")
        self.per_store = per_store
        self._uplinks: list[Uplink] = []
        self._waiting: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.dropped: Counter[str] = Counter()  # per store, since start
        self._unreported: Counter[str] = Counter()
        self._next_report: datetime | None = None

    def __len__(self) -> int:
        return len(self._uplinks)

    def waiting(self, store: str) -> int:
        """Uplinks of `store` waiting now."""
        return self._waiting[store]

    def offer(self, uplink: Uplink) -> bool:
        """Keep `uplink`, unless its store's share is full (then it is dropped, counted)."""
        with self._lock:
            if self._waiting[uplink.store] >= self.per_store:
                self.dropped[uplink.store] += 1
                self._unreported[uplink.store] += 1
                return False
            self._waiting[uplink.store] += 1
            self._uplinks.append(uplink)
            return True

    def take(self) -> list[Uplink]:
        """Everything waiting, in arrival order; the inbox is empty after."""
        with self._lock:
            uplinks, self._uplinks = self._uplinks, []
            self._waiting.clear()
            return uplinks

    def put_back(self, uplinks: list[Uplink]) -> None:
        """`uplinks` (taken, not settled) in front of what arrived since, all kept: they
        were within their stores' shares when they came, and a store's count above its
        share only refuses its newer uplinks until the next round takes them."""
        with self._lock:
            self._uplinks[:0] = uplinks
            self._waiting.update(uplink.store for uplink in uplinks)

    def keep_only(self, choose: Callable[[list[Uplink]], list[Uplink]]) -> None:
        """Replace what waits by `choose(what waits)` (a database outage's bound)."""
        with self._lock:
            self._uplinks = choose(self._uplinks)
            self._waiting = Counter(uplink.store for uplink in self._uplinks)

    def report_drops(self, now: datetime) -> Mapping[str, int]:
        """Log what was dropped since the last line, at most once per `REPORT_EVERY`;
        the counts logged (empty when nothing was)."""
        if not self._unreported or (self._next_report is not None and now < self._next_report):
            return {}
        with self._lock:
            reported, self._unreported = self._unreported, Counter()
        log.warning(
            "dropped uplinks over the bound of %d waiting per store: %s (their frames are "
            "sent again after their answer timeout)",
            self.per_store,
            ", ".join(f"{store} {count}" for store, count in sorted(reported.items())),
        )
        self._next_report = now + REPORT_EVERY
        return reported
