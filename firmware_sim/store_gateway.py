"""The store gateway's relay logic: hold frames per label, deliver at check-in, relay answers.

Transport-free and clock-free: the MQTT runner (or a test) calls `submit` with each frame
from the controller and `advance(now=...)` to let simulated time pass; `advance` returns
the label responses to publish. Inside, a discrete-event queue plays the radio:

- each label wakes on its own check-in interval (as OpenEPaperLink tags do, about every
  40 s); a label out of range or with a dead battery is not heard;
- with `listening`, labels also listen for frames between check-ins (the fast-response
  mode some vendors' labels have, paid for in battery): the gateway wakes the label as
  soon as a frame for it arrives; one it cannot reach gets the frame at its check-in;
- on a check-in the gateway sends the label's pending frames in the order of
  `gateways.protocol.delivery_order`, the store gateway process's: the frames with the
  same opcode form a group, the groups go in the order of each group's newest sequence,
  and within a group the newest goes first (the label then refuses the older ones as
  stale instead of drawing each in turn); every copy may be lost, delayed or duplicated
  by the radio;
- a frame stays pending until the label's answer *to that frame* is heard; a refusal the
  label calls transient (busy, battery) keeps it pending for the next check-in; after
  `max_attempts` deliveries or `pending_ttl_s` seconds it is dropped and the controller,
  which heard nothing, resends.

The gateway reads only cleartext headers; it holds no keys and cannot forge anything, nor
tell a genuine frame from a forged copy. So no frame ever displaces another: every
distinct frame for a label is kept (keyed by its bytes, so an identical QoS 1 duplicate
is one frame), up to `max_pending_per_label`; past that, new frames are refused, never
the held ones dropped. A forged copy with the same label and sequence as a genuine frame
is delivered alongside it, and the label, which checks the MAC, takes only the genuine.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from firmware_sim.faults import FaultPlan, SimulatedRadio
from firmware_sim.label import SimulatedLabel
from gateways.protocol import (
    FrameKind,
    FrameRejectedError,
    ReasonCode,
    from_wire_ms,
    header_opcode,
    peek_header,
    to_wire_ms,
)
from gateways.protocol.delivery_order import delivery_order

__all__ = ["GatewayStats", "PendingFrame", "StoreGatewaySim"]


class _Event(IntEnum):
    CHECK_IN = 0
    DELIVER = 1
    UPLINK = 2
    WAKE = 3


@dataclass(slots=True)
class PendingFrame:
    sequence: int
    opcode: int
    data: bytes
    received_ms: int
    attempts: int = 0


@dataclass(slots=True)
class GatewayStats:
    frames_received: int = 0
    frames_refused: int = 0  # the label's queue was full: refused, nothing held dropped
    frames_unroutable: int = 0
    frames_expired: int = 0
    deliveries: int = 0
    responses_published: int = 0
    check_ins_heard: int = 0
    check_ins_missed: int = 0
    restarts: int = 0


@dataclass(slots=True)
class _Offline:
    label_ids: frozenset[str] = frozenset()
    start_ms: int = 0
    end_ms: int = 0

    def covers(self, label_id: str, now_ms: int) -> bool:
        return self.start_ms <= now_ms < self.end_ms and label_id in self.label_ids


@dataclass(slots=True)
class StoreGatewaySim:
    """One store gateway and the labels in its radio range."""

    store: str
    gateway: str
    labels: dict[str, SimulatedLabel]
    start: datetime
    faults: FaultPlan = field(default_factory=FaultPlan)
    check_in_interval_s: float = 40.0
    max_attempts: int = 5
    pending_ttl_s: float = 1200.0
    report_check_ins: bool = False
    listening: bool = False
    max_pending_per_label: int = 16
    stats: GatewayStats = field(init=False, default_factory=GatewayStats)
    # Frames waiting for their label's next check-in: label id -> frame digest -> frame.
    pending: dict[str, dict[bytes, PendingFrame]] = field(init=False, default_factory=dict)
    # (due ms, order, kind, label, payload, digest of the frame an uplink answers)
    _events: list[tuple[int, int, _Event, str, bytes, bytes]] = field(
        init=False, default_factory=list
    )
    _order: int = field(init=False, default=0)
    _waking: set[str] = field(init=False, default_factory=set)  # a WAKE event is queued
    # Labels that took a frame since `take_changed()`: their owner persists them before
    # their answers leave (write-ahead), as a real panel keeps its image through any crash.
    _changed: set[str] = field(init=False, default_factory=set)
    _outbox: list[bytes] = field(init=False, default_factory=list)
    _rng: random.Random = field(init=False)
    _radio: SimulatedRadio = field(init=False)
    _offline: _Offline = field(init=False, default_factory=_Offline)
    _start_ms: int = field(init=False, default=0)
    _restarted: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if self.check_in_interval_s <= 0 or self.pending_ttl_s <= 0:
            raise ValueError("check-in interval and pending TTL must be positive")
        if self.max_attempts < 1:
            raise ValueError("a frame needs at least one delivery attempt")
        if self.max_pending_per_label < 1:
            raise ValueError("a label's queue must hold at least one frame")
        self._rng = random.Random(self.faults.seed)
        self._radio = SimulatedRadio(self.faults.radio, self._rng)
        self._start_ms = to_wire_ms(self.start)
        ordered = sorted(self.labels)
        faults = self.faults
        if faults.offline_labels is not None:
            offline = set(self._rng.sample(ordered, min(faults.offline_labels, len(ordered))))
        else:
            offline = {i for i in ordered if self._rng.random() < faults.offline_rate}
        self._offline = _Offline(
            label_ids=frozenset(offline),
            start_ms=self._start_ms + int(faults.offline_after_s * 1000),
            end_ms=self._start_ms + int((faults.offline_after_s + faults.offline_for_s) * 1000),
        )
        for label_id in ordered:
            if self._rng.random() < faults.flat_battery_rate:
                label = self.labels[label_id]
                label.set_battery_mv(min(label.battery_mv, faults.flat_battery_mv))
        self._schedule_check_ins(self._start_ms)

    # ------------------------------------------------------------ controller side

    @property
    def interval_ms(self) -> int:
        return max(1, int(self.check_in_interval_s * 1000))

    @property
    def radio(self) -> SimulatedRadio:
        return self._radio

    @property
    def offline_label_ids(self) -> frozenset[str]:
        return self._offline.label_ids

    def submit(self, frame: bytes, *, now: datetime) -> bool:
        """Take a frame from the controller; False when it cannot be routed to a label."""
        self.stats.frames_received += 1
        try:
            header = peek_header(frame)
        except FrameRejectedError:
            self.stats.frames_unroutable += 1
            return False
        opcode = header_opcode(frame, header)
        if header.kind is not FrameKind.COMMAND or opcode is None:
            self.stats.frames_unroutable += 1
            return False
        if header.label_id not in self.labels:
            self.stats.frames_unroutable += 1
            return False
        queue = self.pending.setdefault(header.label_id, {})
        digest = _digest(frame)
        if digest in queue:
            return True  # the same bytes again (a QoS 1 redelivery): already held
        if len(queue) >= self.max_pending_per_label:
            # Without keys the gateway cannot tell which frame is genuine: refuse the new
            # one rather than drop one it holds (the controller resends after a timeout).
            self.stats.frames_refused += 1
            return False
        now_ms = to_wire_ms(now)
        queue[digest] = PendingFrame(header.sequence, opcode, frame, now_ms)
        if self.listening and header.label_id not in self._waking:
            self._waking.add(header.label_id)
            self._push(now_ms, _Event.WAKE, header.label_id, b"")
        return True

    def pending_count(self) -> int:
        return sum(len(queue) for queue in self.pending.values())

    def advance(self, *, now: datetime) -> list[bytes]:
        """Run the radio up to `now`; return the label responses heard, oldest first."""
        now_ms = to_wire_ms(now)
        events = self._events
        while events and events[0][0] <= now_ms:
            due_ms, _, kind, label_id, payload, about = heapq.heappop(events)
            if kind is _Event.CHECK_IN:
                self._check_in(label_id, due_ms)
            elif kind is _Event.DELIVER:
                self._deliver(label_id, payload, due_ms)
            elif kind is _Event.WAKE:
                self._wake(label_id, due_ms)
            else:
                self._hear(label_id, payload, about)
        outbox, self._outbox = self._outbox, []
        self.stats.responses_published += len(outbox)
        return outbox

    def pass_idle_time(self, *, now: datetime) -> None:
        """An idle stretch passed at once (a test moved its clock to `now`): each label's
        next check-in is the first one it makes from `now` on, on its own schedule.
        Otherwise `advance` makes every check-in missed meanwhile, with its old time,
        all in one call: for a store of hundreds of labels and a jump of minutes,
        hundreds of thousands of stale reports that hold the event loop and reach the
        controller long after they were made. For a stretch shorter than a label keeps
        its key without contact (two hours): the next check-in keeps it in sync."""
        now_ms = to_wire_ms(now)
        interval = self.interval_ms
        events = []
        for due_ms, order, kind, label_id, payload, about in self._events:
            if kind is _Event.CHECK_IN and due_ms < now_ms:
                due_ms += -(-(now_ms - due_ms) // interval) * interval  # the next >= now
            events.append((due_ms, order, kind, label_id, payload, about))
        heapq.heapify(events)
        self._events = events

    def take_changed(self) -> list[SimulatedLabel]:
        """The labels that took a frame since the last call (to persist them)."""
        changed, self._changed = self._changed, set()
        return [self.labels[label_id] for label_id in sorted(changed) if label_id in self.labels]

    def next_event_at(self) -> datetime | None:
        return from_wire_ms(self._events[0][0]) if self._events else None

    # ------------------------------------------------------------ restarts

    def restart_due(self, *, now: datetime) -> bool:
        after = self.faults.restart_after_s
        if after is None or self._restarted:
            return False
        return to_wire_ms(now) >= self._start_ms + int(after * 1000)

    def restart(self, *, now: datetime, labels: Iterable[SimulatedLabel] | None = None) -> None:
        """Lose everything held in memory (pending frames, frames in the air), as a power
        cycle does; `labels` replaces the label objects (reloaded from their storage)."""
        self._restarted = True
        self.stats.restarts += 1
        self.pending.clear()
        self._events.clear()
        self._waking.clear()
        self._outbox.clear()
        if labels is not None:
            self.labels = {label.label_id: label for label in labels}
        self._schedule_check_ins(to_wire_ms(now))

    # ------------------------------------------------------------ the radio

    def _schedule_check_ins(self, from_ms: int) -> None:
        interval = self.interval_ms
        for label_id in sorted(self.labels):
            self._push(from_ms + self._rng.randrange(interval), _Event.CHECK_IN, label_id, b"")

    def _push(
        self, due_ms: int, kind: _Event, label_id: str, payload: bytes, about: bytes = b""
    ) -> None:
        self._order += 1
        heapq.heappush(self._events, (due_ms, self._order, kind, label_id, payload, about))

    def _check_in(self, label_id: str, now_ms: int) -> None:
        self._push(now_ms + self.interval_ms, _Event.CHECK_IN, label_id, b"")
        if label_id not in self.labels:
            return
        label = self._reach(label_id, now_ms)
        if label is None:
            self.stats.check_ins_missed += 1
            return
        self.stats.check_ins_heard += 1
        if self.report_check_ins:
            report = label.status_report(now=from_wire_ms(now_ms))
            if report is not None:
                self._outbox.append(report)
        self._send_pending(label_id, now_ms)

    def _wake(self, label_id: str, now_ms: int) -> None:
        """Wake a listening label for the frames that just arrived (no check-in report);
        one out of reach gets them at its next check-in."""
        self._waking.discard(label_id)
        if self._reach(label_id, now_ms) is not None:
            self._send_pending(label_id, now_ms)

    def _reach(self, label_id: str, now_ms: int) -> SimulatedLabel | None:
        """The label, awake and heard (then in sync with the gateway), or None."""
        label = self.labels.get(label_id)
        if label is None:
            return None
        now = from_wire_ms(now_ms)
        if (
            not label.check_in(now=now)
            or self._offline.covers(label_id, now_ms)
            or not self._radio.transmit(allow_duplicate=False)
        ):
            return None
        label.synchronize(now=now)
        return label

    def _send_pending(self, label_id: str, now_ms: int) -> None:
        """Transmit the label's pending frames in `delivery_order`: grouped by opcode, the
        groups by their newest sequence, the newest of each group first (the label
        refuses the older ones as stale without drawing them)."""
        queue = self.pending.get(label_id)
        if not queue:
            return
        ttl_ms = int(self.pending_ttl_s * 1000)
        for frame in delivery_order(queue.values()):
            digest = _digest(frame.data)  # its key in the queue
            if frame.attempts >= self.max_attempts or now_ms - frame.received_ms > ttl_ms:
                del queue[digest]
                self.stats.frames_expired += 1
                continue
            frame.attempts += 1
            for delay in self._radio.transmit(allow_duplicate=True):
                self._push(now_ms + delay, _Event.DELIVER, label_id, frame.data)
        if not queue:
            del self.pending[label_id]

    def _deliver(self, label_id: str, frame: bytes, now_ms: int) -> None:
        label = self.labels.get(label_id)
        if label is None:
            return
        self.stats.deliveries += 1
        self._changed.add(label_id)
        response = label.receive(frame, now=from_wire_ms(now_ms))
        if response is None:
            return
        for delay in self._radio.transmit(allow_duplicate=False):
            self._push(now_ms + delay, _Event.UPLINK, label_id, response, _digest(frame))

    def _hear(self, label_id: str, response: bytes, about: bytes) -> None:
        """A label's answer to the frame `about` (its digest) reached the gateway: settle
        that frame, and only that one (a copy with the same sequence stays), publish it."""
        try:
            header = peek_header(response)
        except FrameRejectedError:
            return
        reason_offset = header.size + 1  # opcode u8, then reason u8
        transient = False
        if len(response) > reason_offset:
            try:
                transient = ReasonCode(response[reason_offset]).is_transient
            except ValueError:
                transient = False
        queue = self.pending.get(label_id)
        if queue and not transient and header.label_id == label_id:
            queue.pop(about, None)
            if not queue:
                del self.pending[label_id]
        self._outbox.append(response)


def _digest(frame: bytes) -> bytes:
    return hashlib.blake2b(frame, digest_size=16).digest()
