"""Dispatch: outbox rows out through a `Gateway`, a window per store gateway.

One asyncio task; the clock, the RNG and the database thread are the controller's. The
database is the truth, memory only a cache of it:

- per store gateway at most `window` frames are in flight; the next due frame goes out
  when an answer (or a timeout) frees a slot, so a store is fed as fast as its labels
  answer and the broker never queues a firehose;
- a frame unanswered after `policy.ack_timeout` goes back to `pending` with an
  exponential, jittered backoff; after `policy.max_attempts` sends it is `parked` with a
  reason, and retried when the label is heard again (`settlement`);
- a frame the transport refuses for good (larger than the broker's packet limit) is
  parked at once as `undeliverable`, with the transport's reason: the same frame would
  be refused again, and it must not hold a slot of its gateway's window;
- answers are collected from the gateway's events and settled in batches, one
  transaction each (`settlement`); at most `uplinks_per_store` of one store wait at once
  (`uplink_inbox`): a store flooding its `up` topic loses its own excess, no other
  store's answers;
- on start, frames left `sent` by a previous run are due again: a duplicate is
  answered by the label without acting twice, a lost one is not forgotten;
- the answer timeout and the retry delay are instants of the controller's clock, the
  wall clock on a real host, which NTP may set back: a frame sent, and a retry delay
  given, later than now by more than `stamps_ahead.STAMPED_AHEAD_BEYOND` were so by a
  clock since set back and are due. Before, a frame sent before an hour's set-back
  waited that hour on top of its timeout. A smaller step back (NTP steps any offset
  over 128 ms) is no set-back: it lengthens those waits by the step, where counting it
  timed out every frame sent in the last seconds and sent it again, an attempt each;
- a worker sharing the stores with others (esl/pipeline/store_leases.py) follows only
  the stores it holds (`follow_stores`): it sends, expires and settles nothing else,
  and sends again what a store's previous holder left in flight. Each of those writes,
  and its gateways' records, commits only while it still holds the store (its fence,
  `settlement.fence`): a worker that stalled past its lease, or between the balance
  that gave it a store and following it, times out or puts back nothing its store's
  new holder sent again. Only what a clock set back brings forward is not fenced
  (`_set_back`: harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from esl.db.models import GATEWAY_REASON_CHARS, PARKED_DETAIL_CHARS, GatewayStateRow
from esl.db.repositories import in_chunks
from esl.delivery_states import OutboxStatus, ParkReason
from esl.pipeline.database_outage import DatabaseOutage, is_database_outage
from esl.pipeline.errors import TransportEventsEndedError
from esl.pipeline.held_frames import images_no_longer_due
from esl.pipeline.images import ImageStore
from esl.pipeline.label_actions import LabelActionSender, SignedAgainInFlight
from esl.pipeline.label_clocks import CLOCK_TOLERANCE
from esl.pipeline.label_vitals import VitalsSampling
from esl.pipeline.outbox_rows import (
    OUTBOX,
    OutboxEntry,
    outbox_entries,
    save_outbox_entries,
    unparked,
)
from esl.pipeline.retry import RetryPolicy
from esl.pipeline.security_events import SecurityEventCoalescing
from esl.pipeline.settlement import DispatchCounts, Settlement
from esl.pipeline.stamps_ahead import STAMPED_AHEAD_BEYOND, stamped_ahead
from esl.pipeline.store_leases import StoresLost
from esl.pipeline.uplink_inbox import UplinkInbox
from esl.pipeline.verdicts import Parking
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
from gateways.errors import GatewayError, PacketTooLargeError
from gateways.protocol import FrameRejectedError, peek_header

__all__ = ["DispatchCounts", "Dispatcher"]

log = logging.getLogger(__name__)

GatewayKey = tuple[str, str]  # (store, gateway)
# How often to look for store gateways that got work (planning adds them sooner).
_GATEWAY_SCAN = timedelta(seconds=1)
_NEVER = datetime.max.replace(tzinfo=UTC)
# A frame unanswered after every attempt: the label is out of reach.
_NO_ANSWER = Parking(ParkReason.OFFLINE)


def _still_sent(session: Session, ids: Sequence[int]) -> list[OutboxEntry]:
    """The rows of `ids` still sent, locked until the transaction ends: those a refusal or
    a timeout may settle. One settled meanwhile by another worker's transaction (an answer
    the store's new holder took) is read once that commits, and left alone."""
    return [
        entry
        for chunk in in_chunks(ids)
        for entry in outbox_entries(
            session,
            OUTBOX.c.id.in_(chunk),
            OUTBOX.c.status == OutboxStatus.SENT.value,
            lock=True,
        )
    ]


@dataclass(slots=True)
class _Flight:
    row_id: int
    label_id: str
    sequence: int
    deadline: datetime
    sent_at: datetime
    # The update's first send of this round of attempts (the row's `first_sent_at`): its
    # gateway's WAITING reports extend the wait up to `policy.waiting_limit` from then.
    first_sent_at: datetime
    # A WAITING report came when that limit was reached: at its deadline the update is
    # parked, not sent again (it would only queue behind itself at the gateway).
    waited_out: bool = False


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
        images: ImageStore,
        clock: Clock,
        rng: random.Random,
        executor: ThreadPoolExecutor,
        policy: RetryPolicy | None = None,
        window: int = 64,
        batch: int = 1000,
        tick_s: float = 0.02,
        outage: DatabaseOutage | None = None,
        max_waiting: int = 200_000,
        uplinks_per_store: int = 10_000,
        label_actions: LabelActionSender | None = None,
        vitals: VitalsSampling | None = None,
        clock_tolerance: timedelta | None = CLOCK_TOLERANCE,
        security_events: SecurityEventCoalescing | None = None,
    ) -> None:
        if window < 1:
            raise ValueError("the window must hold at least one frame")
        self.gateway = gateway
        self.sessions = sessions
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.window = window
        self.batch = batch
        self.tick_s = tick_s
        self.outage = outage or DatabaseOutage(clock=clock)
        self.max_waiting = max_waiting  # answers kept while the database does not answer
        self.counts = DispatchCounts()
        # Flash, ping and refresh a person asked for (esl/pipeline/label_actions.py).
        self.label_actions = label_actions or LabelActionSender()
        self.settlement = Settlement(
            sessions=sessions,
            images=images,
            windows=self,
            clock=clock,
            rng=rng,
            policy=self.policy,
            counts=self.counts,
            vitals=vitals,
            clock_tolerance=clock_tolerance,
            security_events=security_events,
        )
        self._windows: dict[GatewayKey, _GatewayWindow] = {}
        self._flight_of: dict[tuple[str, int], GatewayKey] = {}
        self.inbox = UplinkInbox(per_store=uplinks_per_store)
        self._statuses: list[GatewayStatus | TransportStatus] = []
        self._gateways_seen_at: datetime | None = None
        # The clock at the last round: one earlier now was set back since (`_set_back`).
        self._last_round_at: datetime | None = None
        # The stores this dispatcher serves; None: every store (one controller).
        self.stores: frozenset[str] | None = None
        # A worker's way to drop stores a fence found taken over (the controller's, which
        # follows them everywhere); None: the dispatcher follows them alone.
        self.lose_stores: Callable[[frozenset[str]], None] | None = None
        self._wake = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        # All database work runs on the controller's one thread: SQLite waits for its
        # lock there, never on the event loop (an API served by the same loop keeps
        # committing).
        self.executor = executor

    @property
    def verifier(self) -> UplinkVerifier:
        return self.settlement.verifier

    def settle(self, uplinks: list[Uplink]) -> None:
        """Verify and apply a batch of uplinks in one transaction (`Settlement.settle`)."""
        self.settlement.settle(uplinks)

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
        # Its end wakes the loop at once, which then ends the run (`_intake_alive`).
        events.add_done_callback(lambda _: self._wake.set())
        try:
            while not stop.is_set():
                _intake_alive(events)
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
                    self.inbox.keep_only(functools.partial(waiting_uplinks, limit=self.max_waiting))
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

    def recover(self, stores: frozenset[str] | None = None) -> None:
        """Frames a previous run left `sent` are due again now (their answer may be lost),
        and so are those parked as undeliverable (the broker's packet limit, and ours, may
        have been raised since: docs/mqtt.md; one still too large is parked again at its
        first send); of `stores` only (by default the ones this dispatcher serves)."""
        stores = self.stores if stores is None else stores
        while stores is None or stores:
            try:
                self._recover(stores)
                return
            except StoresLost as lost:
                # Gained by a balance that went stale before this commit: the store's
                # newer holder sends its frames. Rolled back; the stores kept recover.
                self._lose_stores(lost.stores)
                if stores is None:
                    raise  # every store: one controller, which has no fence
                stores -= lost.stores

    def _recover(self, stores: frozenset[str] | None) -> None:
        now = self.clock()
        left_sent = update(OUTBOX).where(OUTBOX.c.status == OutboxStatus.SENT.value)
        undeliverable = update(OUTBOX).where(
            OUTBOX.c.status == OutboxStatus.PARKED.value,
            OUTBOX.c.parked_reason == ParkReason.UNDELIVERABLE.value,
        )
        if stores is not None:
            left_sent = left_sent.where(OUTBOX.c.store.in_(sorted(stores)))
            undeliverable = undeliverable.where(OUTBOX.c.store.in_(sorted(stores)))
        with self.sessions.begin() as session:
            if self.settlement.fence is not None and stores:
                # Fenced as the other writes of a store, before the rows change. A worker
                # whose pipeline thread stalled between the balance that took a store and
                # following it (or whose database stayed away past its leases, before
                # `start_over`) may no longer hold it: the store's newer holder has sent
                # these frames again. Unfenced, they were put back to `pending` while on
                # their way: their answers lost, the holder's idle window never sent them
                # again (its timeout found them no longer `sent`), and the labels kept
                # the old price. `StoresLost` rolls this back.
                self.settlement.fence(session, stores)
            session.execute(left_sent.values(status=OutboxStatus.PENDING.value, not_before=now))
            # As an update parked offline is revived when its label is heard (settlement).
            session.execute(undeliverable.values(**unparked(now)))
            # Waiting on a clock since set back (this run's or a previous one's).
            self._rows_due_again(session, now=now, stores=stores)

    def _rows_due_again(
        self, session: Session, *, now: datetime, stores: frozenset[str] | None
    ) -> int:
        """Pending rows waiting on a clock since set back: due now; how many. Such a
        row was planned for its creation's instant (`not_before` = `created_at`), or
        given a retry delay (`attempts` > 0) that lies further ahead than the longest
        delay `policy` gives, by more than a step back that is no set-back
        (`stamps_ahead`). A row planned for an instant ahead (a timed image sent when
        its instant comes) is neither: it keeps its instant."""
        ahead = update(OUTBOX).where(
            OUTBOX.c.status == OutboxStatus.PENDING.value,
            OUTBOX.c.not_before > now,
            or_(
                OUTBOX.c.not_before <= OUTBOX.c.created_at,
                and_(
                    OUTBOX.c.attempts > 0,
                    OUTBOX.c.not_before > now + self.policy.longest_delay + STAMPED_AHEAD_BEYOND,
                ),
            ),
        )
        if stores is not None:
            ahead = ahead.where(OUTBOX.c.store.in_(sorted(stores)))
        brought: int = session.connection().execute(ahead.values(not_before=now)).rowcount
        return brought

    def _set_back(self) -> None:
        """When the clock went back since the last round (NTP corrected a clock that ran
        fast), what waits on it is due again: frames planned or delayed by the clock before
        (`_rows_due_again`), and every window's look for due rows. Deadlines in
        flight are judged in `_expire`. A step back of up to `STAMPED_AHEAD_BEYOND` (NTP
        steps any offset over 128 ms) is none: it only makes waits that much longer."""
        now = self.clock()
        last, self._last_round_at = self._last_round_at, now
        if last is None or not stamped_ahead(last, now=now):
            return
        # Not fenced, unlike the other writes of a store: harmless from a worker that
        # stalled past its lease. It moves only `not_before` of `pending` rows, never a
        # status: the frames the store's new holder sent again are `sent`, untouched (none
        # put back, parked or counted failed). A pending row only comes due sooner, and
        # the holder's window takes it no sooner than it looks anyway (`idle_until`): a
        # due frame at once, a retry at its delay or at a look for other work (an
        # attempt sooner; a duplicate is answered without acting twice).
        with self.sessions.begin() as session:
            brought = self._rows_due_again(session, now=now, stores=self.stores)
        log.warning(
            "the clock went back %s: %d frame(s) waiting on it are due",
            last - now,
            brought,
        )
        self._gateways_seen_at = None
        self.forget_idle()

    def follow_stores(self, stores: frozenset[str]) -> None:
        """Serve exactly `stores` from now on (a worker's leases changed).

        A store given up is forgotten (its frames in flight are the next holder's to
        send again, what was heard of it and not settled is dropped: its holder hears
        it too); a store taken has its frames left `sent` by its previous holder sent
        again, as at a start.
        """
        before = self.stores
        self.stores = stores
        # Now, not at the next round: a store taken back before it would find what was
        # heard in its earlier holding waiting, and settle it as new (a check-in older
        # than the answers its holder recorded since made the record forget the panel).
        self.inbox.keep_only(lambda waiting: [u for u in waiting if u.store in stores])
        if before is None:
            # The first look: `start_over` recovers what these stores left in flight.
            return
        for key in [key for key in self._windows if key[0] not in stores]:
            for flight in list(self._windows[key].flights.values()):
                self.release_flight(flight.label_id, flight.sequence, flight.row_id)
            del self._windows[key]
        gained = stores - before
        if gained:
            self.recover(frozenset(gained))
            self.notice_new_work()

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
            if (
                isinstance(status, GatewayStatus)
                and self.stores is not None
                and status.store not in self.stores
            ):
                continue  # heard before the store was given up (or lost, below)
            try:
                if isinstance(status, GatewayStatus):
                    self._gateway_status(status)
                else:
                    self._link_restored()
            except StoresLost as lost:
                # Rolled back, nothing recorded: the store's new holder records its
                # gateways (and the rest of what was heard of it is skipped above).
                self._lose_stores(lost.stores)
            except Exception as error:
                if not is_database_outage(error):
                    # One gateway's message must never stop the rounds of every store.
                    log.error("gateway news %r not recorded: %s", status, error)
                    continue
                self._statuses[:0] = statuses[index:]  # not applied: next round
                raise
            except BaseException:
                self._statuses[:0] = statuses[index:]
                raise
        self._set_back()
        self.inbox.report_drops(self.clock())
        uplinks = self.inbox.take()
        start = 0
        while True:
            if self.stores is not None:
                # Heard before the store was given up: its new holder sends again.
                uplinks = uplinks[:start] + [
                    uplink for uplink in uplinks[start:] if uplink.store in self.stores
                ]
            if start >= len(uplinks):
                break
            try:
                self.settle(uplinks[start : start + self.batch])
            except StoresLost as lost:
                # A worker's store taken over since its last balance: the batch rolled
                # back; its new holder hears (and settles) the store's answers too.
                self._lose_stores(lost.stores)
                uplinks = uplinks[:start] + [
                    uplink for uplink in uplinks[start:] if uplink.store not in lost.stores
                ]
                continue
            except BaseException:
                # Rolled back: keep what was not settled for the next round, however long
                # the database takes to answer again.
                self.inbox.put_back(uplinks[start:])
                raise
            start += self.batch
        self._expire()
        while True:
            try:
                downlinks = self._fill_windows()
                break
            except StoresLost as lost:
                # Rolled back, nothing marked sent: the other stores' windows look again.
                self._lose_stores(lost.stores)
                self.forget_idle()
        return downlinks + self._send_label_actions()

    def _lose_stores(self, stores: frozenset[str]) -> None:
        """Stop serving `stores` (a fence found them taken over): the controller's
        `lose_stores` when it set one, else this dispatcher alone."""
        if self.lose_stores is not None:
            self.lose_stores(stores)
        elif self.stores is not None:
            self.follow_stores(self.stores - stores)

    def _send_label_actions(self) -> list[Downlink]:
        while True:
            replan: set[str] = set()
            signed_again: list[SignedAgainInFlight] = []
            now = self.clock()
            try:
                with self.sessions.begin() as session:
                    downlinks = self.label_actions.due(
                        session,
                        now=now,
                        replan=replan,
                        stores=self.stores,
                        fence=self.settlement.fence,
                        signed_again=signed_again,
                    )
                break
            except StoresLost as lost:
                # Rolled back, nothing signed or marked: the stores kept look again.
                self._lose_stores(lost.stores)
                self.label_actions.look_again()
            except BaseException:
                # Rolled back too (refused at its COMMIT, the connection lost): the look
                # went with it, so the next round looks again, whatever the clock says.
                self.label_actions.look_again()
                raise
        self.settlement.replan_wanted |= replan
        for frame in signed_again:
            # Overtaken by a probe via another gateway: superseded, its copy due now on
            # the same gateway. Its slot is free, and the window, idle since its last
            # send, looks again; else the copy waited until something else came due
            # there, since the superseded frame's timeout sends nothing again.
            self.release_flight(frame.label_id, frame.sequence, frame.row_id)
            self.due_at(frame.store, frame.gateway, now)
        return downlinks

    async def sends_done(self) -> None:
        """Wait until the transport accepted (or refused) every frame handed over."""
        while self._sends:
            await asyncio.gather(*self._sends)

    def notice_new_work(self) -> None:
        """Planning wrote frames: look for their gateways in the next round."""
        self._gateways_seen_at = None
        self.forget_idle()

    def due_at(self, store: str, gateway: str, instant: datetime) -> None:
        """A row of this gateway comes due at `instant`."""
        window = self._windows.get((store, gateway))
        if window is not None and window.idle_until is not None:
            window.idle_until = min(window.idle_until, instant)

    def forget_idle(self) -> None:
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
        stores = self.stores
        if (
            stores is not None
            and isinstance(event, Uplink | GatewayStatus)
            and event.store not in stores
        ):
            return  # another worker's store
        if isinstance(event, Uplink):
            if self.inbox.offer(event) and len(self.inbox) >= self.batch:
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
                    .where(OUTBOX.c.status == OutboxStatus.PENDING.value)
                    .distinct()
                ):
                    if self.stores is None or store in self.stores:
                        self._windows.setdefault((store, gateway), _GatewayWindow())
                self._gateways_seen_at = now
            sending: list[tuple[GatewayKey, int, str, int, bytes, datetime]] = []
            # Rows taken, with what `images_no_longer_due` weighs: the display-at and the
            # content of each.
            weighed: list[tuple[int, str, datetime | None, str]] = []
            for key, window in list(self._windows.items()):
                if self.stores is not None and key[0] not in self.stores:
                    continue
                free = self.window - len(window.flights)
                if free <= 0 or not window.online:
                    continue
                if window.idle_until is not None and now < window.idle_until:
                    continue
                rows = session.execute(
                    select(
                        OUTBOX.c.id,
                        OUTBOX.c.label_id,
                        OUTBOX.c.sequence,
                        OUTBOX.c.payload,
                        OUTBOX.c.display_at,
                        OUTBOX.c.content_hash,
                        OUTBOX.c.first_sent_at,
                    )
                    .where(
                        OUTBOX.c.status == OutboxStatus.PENDING.value,
                        OUTBOX.c.gateway == key[1],
                        OUTBOX.c.not_before <= now,
                        OUTBOX.c.store == key[0],
                    )
                    # The index order (status, gateway, not_before): no sort of the backlog.
                    .order_by(OUTBOX.c.not_before)
                    .limit(free)
                    # A row another transaction is writing (a worker that took the store
                    # over superseding it, or settling it) waits for a later round, which
                    # sees what that transaction made of it: marked `sent` by id after it
                    # committed, a superseded frame went out again (PostgreSQL; SQLite,
                    # one writer, ignores it).
                    .with_for_update(skip_locked=True)
                ).all()
                # A first send stamped ahead of now (a clock since set back) counts from now.
                sending += [
                    (
                        key,
                        row.id,
                        row.label_id,
                        row.sequence,
                        row.payload,
                        min(row.first_sent_at or now, now),
                    )
                    for row in rows
                ]
                weighed += [
                    (row.id, row.label_id, row.display_at, row.content_hash) for row in rows
                ]
                window.idle_until = (
                    None
                    if len(rows) == free
                    else self._next_due(session, key, [row.id for row in rows]) or _NEVER
                )
            # The image of now in front of a flip whose instant passed while it waited
            # (lost, the label asleep, a retry's backoff): sent now, it would show content
            # no longer due (a promotion that ended) until the flip followed. Superseded
            # instead; the flip, released behind it (`release_held_frames`), is what is
            # due. Checked here, at the send, not when the retry was scheduled: the
            # instant may pass during the backoff, or while the row was parked.
            overtaken = images_no_longer_due(session, weighed, now=now)
            # The stores written for (fenced below): an overtaken row is written too.
            written = {key[0] for key, *_ in sending}
            if overtaken:
                for chunk in in_chunks(sorted(overtaken)):
                    session.execute(
                        update(OUTBOX)
                        .where(OUTBOX.c.id.in_(chunk))
                        .values(status=OutboxStatus.SUPERSEDED.value, settled_at=now)
                    )
                log.info("%d images of now overtaken by their flip: not sent", len(overtaken))
                sending = [item for item in sending if item[1] not in overtaken]
            if not written:
                return []
            ids = [row_id for _, row_id, *_ in sending]
            for chunk in in_chunks(ids):
                session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(chunk))
                    .values(
                        status=OutboxStatus.SENT.value,
                        sent_at=now,
                        attempts=OUTBOX.c.attempts + 1,
                        first_sent_at=func.coalesce(OUTBOX.c.first_sent_at, now),
                    )
                )
            if self.settlement.fence is not None:
                # Fenced as planning and settling: a frame a worker that lost the store
                # marked sent is in none of its holder's windows, so never timed out;
                # unanswered, it stayed sent for good. `StoresLost` rolls this back.
                self.settlement.fence(session, written)
        if not sending:
            return []
        deadline = now + self.policy.ack_timeout
        downlinks = []
        for key, row_id, label_id, sequence, payload, first_sent_at in sending:
            self._windows[key].flights[row_id] = _Flight(
                row_id, label_id, sequence, deadline, sent_at=now, first_sent_at=first_sent_at
            )
            self._flight_of[(label_id, sequence)] = key
            downlinks.append(Downlink(key[0], key[1], label_id, payload))
        self.counts.sent += len(sending)
        return downlinks

    @staticmethod
    def _next_due(session: Session, key: GatewayKey, taken: list[int]) -> datetime | None:
        """When the gateway's next pending row, other than those `taken` to send now,
        comes due (a retry waiting out its delay). A row due already is one the send
        query passed by as locked by another transaction: due again at the next round."""
        due: datetime | None = session.scalar(
            select(func.min(OUTBOX.c.not_before)).where(
                OUTBOX.c.status == OutboxStatus.PENDING.value,
                OUTBOX.c.gateway == key[1],
                OUTBOX.c.id.not_in(taken),
                OUTBOX.c.store == key[0],
            )
        )
        return due

    async def _send(self, downlinks: list[Downlink]) -> None:
        # A frame the transport refused stays `sent`; its timeout brings it back. One it
        # refuses for good (too large for the broker) is parked now: sent again, it would
        # be refused again, attempt after attempt, and parked as unanswered in the end.
        try:
            outcomes = await self.gateway.send_all(downlinks)
        except GatewayError as error:
            log.warning("sending %d frames failed: %s", len(downlinks), error)
            return
        undeliverable: list[tuple[Downlink, str]] = []
        for downlink, refusal in zip(downlinks, outcomes, strict=True):
            if refusal is not None:
                log.warning("send to %s/%s failed: %s", downlink.store, downlink.gateway, refusal)
            if isinstance(refusal, PacketTooLargeError):
                undeliverable.append((downlink, refusal.reason))
        if not undeliverable:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self._park_undeliverable, undeliverable)
        except Exception as error:
            # Rolled back: the rows stay sent, and their timeout brings them back here.
            log.warning("undeliverable frames not parked yet: %s", error)

    def _park_undeliverable(self, refused: list[tuple[Downlink, str]]) -> None:
        """Park the outbox rows `refused` were sent for as undeliverable, with the
        transport's reason (on the database thread, where the windows are kept). A label
        action's frame is no outbox row: its answer timeout ends it."""
        now = self.clock()
        reasons: dict[int, str] = {}
        for downlink, reason in refused:
            flight = self._flight_sent_as(downlink)
            if flight is not None:
                reasons[flight.row_id] = reason[:PARKED_DETAIL_CHARS]
        if not reasons:
            return
        try:
            with self.sessions.begin() as session:
                entries = _still_sent(session, sorted(reasons))
                for entry in entries:
                    entry.park(Parking(ParkReason.UNDELIVERABLE, reasons[entry.id]), at=now)
                    log.warning(
                        "parked %s seq %d: undeliverable, %s",
                        entry.label_id,
                        entry.sequence,
                        reasons[entry.id],
                    )
                save_outbox_entries(session, entries)
                if self.settlement.fence is not None:
                    # A store taken over meanwhile is its new holder's to send.
                    self.settlement.fence(session, {entry.store for entry in entries})
        except StoresLost as lost:
            self._lose_stores(lost.stores)
            return
        self.counts.parked += len(entries)
        for entry in entries:
            self.release_flight(entry.label_id, entry.sequence, entry.id)

    def _flight_sent_as(self, downlink: Downlink) -> _Flight | None:
        """The outbox row in flight that `downlink` carries, by its label and sequence."""
        try:
            sequence = peek_header(downlink.payload).sequence
        except FrameRejectedError:
            return None
        key = self._flight_of.get((downlink.label_id, sequence))
        if key is None:
            return None
        for flight in self._windows[key].flights.values():
            if flight.label_id == downlink.label_id and flight.sequence == sequence:
                return flight
        return None

    def release_flight(self, label_id: str, sequence: int, row_id: int | None = None) -> None:
        key = self._flight_of.pop((label_id, sequence), None)
        if key is not None and row_id is not None:
            self._windows[key].flights.pop(row_id, None)
        elif key is not None:
            flights = self._windows[key].flights
            for flight_id, flight in list(flights.items()):
                if flight.label_id == label_id and flight.sequence == sequence:
                    del flights[flight_id]

    def extend_flight(self, label_id: str, sequence: int) -> bool:
        """The label's gateway says frame `sequence` is still being carried out (queued at
        its radio): its answer is waited for another `ack_timeout` from now instead of the
        frame being sent again, which would only queue behind itself and spend an attempt.

        Never beyond `policy.waiting_limit` from the update's first send (the row's
        `first_sent_at`, kept across its retries and a controller restart): a gateway
        saying so for ever does not hold an update for ever. Counted from each send, every
        retry of a frame still queued was held as long again (52 minutes instead of 10).
        A report once the limit is reached marks the flight: at its deadline the update
        is parked as offline (`_expire`). A frame the gateway queues this long is behind
        more than an AP serves in that time, or never reached; resent, it would queue
        behind itself. False when the frame is not in flight or its wait is spent."""
        key = self._flight_of.get((label_id, sequence))
        if key is None:
            return False
        flights = self._windows[key].flights
        found = [f for f in flights.values() if f.label_id == label_id and f.sequence == sequence]
        if not found:
            return False
        flight = found[0]
        deadline = self.clock() + self.policy.ack_timeout
        if deadline > flight.first_sent_at + self.policy.waiting_limit:
            flight.waited_out = True
            return False
        # Moved to the end: a deadline of now + the timeout is the latest in the window,
        # which `_expire` reads in order.
        del flights[flight.row_id]
        flight.deadline = max(flight.deadline, deadline)
        flights[flight.row_id] = flight
        return True

    def _expire(self) -> None:
        now = self.clock()
        expired: list[_Flight] = []
        store_of: dict[int, str] = {}  # the store of each row timed out
        for (store, _), window in self._windows.items():
            # Flights are kept in the order they were sent, so deadlines never decrease
            # along a window: the first one not yet due ends the search. One sent later
            # than now by more than a small step back was sent before the clock was set
            # back: due. One sent a second or two "ahead" (an NTP step) waits its
            # timeout out: timed out now, it was sent again, an attempt spent for nothing.
            ack_timeout = self.policy.ack_timeout
            for flight in window.flights.values():
                sent_at = flight.deadline - ack_timeout
                if flight.deadline > now and not stamped_ahead(sent_at, now=now):
                    break
                expired.append(flight)
                store_of[flight.row_id] = store
        if not expired:
            return
        for flight in expired:
            self.release_flight(flight.label_id, flight.sequence, flight.row_id)
        ids = [flight.row_id for flight in expired]
        waited_out = {flight.row_id for flight in expired if flight.waited_out}
        while ids:
            try:
                self._time_out(ids, waited_out, now=now)
                return
            except StoresLost as lost:
                # Rolled back, nothing timed out: those of the stores kept are, again.
                self._lose_stores(lost.stores)
                ids = [row_id for row_id in ids if store_of[row_id] not in lost.stores]

    def _time_out(self, ids: list[int], waited_out: set[int], *, now: datetime) -> None:
        """The rows of `ids` still `sent`, their answers overdue: sent again after a
        backoff, or parked (their attempts spent, or `waited_out`: their gateway's wait)."""
        with self.counts.kept_only_if_committed(), self.sessions.begin() as session:
            entries = _still_sent(session, ids)
            if self.settlement.fence is not None:
                # Fenced as sending and settling are. A worker that stalled past its lease
                # and its frames' answer timeout found them `sent` on waking, by its
                # store's new holder (sent again, as left in flight), which waits for
                # their answers: timed out here, they were put back behind a backoff
                # while on their way (the holder's window, idle, sent them again only
                # when other work came due there; an answer lost, never), or parked as
                # offline (`esl health`: failed). Taken before the entries change (a
                # backoff drawn, counted), so a store lost leaves nothing to undo; the
                # leases stay locked until the commit all the same.
                self.settlement.fence(session, {entry.store for entry in entries})
            for entry in entries:
                if entry.id in waited_out:
                    self._park_waited_out(entry, now=now)
                    continue
                # A gateway that reported why there was no answer keeps its word on the row.
                parking = _NO_ANSWER._replace(detail=entry.parked_detail)
                self.settlement.retry_or_park(entry, now=now, parking=parking)
            save_outbox_entries(session, entries)

    def _park_waited_out(self, entry: OutboxEntry, *, now: datetime) -> None:
        """Park an update its gateway still reported queued when `policy.waiting_limit`
        from its first send was reached: offline, as an unanswered one, so `esl health`
        shows it, and revived as one when the label is heard (a check-in, `REACHABLE`)."""
        limit = round(self.policy.waiting_limit.total_seconds())
        parking = _NO_ANSWER._replace(detail=f"still queued at its gateway after {limit} s")
        self.settlement.park(entry, now=now, parking=parking)

    def _gateway_status(self, status: GatewayStatus) -> None:
        # The reason is the gateway's own words: kept to what the column holds.
        reason = status.reason
        if reason is not None and len(reason) > GATEWAY_REASON_CHARS:
            reason = reason[: GATEWAY_REASON_CHARS - 1] + "…"
        key = (status.store, status.gateway)
        window = self._windows.setdefault(key, _GatewayWindow())
        online = status.state is GatewayState.ONLINE
        came_back = online and not window.online
        # The window follows the gateway only once its record does (below, after the
        # commit): a status the database refuses must not stop or resume sends while
        # health and the console still say otherwise.
        with self.sessions.begin() as session:
            if self.settlement.fence is not None:
                # Fenced as the other writes of a store. A worker hears its stores on
                # persistent sessions: what a gateway said while the worker stalled past
                # its lease reaches it on waking. Unfenced, a gateway that restarted
                # meanwhile came back online here and put the frames the store's new
                # holder had sent again back to `pending` while on their way (their
                # answers lost, the holder's idle window never sent them again: the old
                # price stayed), and a state heard before the stall overwrote the newer
                # one the holder recorded (a gateway back online stayed offline: `esl
                # health` and the audit called its labels offline). Taken before the
                # record changes; `StoresLost` rolls it back.
                self.settlement.fence(session, {status.store})
            row = session.get(GatewayStateRow, key)
            if row is None:
                session.add(
                    GatewayStateRow(
                        store=status.store,
                        gateway=status.gateway,
                        online=online,
                        reason=reason,
                        changed_at=status.received_at,
                    )
                )
            else:
                row.online, row.reason, row.changed_at = online, reason, status.received_at
            resent = list(window.flights.values()) if came_back else []
            if resent:
                # A restarted gateway lost the frames it held: send them again at once.
                session.execute(
                    update(OUTBOX)
                    .where(
                        OUTBOX.c.id.in_([flight.row_id for flight in resent]),
                        OUTBOX.c.status == OutboxStatus.SENT.value,
                    )
                    .values(status=OutboxStatus.PENDING.value, not_before=self.clock())
                )
        window.online = online
        window.idle_until = None
        for flight in resent:
            self.release_flight(flight.label_id, flight.sequence, flight.row_id)

    @property
    def in_flight(self) -> int:
        return sum(len(window.flights) for window in self._windows.values())


def _intake_alive(events: asyncio.Task[None]) -> None:
    """End the run when the task taking the transport's events in has ended before the
    stop: from then on no answer is settled and no label confirmed, while planning and
    the status file would say the controller runs. Its exception is raised again (a bug
    in code it called), so the process exits and its supervisor starts it again."""
    if not events.done():
        return
    if not events.cancelled() and (error := events.exception()) is not None:
        log.error("the dispatcher stopped taking the transport's events in: %r", error)
        raise error
    raise TransportEventsEndedError()
