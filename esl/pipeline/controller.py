"""The controller loop: watch for work, plan it into the outbox, dispatch it.

Work comes from the database, so whoever publishes (the API, `esl publish`, a test)
needs no link to the controller, and a restarted controller finds everything again:

- a published publication not yet in `planned_publications` is planned for the labels
  whose content it may have changed (`affected_labels`); one effective later is planned
  `lead` ahead of its instant with a display-at, so the shelf flips on time. Labels are
  planned in chunks of `PLAN_CHUNK`, one transaction each, so the dispatcher sends the
  first frames while the rest is planned; the publication is recorded with its last
  chunk. A crash in between plans it again, and idempotence skips the labels already
  planned;
- a change planned ahead travels with the image of now (a label never waits blank or
  stale for the instant); a timed frame held behind it is released once the label holds
  the image of now (`held_frames`). A label holds one timed image, the earliest: when an
  instant passes, the publications still ahead are planned again;
- a label bound (or re-bound) since it was last planned is planned, for now and, when a
  publication already planned ahead changes it, for that instant too;
- a label bound to no product (registered, or unbound) shows its identification screen;
- labels bound to a template uploaded anew (a new version) are planned;
- a scheduled instant (a promotion or rule starting or ending) that has arrived gets
  its prices recorded in the ledger at that instant (`record_due_instants`), once;
- every `replan_every` all labels are re-planned against the instant (promotions that
  simply end, rules that start): unchanged content costs a comparison, nothing is sent.
  A label planned for now while it holds a flip (an immediate change, a re-plan) keeps
  the flip: planning plans it again behind the new image of now (`LabelPlanner.plan`).

On PostgreSQL several controllers run as workers sharing the stores
(`store_leases`): each plans, dispatches and settles only the stores it holds,
publications are planned store by store (`store_planning`), and a store taken over
is re-planned by its new holder (a comparison for labels already planned). A planning
transaction of a worker commits only while it still holds the stores it wrote for
(`_fence`): one taken over meanwhile rolls it back and is dropped at once.

A single controller hears every store of the database: at each planning pass it hands
the stores listed to the transport (`Gateway.follow_stores`) when they changed, before
planning their frames, so the MQTT driver hears each on a session of its own (one
store's flood fills only its own queue at the broker) and a store added while running
is heard before its first frame goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from esl.db.models import (
    LabelBindingRow,
    LabelStateRow,
    PlannedPublicationRow,
    StoreRow,
)
from esl.db.repositories import in_chunks
from esl.db.template_models import LabelTemplateRow
from esl.pipeline.check_ins import forget_desired, reconciliation_candidates
from esl.pipeline.controller_lease import (
    ControllerIdentity,
    LeaseTerms,
    release_lease,
    renew_lease,
)
from esl.pipeline.controller_status import ControllerStatus, write_controller_status
from esl.pipeline.database_outage import DatabaseOutage, DatabaseRetry, is_database_outage
from esl.pipeline.dispatch import Dispatcher
from esl.pipeline.heap import long_running_heap
from esl.pipeline.held_frames import release_held_frames
from esl.pipeline.id_watermark import IdWatermark, ids_missing
from esl.pipeline.identification_screens import labels_bound_to_nothing, plan_identification
from esl.pipeline.images import ImageStore
from esl.pipeline.label_actions import LabelActionSender, LabelActionTimings
from esl.pipeline.label_clocks import CLOCK_TOLERANCE
from esl.pipeline.label_keepalive import keep_in_sync_after, request_keepalive_pings
from esl.pipeline.label_states import load_label_states
from esl.pipeline.label_vitals import VitalsSampling
from esl.pipeline.panel_history import associated_anew_since
from esl.pipeline.periodic import due
from esl.pipeline.planning import LabelPlanner, PlanTarget
from esl.pipeline.retry import RetryPolicy
from esl.pipeline.security_events import SecurityEventCoalescing
from esl.pipeline.stamps_ahead import bring_back_last_seen
from esl.pipeline.store_leases import (
    StoreLeaseTerms,
    StoresLost,
    balance_stores,
    leave,
    record_acknowledged,
    stores_held,
)
from esl.pipeline.store_planning import (
    labels_in_stores,
    record_planned_for_stores,
    waiting_for_stores,
)
from esl.pipeline.store_waves import (
    WAVE_LABELS,
    BoundLabels,
    LabelSelection,
    PublicationLabels,
    Wave,
    bound_labels_by_store,
    store_groups,
    stores_of,
    waves,
)
from esl.planning_queue import queued_publications, waiting_publications
from esl.services.ledger_instants import record_due_instants
from gateways.base import Clock, Gateway
from rendering.cache import RenderCache

__all__ = ["ControllerSettings", "UpdateController"]

log = logging.getLogger(__name__)

PLAN_CHUNK = 500  # labels per planning transaction
LEDGER_LOOK_EVERY = timedelta(seconds=5)  # for scheduled instants the ledger must record
KEEPALIVE_LOOK_EVERY = timedelta(minutes=1)  # for labels silent too long (label_keepalive.py)


# Pinged by the default offline bound (`StatusThresholds`, 30 minutes).
_KEEP_IN_SYNC = keep_in_sync_after(timedelta(minutes=30))


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerSettings:
    # The installation's (`Settings`): the composition root passes them in.
    locale: str
    currency: str
    # Where a store names no time zone, the one its labels date in (None: the locale's).
    time_zone: str | None = None
    window: int = 64
    # Uplinks of one store waiting to be settled; the excess is dropped and counted
    # (esl/pipeline/uplink_inbox.py), so one store's flood starves no other store.
    uplinks_per_store: int = 10_000
    # How many `security_events` rows a flood of forgeries may write.
    security_events: SecurityEventCoalescing = field(default_factory=SecurityEventCoalescing)
    poll_every: timedelta = timedelta(seconds=1)
    replan_every: timedelta = timedelta(minutes=15)
    reconcile_every: timedelta = timedelta(minutes=5)
    lead: timedelta = timedelta(hours=6)
    # Labels per planning transaction, and per wave of whole stores read, planned and let
    # go before the next (`esl.pipeline.store_waves`): what planning holds at once.
    plan_chunk: int = PLAN_CHUNK
    plan_wave: int = WAVE_LABELS
    lease: LeaseTerms = field(default_factory=LeaseTerms)
    # Set: this controller is one of several workers sharing the stores (PostgreSQL).
    store_leases: StoreLeaseTerms | None = None
    # How often to look for labels bound to nothing (registered, or unbound) that do not
    # show their identification screen yet: a look reads every label's binding.
    identify_every: timedelta = timedelta(seconds=5)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    database_retry: DatabaseRetry = field(default_factory=DatabaseRetry)
    label_actions: LabelActionTimings = field(default_factory=LabelActionTimings)
    vitals: VitalsSampling = field(default_factory=VitalsSampling)
    # A check-in's label clock off by more than this is set (esl/pipeline/label_clocks.py);
    # None: label clocks are neither set nor judged (simulated ones on an accelerated clock).
    label_clock_tolerance: timedelta | None = CLOCK_TOLERANCE
    # A label silent this long is pinged (esl/pipeline/label_keepalive.py): before the
    # offline bound of health and the audit (`ESL_LABEL_OFFLINE_AFTER_S`, 30 minutes).
    keep_in_sync: timedelta = _KEEP_IN_SYNC


class UpdateController:
    """Plans and dispatches label updates until stopped."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        sessions: sessionmaker[Session],
        clock: Clock,
        rng: random.Random,
        settings: ControllerSettings,
        cache: RenderCache | None = None,
        identity: ControllerIdentity | None = None,
        status_path: Path | None = None,
    ) -> None:
        self.settings = settings
        # Set when this controller holds the database's lease (the caller took it with
        # `take_lease` before connecting anything): renewed while it runs, released after.
        self.identity = identity
        self.status_path = status_path
        self._next_renewal: datetime | None = None
        self._status_written: tuple[object, ...] | None = None
        self.sessions = sessions
        self.clock = clock
        # One view of a database outage for planning, dispatching and the health report.
        self.outage = DatabaseOutage(clock=clock, retry=self.settings.database_retry)
        # All database work, planning's and dispatching's, runs on this one thread:
        # SQLite waits for its lock there, never on the event loop.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="esl-pipeline")
        # Planning draws deltas against these images; settlement rebuilds full ones.
        self.images = ImageStore()
        self.planner = LabelPlanner(
            cache=cache or RenderCache(max_labels=2_000, max_deltas=4_000),
            images=self.images,
            locale=self.settings.locale,
            currency=self.settings.currency,
            time_zone=self.settings.time_zone,
        )
        self.dispatcher = Dispatcher(
            gateway=gateway,
            sessions=sessions,
            images=self.images,
            clock=clock,
            rng=rng,
            executor=self.executor,
            policy=self.settings.policy,
            window=self.settings.window,
            uplinks_per_store=self.settings.uplinks_per_store,
            outage=self.outage,
            label_actions=LabelActionSender(self.settings.label_actions),
            vitals=self.settings.vitals,
            clock_tolerance=self.settings.label_clock_tolerance,
            security_events=self.settings.security_events,
        )
        # The stores this worker holds (None: a single controller serves every store).
        self.stores: frozenset[str] | None = None
        # A single controller's: the database's stores, as last handed to the transport.
        self._heard_stores: frozenset[str] | None = None
        # What the last balance (on its own thread) left this worker holding.
        self._balanced: frozenset[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acked_recorded = 0
        self._replan_stores: set[str] = set()  # taken over, to be planned again
        # Stores the balances took since the pipeline thread last followed them (the
        # balance thread adds, `_balance_stores` takes), and those of them it already
        # counted as its own: lost and given back while it stalled, left by the
        # planning pass that was running (`_planning_steps`).
        self._taken_lock = threading.Lock()
        self._taken: set[str] = set()
        self._taken_back_in_pass: set[str] = set()
        # The tenure (the lease's `taken_at`, a fencing token) of each store the last
        # balance left this worker holding, and of each store the pipeline thread
        # follows: the one its fence checks (`_fence`), which a lease lost and taken back
        # while one of its transactions ran no longer matches.
        self._balanced_tenures: dict[str, datetime] = {}
        self._tenures: dict[str, datetime] = {}
        # Stores a fence found lost (`_fence`), and the balance that still named them.
        self._lost_since_balance: tuple[frozenset[str] | None, frozenset[str]] = (
            None,
            frozenset(),
        )
        if settings.store_leases is not None:
            if identity is None:
                raise ValueError("a worker sharing stores needs its identity")
            self.stores = frozenset()
            self.dispatcher.stores = frozenset()  # nothing before the first balance
            # Settling is fenced as planning is: a worker that lost a store since its
            # last balance settles none of its answers (the new holder hears them too).
            self.dispatcher.settlement.fence = self._fence
            self.dispatcher.lose_stores = self._lose_stores
        self._next_replan: datetime | None = None
        self._next_reconcile: datetime | None = None
        self._started_at = clock()
        self._status_fresh_until = self._started_at
        self._next_identification: datetime | None = None
        self._next_keepalive: datetime | None = None
        self._next_ledger_look: datetime | None = None
        self._unidentifiable: set[str] = set()  # labels already reported as such
        # Up to when the instants of planned publications were looked at (None: never).
        self._flips_seen: datetime | None = None
        # The binding ids already planned, and the label history rows looked at for
        # labels associated anew; an id missing is looked for until the pass that
        # covers its label anyway (id_watermark.py: concurrent writers).
        self._bindings = IdWatermark(keep_for=self.settings.replan_every)
        self._history = IdWatermark(keep_for=self.settings.reconcile_every)
        # Template name -> version already planned (None until the first look).
        self._template_versions: dict[str, int] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        with long_running_heap():
            await self._run(stop)

    async def _run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        dispatching = asyncio.create_task(self.dispatcher.run(stop))
        renewing = (
            asyncio.create_task(self._keep_stores(stop))
            if self.settings.store_leases is not None
            else None
        )
        loop = asyncio.get_running_loop()
        executor = self.executor
        try:
            while not stop.is_set() and not dispatching.done():
                wait = self.settings.poll_every.total_seconds()
                steps = self._planning_steps()
                # One chunk at a time on the database thread: between chunks the
                # dispatcher sends what is planned already.
                try:
                    while await loop.run_in_executor(executor, self._next_step, steps) is not None:
                        pass
                except IntegrityError as error:
                    if self.stores is None:
                        raise
                    # Two workers held a store within one balance interval (given up
                    # here while this thread planned it, planned by its new holder too)
                    # and both wrote a new label's state. Rolled back; the next pass
                    # plans what is still this worker's, skipping what the other planned.
                    log.warning("planning met another worker's on the same labels: %s", error.orig)
                except Exception as error:
                    if not is_database_outage(error):
                        raise
                    # Rolled back; planning is idempotent, the next try does it again.
                    wait = self.outage.failed(error, doing="planning")
                else:
                    self.outage.answered(doing="planning")
                self._report_status()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            stop.set()
            if renewing is not None:
                await renewing
            try:
                await dispatching
            finally:
                try:
                    if self.identity is not None:
                        await loop.run_in_executor(executor, self._release_lease)
                finally:
                    self._withdraw_status()
                    executor.shutdown(wait=True)

    def status(self) -> ControllerStatus:
        """What the health report says about this controller now."""
        identity = self.identity
        report = self.outage.report()
        return ControllerStatus(
            pid=os.getpid() if identity is None else identity.pid,
            host=socket.gethostname() if identity is None else identity.host,
            started_at=self._started_at if identity is None else identity.started_at,
            written_at=self.clock(),
            database_unreachable_since=report.unreachable_since,
            database_failed_tries=report.failed_tries,
            database_error=report.last_error,
            database_outages=self.outage.outages,
            uplinks_dropped=self.uplinks_dropped(),
            stores_unheard=dict(self.dispatcher.gateway.unheard_stores),
        )

    def uplinks_dropped(self) -> dict[str, int]:
        """Per store, uplinks dropped over its bound since start: by the transport's
        queue and by the dispatcher's."""
        dropped = Counter(self.dispatcher.inbox.dropped)
        dropped.update(self.dispatcher.gateway.dropped_uplinks)
        return dict(sorted(dropped.items()))

    def _report_status(self) -> None:
        """Write the status file when the outage view changed, and at every renewal."""
        if self.status_path is None:
            return
        now = self.clock()
        report = self.outage.report()
        news = (
            report.unreachable_since,
            report.failed_tries,
            self._next_renewal,
            frozenset(
                (store, unheard.reason)
                for store, unheard in self.dispatcher.gateway.unheard_stores.items()
            ),
        )
        if news == self._status_written and not due(
            self._status_fresh_until, now=now, every=self.settings.lease.renew_every
        ):
            return
        write_controller_status(self.status_path, self.status())
        self._status_written = news
        self._status_fresh_until = now + self.settings.lease.renew_every

    def _renew_lease(self, now: datetime) -> None:
        if self.settings.store_leases is not None:
            return  # workers hold store leases, not the database's
        if self.identity is None or not due(
            self._next_renewal, now=now, every=self.settings.lease.renew_every
        ):
            return
        with self.sessions.begin() as session:
            renew_lease(session, self.identity, now=now)
        self._next_renewal = now + self.settings.lease.renew_every

    async def _keep_stores(self, stop: asyncio.Event) -> None:
        """Balance this worker's stores (renew, give up the surplus, take its share) on
        a thread of its own every `renew_every`: a planning pass that outlasts the stale
        bound neither lets its stores go stale nor delays taking over a dead worker's.
        The pipeline thread follows the result between two steps (`_balance_stores`)."""
        terms = self.settings.store_leases
        identity = self.identity
        assert terms is not None
        assert identity is not None

        def balance() -> None:
            acked = self.dispatcher.counts.acked
            taken: set[str] = set()
            tenures: dict[str, datetime] = {}
            with self.sessions.begin() as session:
                balanced = balance_stores(
                    session, identity, now=self.clock(), terms=terms, taken=taken, tenures=tenures
                )
                record_acknowledged(session, identity, acked - self._acked_recorded)
            self._follow_balance(balanced, taken, tenures)
            self._acked_recorded = acked

        while not stop.is_set():
            try:
                await asyncio.to_thread(balance)
            except Exception as error:
                if not is_database_outage(error):
                    raise
                # Part of the one outage planning and dispatching report: said once,
                # then every few tries, not at every renewal (the next stays
                # `renew_every` away: a balance is due then, however long the outage).
                self.outage.failed(error, doing="renewing the store leases")
            else:
                self.outage.answered(doing="renewing the store leases")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), terms.renew_every.total_seconds())

    def _follow_balance(
        self, balanced: frozenset[str], taken: Collection[str], tenures: dict[str, datetime]
    ) -> None:
        """What a balance (on its own thread) left this worker holding, and took, and
        the tenure it holds each store under."""
        with self._taken_lock:
            self._taken |= set(taken)
            self._balanced = balanced
            self._balanced_tenures = tenures

    def _balance_stores(self) -> None:
        """Follow the stores the last balance left this worker holding (on the pipeline
        thread, between two steps)."""
        with self._taken_lock:
            held = self._balanced
            taken, self._taken = self._taken, set()
            tenures = self._balanced_tenures
        if held is None or self.identity is None:
            return
        if held is self._lost_since_balance[0]:
            # A fence found stores lost after this balance: it still names them.
            held = held - self._lost_since_balance[1]
        before = self.stores or frozenset()
        taken_back = frozenset(taken) & before & held
        if taken_back:
            # Taken by a balance while this thread counted them as its own: lost while
            # it stalled, and given back (their holder stopped, or released them). What
            # it read before is stale (a newer price the other holder planned and
            # delivered): the running pass leaves them, and they are followed as taken
            # over (windows dropped, frames left sent sent again, labels planned again).
            log.warning(
                "worker %s: %s lost and taken back since this worker last looked; planned again",
                self.identity.mqtt_client_id,
                sorted(taken_back),
            )
            self._taken_back_in_pass |= taken_back
            self.dispatcher.follow_stores(before - taken_back)
            self.stores = before - taken_back
            before = self.stores
        if held != before:
            gained, lost = held - before, before - held
            log.info(
                "worker %s: %d stores (took %s, gave up %s)",
                self.identity.mqtt_client_id,
                len(held),
                sorted(gained),
                sorted(lost),
            )
            self._follow_stores(held, gained=gained, lost=lost, tenures=tenures)

    def _follow_stores(
        self,
        held: frozenset[str],
        *,
        gained: frozenset[str],
        lost: frozenset[str],
        tenures: dict[str, datetime] | None = None,
    ) -> None:
        self.stores = held
        # A store gained is fenced by the tenure its balance holds it under; one kept,
        # by the tenure it was gained under (a new one means it was lost meanwhile).
        fresh, kept = tenures or {}, held - gained
        self._tenures = {
            store: tenure for store, tenure in self._tenures.items() if store in kept
        } | {store: fresh[store] for store in gained if store in fresh}
        # The transport subscribes to the stores held (paho runs on the event loop).
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.dispatcher.gateway.follow_stores, held)
        else:
            self.dispatcher.gateway.follow_stores(held)
        self._replan_stores = (self._replan_stores | gained) - lost
        # Last: the recovery of the stores gained is fenced, and one found lost already
        # is followed from within (`_lose_stores`), after everything above.
        self.dispatcher.follow_stores(held)

    def _hear_every_store(self) -> None:
        """A single controller: the transport hears the database's stores (a worker
        follows its share instead, `_follow_stores`)."""
        if self.settings.store_leases is not None:
            return
        with self.sessions.begin() as session:
            stores = frozenset(session.scalars(select(StoreRow.code)))
        if stores == self._heard_stores:
            return
        self._heard_stores = stores
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.dispatcher.gateway.follow_stores, stores)
        else:
            self.dispatcher.gateway.follow_stores(stores)

    def _fence(self, session: Session, written: Collection[str]) -> None:
        """The fence of a planning transaction of a worker, taken last before its commit:
        it commits only while this worker holds every store in `written` (the stores it
        wrote frames or records for), their leases locked until then (`stores_held`),
        each under the tenure this worker followed it under (`_tenures`): one lost and
        taken back while the transaction ran is lost too. One lost raises `StoresLost`,
        which rolls the transaction back."""
        if self.stores is None or self.identity is None or not written:
            return
        lost = frozenset(written) - stores_held(session, self.identity, written, self._tenures)
        if lost:
            raise StoresLost(lost)

    def _lose_stores(self, lost: frozenset[str]) -> None:
        """Stores a fence found taken over: dropped at once, not at the next balance
        (which may be a balance interval away, or stalled)."""
        assert self.identity is not None
        log.warning(
            "worker %s: lost %s to another worker while planning or settling them; "
            "their part rolled back",
            self.identity.mqtt_client_id,
            sorted(lost),
        )
        balanced = self._balanced
        if balanced is self._lost_since_balance[0]:
            lost |= self._lost_since_balance[1]
        self._lost_since_balance = (balanced, lost)
        before = self.stores or frozenset()
        self._follow_stores(before - lost, gained=frozenset(), lost=lost & before)

    def _release_lease(self) -> None:
        assert self.identity is not None
        try:
            with self.sessions.begin() as session:
                if self.settings.store_leases is not None:
                    leave(session, self.identity)
                else:
                    release_lease(session, self.identity)
        except Exception as error:
            if not is_database_outage(error):
                raise
            # It goes stale on its own; a new controller takes it over then.
            log.warning("could not release the controller lease: %s", error)

    def _withdraw_status(self) -> None:
        """A stopped controller, leased (`esl run`) or not (the demo's), leaves no report
        that it runs."""
        if self.status_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.status_path.unlink()

    def plan_due_work(self) -> int:
        """Plan whatever is due now; the number of frames written to the outbox."""
        steps = self._planning_steps()
        planned = 0
        while (frames := self._next_step(steps)) is not None:
            planned += frames
        return planned

    def _next_step(self, steps: Iterator[int]) -> int | None:
        """The next chunk of a planning pass, with the lease renewed first when due: a
        long pass (the start-up re-plan, a big publication) must not outlast the lease
        and let a second controller take over while this one still sends."""
        now = self.clock()
        self._renew_lease(now)
        self._balance_stores()
        return next(steps, None)

    def _planning_steps(self) -> Iterator[int]:
        """Plan in chunks of labels, one transaction each, yielding the frames written.

        A crash between chunks is harmless: planning is idempotent, so the next run skips
        the labels already planned and finishes the rest.
        """
        now = self.clock()
        self._taken_back_in_pass = set()
        self._hear_every_store()
        if due(self._next_ledger_look, now=now, every=LEDGER_LOOK_EVERY):
            # A promotion or rule starting or ending: its prices enter the ledger at their
            # instant, however late this look is (esl/services/ledger_instants.py), so
            # looking every few seconds rather than at every poll loses nothing, except
            # when an instant just passed: see `_plan_after_flips`.
            self._record_due_instants(now)
        with self.sessions.begin() as session:
            if release_held_frames(session, self.stores, now=now):
                self.dispatcher.notice_new_work()
        yield from self._plan_publications(now)
        yield from self._plan_after_flips(now)
        yield from self._plan_reconciled(now)
        yield from self._plan_new_bindings(now)
        yield from self._plan_associated_anew(now)
        yield from self._plan_changed_templates(now)
        if due(self._next_keepalive, now=now, every=KEEPALIVE_LOOK_EVERY):
            while True:
                try:
                    with self.sessions.begin() as session:
                        # First: a label last heard while the host clock ran fast, since
                        # set back, would count as silent only once real time passed its
                        # stamp (`stamps_ahead`); its silence counts from now.
                        brought_back = bring_back_last_seen(session, now=now, stores=self.stores)
                        pinged = request_keepalive_pings(
                            session,
                            now=now,
                            silence=self.settings.keep_in_sync,
                            stores=self.stores,
                        )
                        # Fenced as planning: pings asked by a worker that lost the store
                        # are sent by its holder, which, seeing them asked, asks none of
                        # its own; two workers asking at once ask each label twice.
                        written = pinged or brought_back
                        self._fence(session, (self.stores or frozenset()) if written else ())
                except StoresLost as error:
                    self._lose_stores(error.stores)
                    continue
                break
            if brought_back:
                log.warning(
                    "keep-alive: %d labels last heard later than now (the host clock was set"
                    " back): their silence counts from now",
                    brought_back,
                )
            if pinged:
                log.info("keep-alive: %d silent labels pinged", len(pinged))
            self._next_keepalive = now + KEEPALIVE_LOOK_EVERY
        if due(self._next_identification, now=now, every=self.settings.identify_every):
            yield from self._plan_identification(now)
            self._next_identification = now + self.settings.identify_every
        if due(self._next_replan, now=now, every=self.settings.replan_every):
            # Only the stores held when it starts are covered: one taken over meanwhile
            # (a balance between its chunks) keeps its own re-plan.
            covered = frozenset(self._replan_stores) - self._taken_back_in_pass
            yield from self._plan_selection(BoundLabels(), at=now, now=now, keep_scheduled=True)
            self._next_replan = now + self.settings.replan_every
            self._replan_stores -= covered
        if self._replan_stores - self._taken_back_in_pass:
            # Stores taken over: a binding their previous holder never saw, a plan it
            # did not finish. Labels already planned cost a comparison. They stay wanted
            # until the pass has finished: one that fails (a collision with the previous
            # holder's last chunk, a database outage) is tried again at the next poll.
            # The changes ahead too: the previous holder may have planned only the
            # earliest (a label holds one timed image), and this worker's look that saw
            # that instant pass planned the next one only for the stores it held then.
            # One taken back during this pass waits for the next, planned from its `now`.
            stores = frozenset(self._replan_stores) - self._taken_back_in_pass
            yield from self._plan_selection(
                BoundLabels(),
                at=now,
                now=now,
                keep_scheduled=True,
                stores=stores,
                after_wave=functools.partial(self._plan_changes_ahead, now=now),
            )
            self._replan_stores -= stores

    def _record_due_instants(self, now: datetime) -> None:
        with self.sessions.begin() as session:
            recorded = record_due_instants(session, now=now, currency=self.settings.currency)
        if recorded:
            log.info("ledger: %d entries recorded at scheduled instants", recorded)
        self._next_ledger_look = now + LEDGER_LOOK_EVERY

    def _plan_reconciled(self, now: datetime) -> Iterator[int]:
        """Plan the labels a check-in showed to differ from the record, and every
        `reconcile_every` look over all labels for records that contradict themselves
        (esl/pipeline/check_ins.py)."""
        settlement = self.dispatcher.settlement
        if settlement.replan_wanted:
            # Taken out before planning: a label settlement finds again between two
            # chunks (its rounds run in between) waits for the next poll.
            labels = settlement.take_replan_wanted()
            log.info("reconciliation: planning %d labels again", len(labels))
            try:
                # Their record was corrected and their plan forgotten: the image of now,
                # and the flip of a change already planned ahead (a reset label lost it).
                yield from self._plan_now_and_ahead(labels, now)
            except BaseException:
                settlement.replan_wanted.update(labels)  # planning failed: next poll
                raise
        if not due(self._next_reconcile, now=now, every=self.settings.reconcile_every):
            return
        with self.sessions.begin() as session:
            stuck = reconciliation_candidates(session, now=now)
            if self.stores is not None:
                stuck = labels_in_stores(session, stuck, self.stores)
            forget_desired(session, stuck)
        if stuck:
            log.warning("reconciliation pass: %d labels planned again", len(stuck))
            yield from self._plan_now_and_ahead(stuck, now)
        self._next_reconcile = now + self.settings.reconcile_every

    def _plan_publication(
        self,
        publication_id: int,
        *,
        at: datetime,
        now: datetime,
        finish: Callable[[Session, int], None],
        stores: Collection[str] | None = None,
    ) -> Iterator[int]:
        """Plan the labels a publication may have changed (in `stores` when given) for
        its instant `at` (now if that has passed), a wave of stores at a time.

        Planned for now, these labels dropped any timed image they held: the changes
        ahead are planned again (each travels with the image of now). Waiting for this
        publication's instant to be seen passing misses one published in the instant
        of a look."""
        yield from self._plan_selection(
            PublicationLabels(publication_id),
            at=max(at, now),
            now=now,
            display_at=at if at > now else None,
            finish=finish,
            stores=stores,
            after_wave=functools.partial(self._plan_changes_ahead, now=now) if at <= now else None,
        )

    def _plan_changes_ahead(self, wave: Wave, *, now: datetime) -> Iterator[int]:
        """The wave's labels that a publication already planned ahead changes, planned
        for its instant (a label holds one timed image: the earliest one's)."""
        for ahead, chosen in self._changed_ahead(wave.labels, now, stores=wave.stores)[0]:
            yield from self._plan_chunks(chosen, at=ahead, now=now, display_at=ahead)

    def _plan_selection(
        self,
        selection: LabelSelection,
        *,
        at: datetime,
        now: datetime,
        display_at: datetime | None = None,
        keep_scheduled: bool = False,
        finish: Callable[[Session, int], None] | None = None,
        stores: Collection[str] | None = None,
        after_wave: Callable[[Wave], Iterator[int]] | None = None,
    ) -> Iterator[int]:
        """Plan the labels `selection` picks in `stores` (None: every store this
        controller serves) a wave of whole stores at a time (`esl.pipeline.store_waves`):
        a wave's labels, targets, catalogue slice and ledger are let go before the next
        is read, so memory follows a wave, not the change. `finish` runs in the last
        chunk's transaction with the number of labels planned; `after_wave` after each
        wave, with it."""
        with self.sessions() as session:
            counts = bound_labels_by_store(session, self.stores if stores is None else stores)
        upcoming = waves(self.sessions, selection, counts, size=self.settings.plan_wave)
        wave = next(upcoming, None)
        if wave is None and finish is not None:
            with self.sessions.begin() as session:
                finish(session, 0)  # nothing to change: planned all the same
        total = 0
        while wave is not None:
            # Read one ahead: the last wave's last chunk records the plan.
            following = next(upcoming, None)
            total += len(wave.labels)
            yield from self._plan_chunks(
                wave.labels,
                at=at,
                now=now,
                display_at=display_at,
                keep_scheduled=keep_scheduled,
                finish=(
                    functools.partial(_with_count, finish, total)
                    if finish is not None and following is None
                    else None
                ),
            )
            if after_wave is not None:
                yield from after_wave(wave)
            wave = following

    def _plan_chunks(
        self,
        labels: list[str],
        *,
        at: datetime,
        now: datetime,
        display_at: datetime | None = None,
        keep_scheduled: bool = False,
        finish: Callable[[Session], None] | None = None,
    ) -> Iterator[int]:
        prices = None
        chunks: list[tuple[list[str] | None, list[PlanTarget] | None]] = [(labels, None)]
        chunk_size = self.settings.plan_chunk
        if len(labels) > chunk_size or self.stores is not None:
            with self.sessions() as session:
                ordered, skus, stores = self.planner.dispatch_order(session, labels)
                # Each chunk reads the ledger of its own SKUs: chunks follow the SKU order
                # within every store, so the first frames go out without waiting for
                # the whole plan's price history.
                prices = self.planner.load_prices(session, skus, stores=stores, ledger_now=False)
            chunks = [(None, part) for part in in_chunks(ordered, chunk_size)] or [([], None)]
        for index, (chunk, targets) in enumerate(chunks):
            last = finish is not None and index == len(chunks) - 1
            while True:
                if targets is not None and self.stores is not None:
                    # Looked at chunk by chunk: a store given up midway is its new holder's,
                    # one lost and taken back midway is planned again from what it is now.
                    targets = [
                        target
                        for target in targets
                        if target.store in self.stores
                        and target.store not in self._taken_back_in_pass
                    ]
                try:
                    with self.sessions.begin() as session:
                        result = self.planner.plan(
                            session,
                            at=at,
                            now=now,
                            label_ids=chunk,
                            targets=targets,
                            display_at=display_at,
                            keep_scheduled=keep_scheduled,
                            prices=prices,
                        )
                        if finish is not None and last:
                            finish(session)
                        # A worker: its targets (the chunk's labels are targets then), and
                        # the stores `finish` records the plan for (those still held).
                        self._fence(
                            session,
                            (self.stores or frozenset())
                            if last
                            else {target.store for target in targets or ()},
                        )
                except StoresLost as error:
                    # Taken over while this worker planned them (with prices read before,
                    # maybe, a newer publication their new holder planned): their frames
                    # would supersede the holder's. Planned again for the stores kept.
                    self._lose_stores(error.stores)
                    continue
                break
            if result.planned:
                self.dispatcher.notice_new_work()
            if result.unplannable:
                log.warning("%d labels cannot be planned", len(result.unplannable))
            yield result.planned

    def _plan_publications(self, now: datetime) -> Iterator[int]:
        """Plan what the planning queue holds and is not planned yet (`esl.planning_queue`)."""
        if self.stores is not None:
            yield from self._plan_publications_by_store(now)
            return
        with self.sessions() as session:
            waiting = waiting_publications(session)
        for publication_id, at in waiting:
            if at > now + self.settings.lead:
                continue  # too early to send: planned once it is `lead` away
            recorded: list[int] = []  # the labels, once recorded

            def record(
                session: Session,
                labels: int,
                publication_id: int = publication_id,
                recorded: list[int] = recorded,
            ) -> None:
                session.add(
                    PlannedPublicationRow(
                        publication_id=publication_id, planned_at=now, labels=labels
                    )
                )
                recorded[:] = [labels]

            yield from self._plan_publication(publication_id, at=at, now=now, finish=record)
            # Said once committed (a transaction rolled back planned nothing).
            for labels in recorded:
                log.info("publication %d: %d labels planned", publication_id, labels)

    def _plan_publications_by_store(self, now: datetime) -> Iterator[int]:
        """A worker's share of the queue: each publication for the stores it holds."""
        with self.sessions() as session:
            waiting = waiting_for_stores(session, self.stores or ())
        for publication_id, at, stores in waiting:
            if at > now + self.settings.lead:
                continue

            # The labels and the stores the plan was recorded for, by the try that
            # committed: one a fence rolled back (stores taken over meanwhile) recorded
            # nothing, and the next try records only the stores kept.
            recorded: list[tuple[int, frozenset[str]]] = []

            def record(
                session: Session,
                labels: int,
                publication_id: int = publication_id,
                stores: frozenset[str] = stores,
                recorded: list[tuple[int, frozenset[str]]] = recorded,
            ) -> None:
                # Only the stores still held: one given up midway is planned by its holder.
                held = stores & (self.stores or frozenset()) - self._taken_back_in_pass
                record_planned_for_stores(session, publication_id, held, now=now, labels=labels)
                recorded[:] = [(labels, held)]

            yield from self._plan_publication(
                publication_id, at=at, now=now, finish=record, stores=stores
            )
            # Said once committed, of the stores it was recorded for.
            for labels, held in recorded:
                if held:
                    log.info(
                        "publication %d: %d labels of %d stores planned",
                        publication_id,
                        labels,
                        len(held),
                    )

    def _planned_ahead(self, session: Session, now: datetime) -> list[tuple[int, datetime]]:
        """Publications already planned whose instant is still ahead, earliest first."""
        return queued_publications(session, after=now)

    def _plan_after_flips(self, now: datetime) -> Iterator[int]:
        """When the instant of a planned publication has passed (and at start), plan the
        publications still ahead again: a label holds one timed image, the earliest, so
        one that held the change just past gets the next one now. Labels already holding
        it cost a comparison.

        A label changed by a publication whose instant passed is planned for now too
        when its plan is not that publication's timed image: when one look sees two
        instants pass (the controller busy, or the database away, across both), a label
        flipped to the first change on its own and nothing timed the second. One whose
        timed image was the last change past flipped to it on its own: nothing to do."""
        since = self._flips_seen
        crossed: list[tuple[int, datetime]] = []
        with self.sessions() as session:
            if since is not None:
                crossed = queued_publications(session, after=since, until=now)
                if not crossed:
                    self._flips_seen = now
                    return
        if crossed:
            # The change ahead is resolved with the ledger up to its instant: the prices of
            # the instant just passed must be in it first, or a reduction starting minutes
            # later is given a 30-day prior price without them.
            self._record_due_instants(now)
        with self.sessions() as session:
            ahead = self._planned_ahead(session, now)
            counts = bound_labels_by_store(session, self.stores) if crossed else {}
        for publication_id, at in ahead:
            yield from self._plan_selection(
                PublicationLabels(publication_id), at=at, now=now, display_at=at
            )
        # Store by store, as every pass over a whole change.
        for stores in store_groups(counts, size=self.settings.plan_wave):
            with self.sessions() as session:
                last_change: dict[str, datetime] = {}  # label -> the last instant past
                for publication_id, at in crossed:
                    last_change.update(
                        dict.fromkeys(PublicationLabels(publication_id).labels(session, stores), at)
                    )
                states = load_label_states(session, last_change, create=False)
                passed = sorted(
                    label_id
                    for label_id, at in last_change.items()
                    if label_id in states and states[label_id].desired_display_at != at
                )
            if passed:
                # A label now holding a timed image of a change ahead got the image of
                # now with it: keep that.
                yield from self._plan_chunks(passed, at=now, now=now, keep_scheduled=True)
        self._flips_seen = now

    def _plan_now_and_ahead(self, labels: list[str], now: datetime) -> Iterator[int]:
        """Plan `labels` (just bound) for now, and those a publication already planned
        ahead changes for its instant too: the image of now and the timed image.

        A label holds one timed image: of several publications ahead, the first one's.
        """
        timed, remaining = self._changed_ahead(labels, now)
        for at, chosen in timed:
            yield from self._plan_chunks(chosen, at=at, now=now, display_at=at)
        if remaining:
            yield from self._plan_chunks(sorted(remaining), at=now, now=now)

    def _changed_ahead(
        self, labels: list[str], now: datetime, *, stores: Collection[str] | None = None
    ) -> tuple[list[tuple[datetime, list[str]]], set[str]]:
        """Of `labels` (hanging in `stores`, when the caller knows), those a publication
        already planned ahead changes, by its instant (a label holds one timed image: the
        earliest publication's); and the rest."""
        with self.sessions() as session:
            remaining = set(labels)
            timed: list[tuple[datetime, list[str]]] = []
            planned_ahead = self._planned_ahead(session, now)
            if planned_ahead and stores is None:
                stores = stores_of(session, labels)
            for publication_id, at in planned_ahead:
                # Read in the labels' stores only: a national change names every store.
                changed = remaining.intersection(
                    PublicationLabels(publication_id).labels(session, stores or ())
                )
                if changed:
                    timed.append((at, sorted(changed)))
                    remaining -= changed
        return timed, remaining

    def _plan_new_bindings(self, now: datetime) -> Iterator[int]:
        """Plan labels bound (or re-bound) since the last look.

        Bindings are rows that are never rewritten (a re-binding is a new row), so only
        those above the highest id already looked at are candidates: a poll with nothing
        new costs one indexed lookup, not a scan of every label (which, at a poll every
        50 ms, was a tenth of the controller's time). An id skipped below that is looked
        for again at every poll, as its transaction may still commit, until the periodic
        re-plan (which covers it) is due (`IdWatermark`). A binding that could not be
        planned is tried again by the periodic re-plan.
        """
        mark = self._bindings
        waiting = mark.waiting(now)
        seen = mark.seen or 0
        with self.sessions() as session:
            newest = session.scalar(select(func.max(LabelBindingRow.id))) or 0
            if newest <= seen and not waiting:
                return
            found_gaps = self._bindings_found(session, LabelBindingRow.id.in_(waiting))
        if labels := _unplanned(found_gaps):
            yield from self._plan_now_and_ahead(labels, now)
        # The new ids a wave at a time: at the first look every binding is new (the
        # start-up re-plan covers them: none is missing then).
        missing: list[int] = []  # ids not found, while they are few enough to keep
        for low in range(seen, newest, self.settings.plan_wave):
            high = min(low + self.settings.plan_wave, newest)
            with self.sessions() as session:
                found = self._bindings_found(
                    session, and_(LabelBindingRow.id > low, LabelBindingRow.id <= high)
                )
            if len(missing) <= mark.room():
                missing += ids_missing(low, high, {row[0] for row in found})
            if labels := _unplanned(found):
                yield from self._plan_now_and_ahead(labels, now)
        mark.moved(newest, found=[row[0] for row in found_gaps], missing=missing, now=now)

    def _plan_associated_anew(self, now: datetime) -> Iterator[int]:
        """Plan the BLE labels associated anew since the last look (the API recorded it:
        `panel_history.associated_anew_since`; their plan forgotten then): their whole
        image sent at once, not at the reconciliation pass. A row whose transaction
        commits after a later one's was looked at is looked for again at every poll
        (`IdWatermark`), until that pass (which covers it) has come round."""
        mark = self._history
        with self.sessions.begin() as session:
            look = associated_anew_since(
                session, mark.seen, waiting=mark.waiting(now), room=mark.room()
            )
            labels = look.labels
            if labels and self.stores is not None:
                labels = labels_in_stores(session, labels, self.stores)
        mark.moved(look.newest, found=look.found, missing=look.missing, now=now)
        if labels:
            log.info("%d labels associated anew: planned again", len(labels))
            yield from self._plan_now_and_ahead(labels, now)

    def _bindings_found(
        self, session: Session, which: ColumnElement[bool]
    ) -> list[tuple[int, str, datetime | None, int | None]]:
        """(binding id, label, unbound at, binding its label was last planned for) of the
        bindings `which` picks."""
        return [
            (binding_id, label_id, unbound_at, planned_binding)
            for binding_id, label_id, unbound_at, planned_binding in session.execute(
                select(
                    LabelBindingRow.id,
                    LabelBindingRow.label_id,
                    LabelBindingRow.unbound_at,
                    LabelStateRow.binding_id,
                )
                .outerjoin(LabelStateRow, LabelStateRow.label_id == LabelBindingRow.label_id)
                .where(which)
            )
        ]

    def _plan_identification(self, now: datetime) -> Iterator[int]:
        """Labels bound to no product show their identification screen (planned in
        chunks; a label already showing it costs a comparison)."""
        with self.sessions() as session:
            labels = labels_bound_to_nothing(session)
            if self.stores is not None:
                labels = labels_in_stores(session, labels, self.stores)
        for part in in_chunks(labels, self.settings.plan_chunk):
            while True:
                try:
                    with self.sessions.begin() as session:
                        result = plan_identification(self.planner, session, now=now, label_ids=part)
                        # The chunk's stores are not known here: every store held.
                        self._fence(session, self.stores or frozenset())
                except StoresLost as error:
                    self._lose_stores(error.stores)
                    with self.sessions() as session:
                        part = labels_in_stores(session, part, self.stores or frozenset())
                    continue
                break
            if result.planned:
                self.dispatcher.notice_new_work()
            # Looked at every few seconds: say so once per label, not at every look.
            for label_id in result.unplannable.keys() - self._unidentifiable:
                log.warning(
                    "%s cannot show its identification: %s",
                    label_id,
                    result.unplannable[label_id],
                )
            self._unidentifiable |= result.unplannable.keys()
            yield result.planned

    def _plan_changed_templates(self, now: datetime) -> Iterator[int]:
        """Plan the labels bound to a template uploaded (or changed) since the last look.

        The first look only takes note: the start-up re-plan draws every label anyway.
        A label holding a scheduled image keeps its flip (as in the periodic re-plan):
        the flip is planned again in the new layout, with the image of now in front.
        """
        with self.sessions() as session:
            versions: dict[str, int] = {
                row.name: row.version
                for row in session.execute(select(LabelTemplateRow.name, LabelTemplateRow.version))
            }
            seen = self._template_versions
            changed = (
                [name for name, version in versions.items() if seen.get(name) != version]
                if seen is not None
                else []
            )
            labels = (
                list(
                    session.scalars(
                        select(LabelBindingRow.label_id).where(
                            LabelBindingRow.template.in_(changed),
                            LabelBindingRow.unbound_at.is_(None),
                        )
                    )
                )
                if changed
                else []
            )
        if labels:
            log.info("templates %s changed: planning %d labels", sorted(changed), len(labels))
            yield from self._plan_chunks(labels, at=now, now=now, keep_scheduled=True)
        self._template_versions = versions


def _with_count(finish: Callable[[Session, int], None], labels: int, session: Session) -> None:
    finish(session, labels)


def _unplanned(found: list[tuple[int, str, datetime | None, int | None]]) -> list[str]:
    """The labels of bindings still bound whose label was last planned for another."""
    return [
        label_id
        for binding_id, label_id, unbound_at, planned_binding in found
        if unbound_at is None and planned_binding != binding_id
    ]
