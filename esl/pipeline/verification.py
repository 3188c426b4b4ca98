"""Verify uplinks with the answering label's own key: forged bytes never reach the outbox.

A store gateway relays whatever its labels send, and anything on the store network may
publish on a gateway's `up` topic, so every response is checked: its header names the
label, the label's key verifies the MAC, and only then are its fields believed. Keys are
read from the database for every batch, never kept: a label given a new key (a BLE label
unassociated and associated again) is verified with it from the next batch on, and
whatever is signed with the forgotten key is a forgery. A genuine answer counts only on
its own store's topics: the broker lets a gateway login publish on its own store's alone,
so one on another store's topic was relayed by a login that has no business with the
label. Forgeries, answers via another store and bytes from unknown labels are counted and
logged; the first two, naming a registered label, are also security events
(`take_events`). The log says so once a minute per store and kind, with how many it left
out: a store's login flooding junk must not write a line per message (1.8 million lines
in four minutes of `esl bench pipeline`'s flood).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from esl.pipeline.security_events import SecurityEvent, SecurityEventKind
from gateways.base import Uplink
from gateways.protocol import FrameRejectedError, LabelResponse, decode_response, peek_header

__all__ = ["LabelKey", "UplinkVerifier", "VerificationCounts"]

log = logging.getLogger(__name__)

# One warning per store and kind of refused uplink in this long; the counts keep them all.
LOG_EVERY: Final = timedelta(seconds=60)


class LabelKey(NamedTuple):
    """A registered label's key and the store it belongs to."""

    key: bytes
    store: str


KeyLoader = Callable[[Collection[str]], Mapping[str, LabelKey]]


class _ThrottledLog:
    """Warnings of refused uplinks, one per (store, kind) per `LOG_EVERY`: the first of
    each interval is logged and says how many were left out since the last line."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._last: dict[tuple[str, str], datetime] = {}
        self._left_out: dict[tuple[str, str], int] = {}

    def warn(self, store: str, kind: str, message: str, *args: object) -> None:
        key, now = (store, kind), self._clock()
        last = self._last.get(key)
        if last is not None and now - last < LOG_EVERY:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            return
        self._last[key] = now
        left_out = self._left_out.pop(key, 0)
        more = f" ({left_out} more since the last line)" if left_out else ""
        log.warning(message + "%s", *args, more)


@dataclass(slots=True)
class VerificationCounts:
    verified: int = 0
    forged: int = 0  # MAC or framing failed: a rogue client or a damaged relay
    unknown_label: int = 0  # names a label the controller never registered
    other_store: int = 0  # genuine, on the topic of a store the label is not in


class UplinkVerifier:
    """Turns uplinks into verified `LabelResponse`s; `load_keys` reads a batch's keys."""

    def __init__(self, load_keys: KeyLoader, *, clock: Callable[[], datetime]) -> None:
        self._load_keys = load_keys
        self._clock = clock
        self._events: list[SecurityEvent] = []
        self._log = _ThrottledLog(clock)
        self.counts = VerificationCounts()

    def take_events(self) -> list[SecurityEvent]:
        """The security events found since the last call (the caller records them)."""
        events, self._events = self._events, []
        return events

    def verify(self, uplinks: list[Uplink]) -> list[tuple[Uplink, LabelResponse]]:
        labels: list[str | None] = []
        for uplink in uplinks:
            try:
                labels.append(peek_header(uplink.payload).label_id)
            except FrameRejectedError:
                labels.append(None)
        named = {label for label in labels if label is not None}
        keys = self._load_keys(named) if named else {}
        verified: list[tuple[Uplink, LabelResponse]] = []
        for uplink, label_id in zip(uplinks, labels, strict=True):
            registered = keys.get(label_id) if label_id is not None else None
            if label_id is not None and registered is None:
                self.counts.unknown_label += 1
                self._log.warn(
                    uplink.store,
                    "unknown label",
                    "uplink from %s/%s names unknown label %s",
                    uplink.store,
                    uplink.gateway,
                    label_id,
                )
                continue
            response = None if registered is None else _decoded(uplink.payload, registered.key)
            if response is None:
                self.counts.forged += 1
                self._log.warn(
                    uplink.store,
                    "unverifiable",
                    "ignored an unverifiable uplink on %s/%s (%d bytes, label %s)",
                    uplink.store,
                    uplink.gateway,
                    len(uplink.payload),
                    label_id,
                )
                if label_id is not None:
                    self._events.append(
                        SecurityEvent.on_uplink(
                            uplink,
                            SecurityEventKind.FORGED_ANSWER,
                            label_id=label_id,
                            label_store=None if registered is None else registered.store,
                            sequence=None,
                            detail=f"uplink of {len(uplink.payload)} bytes fails the label's MAC",
                            at=self._clock(),
                        )
                    )
                continue
            assert registered is not None  # verified with its key
            if registered.store != uplink.store:
                self._from_another_store(uplink, response, registered.store)
                continue
            self.counts.verified += 1
            verified.append((uplink, response))
        return verified

    def _from_another_store(self, uplink: Uplink, response: LabelResponse, store: str) -> None:
        self.counts.other_store += 1
        self._log.warn(
            uplink.store,
            "other store",
            "security: ignored an answer of %s (store %s, seq %d) published on %s/%s: "
            "another store's login relays it",
            response.label_id,
            store,
            response.sequence,
            uplink.store,
            uplink.gateway,
        )
        self._events.append(
            SecurityEvent.on_uplink(
                uplink,
                SecurityEventKind.OTHER_STORE,
                label_id=response.label_id,
                label_store=store,
                sequence=response.sequence,
                detail=f"an answer of a label of store {store} on store {uplink.store}'s topic",
                at=self._clock(),
            )
        )


def _decoded(payload: bytes, key: bytes) -> LabelResponse | None:
    try:
        return decode_response(payload, key=key)
    except (FrameRejectedError, ValueError):
        return None
