"""The dispatcher: outbox rows out through a `Gateway`, verified answers back into the database.

One asyncio task, the clock and the RNG passed in. The database is the truth, memory
only a cache of it:

- per store gateway at most `window` frames are in flight; the next due frame goes out
  when an answer (or a timeout) frees a slot, so a store is fed as fast as its labels
  answer and the broker never queues a firehose;
- a frame unanswered after `policy.ack_timeout` goes back to `pending` with an
  exponential, jittered backoff; after `policy.max_attempts` sends it is `parked` with a
  reason, and retried when the label is heard again (a check-in or any other answer);
- every uplink is verified with its label's key, matched to its outbox row by
  (label, sequence) and settled in one transaction per batch of answers; a late answer
  to a superseded frame is history, never the newer content's confirmation;
- what an answer says the label shows is believed only when it is newer, in the label's
  own signed order, than every claim already held (`answer_acceptance`): a replayed,
  duplicated or reordered answer is counted and logged, never applied;
- a frame the controller signed that reaches its label altered (BAD_MAC and the like) is
  re-signed with a new sequence and sent again, a security event each time, and parked
  as "tampered in transit" only when the attempts run out;
- on start, frames left `sent` by a previous run are due again: a duplicate is
  answered by the label without acting twice, a lost one is not forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from esl.db.bulk import insert_rows
from esl.db.models import (
    GatewayStateRow,
    LabelAcknowledgementRow,
    LabelRow,
    core_table,
)
from esl.pipeline.answer_acceptance import (
    Refusal,
    accept_claim,
    health_is_newer,
    held_claim,
    judge_answer,
    note_health,
)
from esl.pipeline.check_ins import (
    CheckInVerdict,
    answered_sequences,
    check_in_verdict,
    open_update_labels,
    reconcile,
)
from esl.pipeline.database_outage import DatabaseOutage, is_database_outage
from esl.pipeline.label_actions import (
    LabelActionSender,
    answer_label_actions,
    signed_action_sequences,
)
from esl.pipeline.label_states import (
    ANSWERED_COLUMNS,
    LabelState,
    load_label_states,
    save_label_states,
)
from esl.pipeline.outbox_rows import OUTBOX, OutboxEntry, outbox_entries, save_outbox_entries
from esl.pipeline.planning import LabelPlanner
from esl.pipeline.retry import RetryPolicy
from esl.pipeline.security_events import (
    SecurityEvent,
    SecurityEventKind,
    record_security_events,
)
from esl.pipeline.verdicts import INTEGRITY_FAILURES, ParkReason, Verdict, verdict_for
from esl.pipeline.verification import UplinkVerifier
from esl.pipeline.waiting_uplinks import waiting_uplinks
from gateways.base import (
    Clock,
    Downlink,
    Gateway,
    GatewayEvent,
    GatewayState,
    GatewayStatus,
    TransportStatus,
    Uplink,
)
from gateways.errors import GatewayError
from gateways.protocol import (
    MAC_SIZE,
    BasicStateFlag,
    FrameKind,
    LabelFrame,
    LabelResponse,
    PackedCommand,
    build_image_update,
    encode_frame,
    peek_header,
    sign_packed,
)

__all__ = ["DispatchCounts", "Dispatcher"]

log = logging.getLogger(__name__)

GatewayKey = tuple[str, str]  # (store, gateway)
# Parked for these reasons, an update is worth another try as soon as the label is heard.
# How often to look for store gateways that got work (planning adds them sooner).
_GATEWAY_SCAN = timedelta(seconds=1)
_RETRY_WHEN_HEARD = (ParkReason.OFFLINE.value, ParkReason.FLAT_BATTERY.value)
_NEVER = datetime.max.replace(tzinfo=UTC)
# Duplicates are everyday QoS 1 and radio life; a busy or stale refusal is protocol
# traffic that only places no claim. Replays, reordering and unsigned sequences warn.
_REFUSAL_LOG_LEVEL = {Refusal.DUPLICATE: logging.INFO, Refusal.NOT_TAKEN: logging.DEBUG}


@dataclass(slots=True)
class _Flight:
    row_id: int
    label_id: str
    sequence: int
    deadline: datetime


@dataclass(slots=True)
class DispatchCounts:
    sent: int = 0
    acked: int = 0
    retried: int = 0
    parked: int = 0
    late_answers: int = 0
    stale_answers: int = 0
    check_ins: int = 0
    reconciled: int = 0  # labels whose check-in contradicted the record
    # Answers whose claim was not believed, by `Refusal` (replayed, duplicated, unsigned).
    refused_answers: dict[str, int] = field(default_factory=dict)
    # Frames a label received altered, re-signed and sent again (or parked at the end).
    tampered: int = 0


@dataclass(slots=True)
class _GatewayWindow:
    flights: dict[int, _Flight] = field(default_factory=dict)
    online: bool = True
    # No row of this gateway is due before this instant (None: unknown, look). Saves a
    # query per gateway per round while a store has nothing to send.
    idle_until: datetime | None = None


class Dispatcher:
    def __init__(
        self,
        *,
        gateway: Gateway,
        sessions: sessionmaker[Session],
        planner: LabelPlanner,
        clock: Clock,
        rng: random.Random,
        policy: RetryPolicy | None = None,
        window: int = 64,
        batch: int = 1000,
        tick_s: float = 0.02,
        executor: ThreadPoolExecutor | None = None,
        outage: DatabaseOutage | None = None,
        max_waiting: int = 200_000,
        label_actions: LabelActionSender | None = None,
    ) -> None:
        if window < 1:
            raise ValueError("the window must hold at least one frame")
        self.gateway = gateway
        self.sessions = sessions
        self.planner = planner
        self.clock = clock
        self.rng = rng
        self.policy = policy or RetryPolicy()
        self.window = window
        self.batch = batch
        self.tick_s = tick_s
        self.verifier = UplinkVerifier(self._load_keys, clock=clock)
        self.outage = outage or DatabaseOutage(clock=clock)
        self.max_waiting = max_waiting  # answers kept while the database does not answer
        self.counts = DispatchCounts()
        # Flash, ping and refresh a person asked for (esl/pipeline/label_actions.py).
        self.label_actions = label_actions or LabelActionSender()
        # Labels a check-in showed to differ from the record: the controller plans them.
        self.replan_wanted: set[str] = set()
        self._windows: dict[GatewayKey, _GatewayWindow] = {}
        self._flight_of: dict[tuple[str, int], GatewayKey] = {}
        self._uplinks: list[Uplink] = []
        self._statuses: list[GatewayStatus | TransportStatus] = []
        self._gateways_seen_at: datetime | None = None
        self._wake = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        # All database work runs on this one thread: SQLite waits for its lock there,
        # never on the event loop (an API served by the same loop keeps committing).
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="esl-pipeline")

    # ------------------------------------------------------------ running

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set. The gateway must be started already.

        A database that does not answer (locked, restarting, gone) never ends the run:
        each failed round rolled back, so the dispatcher waits (`outage` says how long),
        keeps the answers that arrive meanwhile, and starts over from what the database
        says once it answers.
        """
        loop = asyncio.get_running_loop()
        # Nothing is sent before the database says what is in flight.
        must_recover = True
        events = asyncio.create_task(self._consume_events())
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    if must_recover:
                        await loop.run_in_executor(self.executor, self.start_over)
                        must_recover = False
                    downlinks = await loop.run_in_executor(self.executor, self.work)
                except Exception as error:
                    if not is_database_outage(error):
                        raise
                    # The round's transaction rolled back: start over from the database.
                    must_recover = True
                    # Bounded however long it lasts: a label's newest check-in is enough.
                    self._uplinks = waiting_uplinks(self._uplinks, limit=self.max_waiting)
                    delay = self.outage.failed(error, doing="dispatching")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    continue
                self.outage.answered(doing="dispatching")
                self._hand_over(downlinks)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.tick_s)
        finally:
            events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await events
            for task in list(self._sends):
                task.cancel()

    def recover(self) -> None:
        """Frames a previous run left `sent` are due again now (their answer may be lost)."""
        now = self.clock()
        with self.sessions.begin() as session:
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.status == "sent")
                .values(status="pending", not_before=now)
            )

    def start_over(self) -> None:
        """Forget the in-flight view and take the database's again (at start, and after a
        failed round)."""
        for window in self._windows.values():
            window.flights.clear()
            window.idle_until = None
        self._flight_of.clear()
        self._gateways_seen_at = None
        self.recover()

    def step(self) -> None:
        """One round on the calling thread (tests): `work`, then hand the frames over."""
        self._hand_over(self.work())

    def work(self) -> list[Downlink]:
        """One round of database work: gateway news, answers, timeouts, then the frames
        that fit in the windows (marked sent); the caller hands them to the transport."""
        statuses, self._statuses = self._statuses, []
        for index, status in enumerate(statuses):
            try:
                if isinstance(status, GatewayStatus):
                    self._gateway_status(status)
                else:
                    self._link_restored()
            except BaseException:
                self._statuses[:0] = statuses[index:]  # not applied: next round
                raise
        uplinks, self._uplinks = self._uplinks, []
        for start in range(0, len(uplinks), self.batch):
            try:
                self.settle(uplinks[start : start + self.batch])
            except BaseException:
                # Rolled back: keep what was not settled for the next round, however long
                # the database takes to answer again.
                self._uplinks[:0] = uplinks[start:]
                raise
        self._expire()
        return self._fill_windows() + self._send_label_actions()

    def _send_label_actions(self) -> list[Downlink]:
        replan: set[str] = set()
        with self.sessions.begin() as session:
            downlinks = self.label_actions.due(session, now=self.clock(), replan=replan)
        self.replan_wanted |= replan
        return downlinks

    async def sends_done(self) -> None:
        """Wait until the transport accepted (or refused) every frame handed over."""
        while self._sends:
            await asyncio.gather(*self._sends)

    def notice_new_work(self) -> None:
        """Planning wrote frames: look for their gateways in the next round."""
        self._gateways_seen_at = None
        self._forget_idle()

    def _due_at(self, store: str, gateway: str, instant: datetime) -> None:
        """A row of this gateway comes due at `instant`."""
        window = self._windows.get((store, gateway))
        if window is not None and window.idle_until is not None:
            window.idle_until = min(window.idle_until, instant)

    def _forget_idle(self) -> None:
        """Rows became pending: every gateway may have something due again."""
        for window in self._windows.values():
            window.idle_until = None

    def _hand_over(self, downlinks: list[Downlink]) -> None:
        if not downlinks:
            return
        task = asyncio.get_running_loop().create_task(self._send(downlinks))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _consume_events(self) -> None:
        async for event in self.gateway.events():
            self.handle_event(event)

    def handle_event(self, event: GatewayEvent) -> None:
        if isinstance(event, Uplink):
            self._uplinks.append(event)
            if len(self._uplinks) >= self.batch:
                self._wake.set()
        elif isinstance(event, GatewayStatus) or (
            isinstance(event, TransportStatus) and event.connected
        ):
            self._statuses.append(event)
            self._wake.set()

    def _link_restored(self) -> None:
        # The link to the broker was down: deadlines ran while nothing could travel.
        fresh = self.clock() + self.policy.ack_timeout
        for window in self._windows.values():
            for flight in window.flights.values():
                flight.deadline = max(flight.deadline, fresh)

    # ------------------------------------------------------------ sending

    def _fill_windows(self) -> list[Downlink]:
        now = self.clock()
        with self.sessions.begin() as session:
            if self._gateways_seen_at is None or now - self._gateways_seen_at > _GATEWAY_SCAN:
                # Which gateways have work: a scan of the pending rows, so not every round.
                for store, gateway in session.execute(
                    select(OUTBOX.c.store, OUTBOX.c.gateway)
                    .where(OUTBOX.c.status == "pending")
                    .distinct()
                ):
                    self._windows.setdefault((store, gateway), _GatewayWindow())
                self._gateways_seen_at = now
            sending: list[tuple[GatewayKey, int, str, int, bytes]] = []
            for key, window in list(self._windows.items()):
                free = self.window - len(window.flights)
                if free <= 0 or not window.online:
                    continue
                if window.idle_until is not None and now < window.idle_until:
                    continue
                rows = session.execute(
                    select(OUTBOX.c.id, OUTBOX.c.label_id, OUTBOX.c.sequence, OUTBOX.c.payload)
                    .where(
                        OUTBOX.c.status == "pending",
                        OUTBOX.c.gateway == key[1],
                        OUTBOX.c.not_before <= now,
                        OUTBOX.c.store == key[0],
                    )
                    # The index order (status, gateway, not_before): no sort of the backlog.
                    .order_by(OUTBOX.c.not_before)
                    .limit(free)
                ).all()
                sending += [(key, *row) for row in rows]
                window.idle_until = (
                    None if len(rows) == free else self._next_due(session, key, now) or _NEVER
                )
            if not sending:
                return []
            ids = [row_id for _, row_id, _, _, _ in sending]
            for start in range(0, len(ids), 500):
                session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(ids[start : start + 500]))
                    .values(status="sent", sent_at=now, attempts=OUTBOX.c.attempts + 1)
                )
        deadline = now + self.policy.ack_timeout
        downlinks = []
        for key, row_id, label_id, sequence, payload in sending:
            self._windows[key].flights[row_id] = _Flight(row_id, label_id, sequence, deadline)
            self._flight_of[(label_id, sequence)] = key
            downlinks.append(Downlink(key[0], key[1], label_id, payload))
        self.counts.sent += len(sending)
        return downlinks

    @staticmethod
    def _next_due(session: Session, key: GatewayKey, now: datetime) -> datetime | None:
        """When the gateway's next pending row comes due (a retry waiting out its delay)."""
        due: datetime | None = session.scalar(
            select(func.min(OUTBOX.c.not_before)).where(
                OUTBOX.c.status == "pending",
                OUTBOX.c.gateway == key[1],
                OUTBOX.c.not_before > now,
                OUTBOX.c.store == key[0],
            )
        )
        return due

    async def _send(self, downlinks: list[Downlink]) -> None:
        # A frame the transport refused stays `sent`; its timeout brings it back.
        try:
            outcomes = await self.gateway.send_all(downlinks)
        except GatewayError as error:
            log.warning("sending %d frames failed: %s", len(downlinks), error)
            return
        for downlink, refusal in zip(downlinks, outcomes, strict=True):
            if refusal is not None:
                log.warning("send to %s/%s failed: %s", downlink.store, downlink.gateway, refusal)

    def _release(self, label_id: str, sequence: int, row_id: int | None = None) -> None:
        key = self._flight_of.pop((label_id, sequence), None)
        if key is not None and row_id is not None:
            self._windows[key].flights.pop(row_id, None)
        elif key is not None:
            flights = self._windows[key].flights
            for flight_id, flight in list(flights.items()):
                if flight.label_id == label_id and flight.sequence == sequence:
                    del flights[flight_id]

    def _expire(self) -> None:
        now = self.clock()
        expired: list[_Flight] = []
        for window in self._windows.values():
            # Flights are kept in the order they were sent, so deadlines never decrease
            # along a window: the first one not yet due ends the search.
            for flight in window.flights.values():
                if flight.deadline > now:
                    break
                expired.append(flight)
        if not expired:
            return
        for flight in expired:
            self._release(flight.label_id, flight.sequence, flight.row_id)
        ids = [flight.row_id for flight in expired]
        with self.sessions.begin() as session:
            entries = [
                entry
                for start in range(0, len(ids), 500)
                for entry in outbox_entries(
                    session, OUTBOX.c.id.in_(ids[start : start + 500]), OUTBOX.c.status == "sent"
                )
            ]
            for entry in entries:
                self._retry_or_park(entry, now=now, park_reason=ParkReason.OFFLINE.value)
            save_outbox_entries(session, entries)

    def _retry_or_park(self, entry: OutboxEntry, *, now: datetime, park_reason: str) -> None:
        if self.policy.exhausted(entry.attempts):
            entry.park(park_reason)
            self.counts.parked += 1
            log.info("parked %s seq %d: %s", entry.label_id, entry.sequence, park_reason)
        else:
            busy = park_reason == ParkReason.BUSY.value
            entry.retry_at(now + self.policy.delay_after(entry.attempts, rng=self.rng, busy=busy))
            self._due_at(entry.store, entry.gateway, entry.not_before)
            self.counts.retried += 1

    def _gateway_status(self, status: GatewayStatus) -> None:
        key = (status.store, status.gateway)
        window = self._windows.setdefault(key, _GatewayWindow())
        online = status.state is GatewayState.ONLINE
        came_back = online and not window.online
        window.online = online
        with self.sessions.begin() as session:
            row = session.get(GatewayStateRow, key)
            if row is None:
                session.add(
                    GatewayStateRow(
                        store=status.store,
                        gateway=status.gateway,
                        online=online,
                        reason=status.reason,
                        changed_at=status.received_at,
                    )
                )
            else:
                row.online, row.reason, row.changed_at = online, status.reason, status.received_at
            window.idle_until = None
            if came_back and window.flights:
                # A restarted gateway lost the frames it held: send them again at once.
                ids = list(window.flights)
                session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == "sent")
                    .values(status="pending", not_before=self.clock())
                )
                for flight in list(window.flights.values()):
                    self._release(flight.label_id, flight.sequence, flight.row_id)

    # ------------------------------------------------------------ answers

    def settle(self, uplinks: list[Uplink]) -> None:
        """Verify and apply a batch of uplinks in one transaction."""
        verified = self.verifier.verify(uplinks)
        events = self.verifier.take_events()
        if not verified:
            if events:
                with self.sessions.begin() as session:
                    record_security_events(session, events)
            return
        now = self.clock()
        with self.sessions.begin() as session:
            states = load_label_states(session, {response.label_id for _, response in verified})
            rows = self._answered_rows(session, [response for _, response in verified])
            actions = signed_action_sequences(
                session,
                (
                    (r.label_id, r.sequence)
                    for _, r in verified
                    if r.kind is not FrameKind.CHECK_IN and (r.label_id, r.sequence) not in rows
                ),
            )
            action_answers: list[tuple[int, LabelResponse, datetime]] = []
            history: list[dict[str, Any]] = []
            rebuilt: list[dict[str, Any]] = []
            widened: set[str] = set()  # labels whose sequence or schedule support changed
            checked_in: dict[str, bool] = {}  # label -> can refresh its display
            # label -> its newest check-in, and when it arrived
            check_ins: dict[str, tuple[LabelResponse, datetime]] = {}
            for uplink, response in verified:
                state = states[response.label_id]
                row = rows.get((response.label_id, response.sequence))
                action = actions.get((response.label_id, response.sequence))
                refusal = judge_answer(
                    held_claim(state),
                    response,
                    answers_signed_frame=row is not None or action is not None,
                    last_signed=state.last_sequence,
                )
                if response.kind is FrameKind.CHECK_IN:
                    # A check-in may be older than the claim held (a label reset, restored
                    # or swapped): `_reconcile` weighs what it shows against the record.
                    # Only a sequence never signed for this label, or the very claim already
                    # held again (a duplicate or a replay), is refused outright.
                    if refusal in (Refusal.UNSIGNED_SEQUENCE, Refusal.DUPLICATE):
                        self._refused(uplink, response, refusal)
                        continue
                    if refusal is None:
                        accept_claim(state, response)
                    refusal = None
                    checked_in[response.label_id] = (
                        BasicStateFlag.SERVICE_NEEDED not in response.flags
                    )
                    if _record_health(state, response, uplink.received_at, displayed=False):
                        check_ins[response.label_id] = (response, uplink.received_at)
                elif refusal is None:
                    accept_claim(state, response)
                    _record_health(state, response, uplink.received_at, displayed=True)
                else:
                    if refusal is Refusal.NOT_TAKEN and health_is_newer(state, response):
                        # Alive, and its battery as of its own clock: but no position
                        # for what it shows.
                        note_health(state, response)
                        _record_health(state, response, uplink.received_at, displayed=False)
                    self._refused(uplink, response, refusal)
                was_open = row is not None and row.status not in ("superseded", "acked")
                if action is not None:
                    action_answers.append((action, response, uplink.received_at))
                    acked_hash = None
                else:
                    acked_hash = self._apply(
                        session,
                        state,
                        response,
                        row,
                        now=now,
                        rebuilt=rebuilt,
                        widened=widened,
                        events=events,
                        uplink=uplink,
                    )
                if refusal is not None and not was_open:
                    continue  # nothing believed, nothing settled: no history either
                history.append(
                    {
                        "label_id": response.label_id,
                        "sequence": response.sequence,
                        "reason": response.reason.name,
                        "displayed_hash": response.displayed_hash.hex()
                        if response.displayed_hash and refusal is None
                        else None,
                        "acked_hash": acked_hash,
                        "at": uplink.received_at,
                    }
                )
            self._reconcile(session, states, check_ins, history, rebuilt, now=now, widened=widened)
            save_outbox_entries(session, rows.values())
            save_label_states(
                session, states.values(), columns=None if widened else ANSWERED_COLUMNS
            )
            insert_rows(session, OUTBOX, rebuilt)
            insert_rows(session, core_table(LabelAcknowledgementRow), history)
            record_security_events(session, events)
            answer_label_actions(session, action_answers)
            self._unpark(session, checked_in, now=now)

    def _refused(self, uplink: Uplink, response: LabelResponse, refusal: Refusal) -> None:
        counts = self.counts.refused_answers
        counts[refusal.name] = counts.get(refusal.name, 0) + 1
        log.log(
            _REFUSAL_LOG_LEVEL.get(refusal, logging.WARNING),
            "refused an answer of %s (seq %d, %s) on %s/%s: %s",
            response.label_id,
            response.sequence,
            response.reason.name,
            uplink.store,
            uplink.gateway,
            refusal.value,
        )

    def _answered_rows(
        self, session: Session, responses: list[LabelResponse]
    ) -> dict[tuple[str, int], OutboxEntry]:
        """The outbox rows these responses answer, by (label, sequence), in few queries."""
        wanted = {(r.label_id, r.sequence) for r in responses if r.kind is not FrameKind.CHECK_IN}
        labels = sorted({label for label, _ in wanted})
        sequences = {sequence for _, sequence in wanted}
        found: dict[tuple[str, int], OutboxEntry] = {}
        for start in range(0, len(labels), 500):
            for entry in outbox_entries(
                session,
                OUTBOX.c.label_id.in_(labels[start : start + 500]),
                OUTBOX.c.sequence.in_(sequences),
            ):
                if (entry.label_id, entry.sequence) in wanted:
                    found[(entry.label_id, entry.sequence)] = entry
        return found

    def _apply(
        self,
        session: Session,
        state: LabelState,
        response: LabelResponse,
        row: OutboxEntry | None,
        *,
        now: datetime,
        rebuilt: list[dict[str, Any]],
        widened: set[str],
        events: list[SecurityEvent],
        uplink: Uplink,
    ) -> str | None:
        """Settle the row `response` answers; the content hash it confirms, if any."""
        if response.kind is FrameKind.CHECK_IN:
            self.counts.check_ins += 1
            return None
        self._release(response.label_id, response.sequence, row.id if row else None)
        if row is None:
            self.counts.stale_answers += 1
            return None
        if response.reason in INTEGRITY_FAILURES:
            # Evidence even when the genuine frame got through as well (a forged copy
            # delivered after it): someone altered or injected a frame in our name.
            self.counts.tampered += 1
            log.warning(
                "security: %s answered %s to seq %d, a frame the controller signed: "
                "altered or displaced in transit on %s/%s (row %s, attempt %d)",
                row.label_id,
                response.reason.name,
                row.sequence,
                uplink.store,
                uplink.gateway,
                row.status,
                row.attempts,
            )
            events.append(
                SecurityEvent(
                    at=now,
                    kind=SecurityEventKind.TAMPERED_FRAME,
                    store=row.store,
                    gateway=row.gateway,
                    label_id=row.label_id,
                    sequence=row.sequence,
                    detail=f"{response.reason.name} for a frame the controller signed",
                )
            )
        if row.status in ("superseded", "acked"):
            # Too late to matter: newer content was planned, or this is a duplicate.
            self.counts.late_answers += 1
            return row.content_hash if response.acked else None
        verdict, park_reason = verdict_for(response, scheduled=row.display_at is not None)
        if verdict is Verdict.ACKED:
            row.settle("acked", at=now)
            state.confirmed_hash = row.content_hash
            state.changed = True
            self.counts.acked += 1
            return row.content_hash
        if verdict is Verdict.RETRY:
            self._retry_or_park(row, now=now, park_reason=park_reason)
        elif verdict is Verdict.PARK:
            row.park(park_reason)
            self.counts.parked += 1
        elif verdict is Verdict.SEND_AT_INSTANT:
            state.can_schedule = False
            state.changed = True
            widened.add(state.label_id)
            rebuilt += self._rebuild(
                session, state, row, display_at=None, not_before=row.display_at, now=now
            )
        elif verdict is Verdict.TAMPERED:
            if self.policy.exhausted(row.attempts):
                row.park(park_reason)
                self.counts.parked += 1
            else:
                widened.add(state.label_id)
                rebuilt += self._resign(session, state, row, now=now)
        elif verdict is Verdict.RESEND_FULL:
            widened.add(state.label_id)
            rebuilt += self._rebuild(
                session, state, row, display_at=row.display_at, not_before=now, now=now
            )
        return None

    def _rebuild(
        self,
        session: Session,
        state: LabelState,
        row: OutboxEntry,
        *,
        display_at: datetime | None,
        not_before: datetime | None,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Supersede `row` by a full image of the same content with a fresh sequence
        number: the new outbox row, or none when the image is gone."""
        label = session.get(LabelRow, row.label_id)
        planes = (
            None
            if label is None
            else self.planner.planes_of(session, row.content_hash, model_id=label.model)
        )
        row.settle("superseded", at=now)
        if label is None or planes is None:
            log.warning("cannot rebuild the frame for %s: its image is gone", row.label_id)
            return []
        command = build_image_update(planes, model_id=label.model, display_at=display_at)
        sequence = state.next_sequence()
        payload = encode_frame(
            LabelFrame(label_id=label.id, sequence=sequence, command=command),
            key=label.secret_key,
        )
        self._due_at(row.store, row.gateway, not_before or now)
        return [
            {
                "label_id": label.id,
                "store": row.store,
                "gateway": row.gateway,
                "sequence": sequence,
                "content_hash": row.content_hash,
                "base_hash": None,
                "display_at": display_at,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "not_before": not_before or now,
                "created_at": now,
            }
        ]

    def _reconcile(
        self,
        session: Session,
        states: Mapping[str, LabelState],
        check_ins: Mapping[str, tuple[LabelResponse, datetime]],
        history: list[dict[str, Any]],
        rebuilt: list[dict[str, Any]],
        *,
        now: datetime,
        widened: set[str],
    ) -> None:
        """Compare each check-in's displayed hash with the record (esl/pipeline/check_ins.py):
        a label whose panel differs gets its record corrected and is planned again. A
        check-in is weighed as of its arrival, not of this settling (a timed flip is
        judged against the label's clock)."""
        differing = {
            label_id: (response, received_at)
            for label_id, (response, received_at) in check_ins.items()
            if _hex(response.displayed_hash) != states[label_id].confirmed_hash
        }
        for label_id, (response, _) in check_ins.items():
            if label_id not in differing:
                states[label_id].displayed_hash = _hex(response.displayed_hash)
        if not differing:
            return
        answered = answered_sequences(session, differing)
        for entry in history:  # this batch's answers count too
            label_id, sequence = entry["label_id"], entry["sequence"]
            if label_id in differing and sequence > answered.get(label_id, -1):
                answered[label_id] = sequence
        open_labels = open_update_labels(session, differing) | {row["label_id"] for row in rebuilt}
        for label_id, (response, received_at) in differing.items():
            state = states[label_id]
            shows = _hex(response.displayed_hash)
            held = answered.get(label_id)
            verdict = check_in_verdict(
                shows=shows,
                sequence=response.sequence,
                recorded=state.confirmed_hash,
                answered_sequence=held,
                update_open=label_id in open_labels,
                display_at=state.desired_display_at,
                image_of_now=state.displayed_hash,
                timed=state.desired_hash,
                received_at=received_at,
            )
            if verdict is CheckInVerdict.EXPECTED and (held is None or response.sequence >= held):
                state.displayed_hash = shows  # what the next delta is drawn against
            recorded = state.confirmed_hash
            if reconcile(state, verdict, shows=shows):
                widened.add(label_id)
                self.replan_wanted.add(label_id)
                self.counts.reconciled += 1
                log.warning(
                    "label %s shows %s, recorded as showing %s (%s check-in, sequence %d): "
                    "record corrected, planned again",
                    label_id,
                    (shows or "nothing")[:12],
                    (recorded or "nothing")[:12],
                    verdict.value,
                    response.sequence,
                )

    def _resign(
        self, session: Session, state: LabelState, row: OutboxEntry, *, now: datetime
    ) -> list[dict[str, Any]]:
        """Supersede `row` by the same command signed with a fresh sequence number, its
        attempts carried over so that tampering on every try still ends in parking."""
        label = session.get(LabelRow, row.label_id)
        stored = session.execute(
            select(OUTBOX.c.payload, OUTBOX.c.base_hash).where(OUTBOX.c.id == row.id)
        ).one_or_none()
        row.settle("superseded", at=now)
        if label is None or stored is None:
            return []
        payload, base_hash = stored
        header = peek_header(payload)
        packed = PackedCommand(payload[header.size], payload[header.size + 1 : -MAC_SIZE])
        sequence = state.next_sequence()
        self._due_at(row.store, row.gateway, now)
        return [
            {
                "label_id": label.id,
                "store": row.store,
                "gateway": row.gateway,
                "sequence": sequence,
                "content_hash": row.content_hash,
                "base_hash": base_hash,
                "display_at": row.display_at,
                "payload": sign_packed(
                    packed, label_id=label.id, sequence=sequence, key=label.secret_key
                ),
                "status": "pending",
                "attempts": row.attempts,
                "not_before": now,
                "created_at": now,
            }
        ]

    def _unpark(self, session: Session, checked_in: Mapping[str, bool], *, now: datetime) -> None:
        """A label checked in: updates parked as unreachable are worth another try, and
        those parked for a flat battery too once the label says it can refresh again."""
        for reasons, labels in (
            (_RETRY_WHEN_HEARD, sorted(label for label, fit in checked_in.items() if fit)),
            ((ParkReason.OFFLINE.value,), sorted(lb for lb, fit in checked_in.items() if not fit)),
        ):
            for start in range(0, len(labels), 500):
                revived = session.connection().execute(
                    update(OUTBOX)
                    .where(
                        OUTBOX.c.label_id.in_(labels[start : start + 500]),
                        OUTBOX.c.status == "parked",
                        OUTBOX.c.parked_reason.in_(reasons),
                    )
                    .values(status="pending", attempts=0, not_before=now, parked_reason=None)
                )
                if revived.rowcount:
                    self._forget_idle()

    def _load_keys(self, label_ids: Collection[str]) -> Mapping[str, bytes]:
        ordered = sorted(label_ids)
        found: dict[str, bytes] = {}
        with self.sessions() as session:
            for start in range(0, len(ordered), 500):
                for label_id, key in session.execute(
                    select(LabelRow.id, LabelRow.secret_key).where(
                        LabelRow.id.in_(ordered[start : start + 500])
                    )
                ):
                    found[label_id] = key
        return found

    @property
    def in_flight(self) -> int:
        return sum(len(window.flights) for window in self._windows.values())


def _record_health(
    state: LabelState, response: LabelResponse, at: datetime, *, displayed: bool
) -> bool:
    """Take a believed answer's report; False when it arrived older than what is held.

    `displayed`: whether its displayed hash is believed (`answer_acceptance` decided the
    answer is the label's newest claim). A check-in's displayed hash is weighed against
    the record by `Dispatcher._reconcile` instead.
    """
    state.changed = True
    if displayed:
        state.displayed_hash = _hex(response.displayed_hash)
    if state.last_seen is not None and at < state.last_seen:
        return False  # an older answer delivered late says nothing new about now
    state.last_seen = at
    state.battery_mv = response.battery_mv
    state.rssi_dbm = response.rssi_dbm
    state.temperature_tenths_c = response.temperature_tenths_c
    state.firmware = response.firmware
    state.state = int(response.state)
    return True


def _hex(digest: bytes | None) -> str | None:
    return digest.hex() if digest else None
