"""Settlement: verified answers back into the database, one transaction per batch.

Every uplink is verified with its label's key (`verification`), matched to its outbox
row by (label, sequence) and settled with the others of its batch:

- what an answer says the label shows is believed only when it is newer, in the label's
  own signed order, than every claim already held (`answer_acceptance`): a replayed,
  duplicated or reordered answer is counted and logged, never applied;
- what the answer means for its frame is a pure decision (`verdicts`): acked, retried
  with a backoff, parked with a reason, rebuilt as a full image, sent at its instant, or
  re-signed when it reached the label altered (a security event each time, parked as
  "tampered in transit" only when the attempts run out);
- a late answer to a superseded frame is history, never the newer content's confirmation;
- the health each believed report carries (battery, signal) is sampled into the label's
  history (`label_vitals`), in the same transaction;
- a check-in is weighed against the record (`check_ins`), and so is any other believed
  answer that settles no open frame (a ping's): a label whose panel differs gets its
  record corrected and is planned again (`replan_wanted`, taken by the controller at its
  next poll), and updates parked as unreachable are retried once it is heard;
- a store gateway's own report (unsigned: why a label gave no answer, or that it is in
  reach again) is taken apart from the answers (`gateway_reports`).

The dispatcher owns the windows; settlement frees a frame's slot, or says when a row
comes due again, through the `FlightWindows` it is given.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
from collections.abc import Callable, Collection, Iterator, Mapping, Set
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from esl.db.bulk import insert_rows
from esl.db.models import LabelAcknowledgementRow, LabelRow, core_table
from esl.db.repositories import in_chunks
from esl.delivery_states import OPEN_STATUSES, OutboxStatus, ParkReason, RecordedPanel, park_text
from esl.pipeline.answer_acceptance import (
    Refusal,
    accept_claim,
    counter_went_back,
    health_is_newer,
    held_claim,
    judge_answer,
    note_health,
    note_label_time,
    note_later_word,
    signed_before_a_later_word,
)
from esl.pipeline.check_ins import CheckInVerdict, reconcile, weigh_check_ins
from esl.pipeline.frames import full_image_frame, resigned_frame
from esl.pipeline.gateway_reports import ReportHandling, take_gateway_reports
from esl.pipeline.held_flips import note_answered_image
from esl.pipeline.images import ImageStore
from esl.pipeline.label_actions import (
    answer_label_actions,
    ask_again,
    signed_action_sequences,
    stale_refusals,
)
from esl.pipeline.label_clocks import (
    CLOCK_TOLERANCE,
    clock_offsets,
    request_clock_settings,
    sets_clock,
)
from esl.pipeline.label_moves import move_labels, request_probes
from esl.pipeline.label_states import (
    ANSWERED_COLUMNS,
    LabelState,
    load_label_states,
    save_label_states,
)
from esl.pipeline.label_vitals import VitalSign, VitalsRecorder, VitalsSampling, vital_sign
from esl.pipeline.outbox_rows import (
    OUTBOX,
    OutboxEntry,
    outbox_entries,
    save_outbox_entries,
    unparked,
)
from esl.pipeline.retry import RetryPolicy
from esl.pipeline.security_events import (
    SecurityEvent,
    SecurityEventCoalescing,
    SecurityEventKind,
    record_security_events,
)
from esl.pipeline.verdicts import INTEGRITY_FAILURES, Parking, Verdict, verdict_for
from esl.pipeline.verification import LabelKey, UplinkVerifier
from gateways.base import Clock, Uplink
from gateways.protocol import (
    MAX_SEQUENCE,
    BasicStateFlag,
    FrameKind,
    LabelResponse,
    ReasonCode,
    is_gateway_report,
)
from gateways.protocol import LabelState as PanelState

__all__ = ["DispatchCounts", "FlightWindows", "Settlement"]

log = logging.getLogger(__name__)

# Parked for these reasons, an update is worth another try as soon as the label is heard
# able to refresh. One parked `busy` too, once the label is heard not refreshing
# (`_unpark`): kept busy past the retry budget by changes in a row, it has a moment now;
# before, it kept the old price until another change replaced the update.
_RETRY_WHEN_HEARD = (ParkReason.OFFLINE.value, ParkReason.FLAT_BATTERY.value)
# Duplicates are everyday QoS 1 and radio life; a busy or stale refusal is protocol
# traffic that only places no claim. Replays, reordering and unsigned sequences warn.
_REFUSAL_LOG_LEVEL = {Refusal.DUPLICATE: logging.INFO, Refusal.NOT_TAKEN: logging.DEBUG}
# A row in one of these has had its answer: another one is late.
_SETTLED = (OutboxStatus.SUPERSEDED, OutboxStatus.ACKED)
# An image acknowledged on every attempt with another panel than it leaves.
_ANOTHER_PANEL = Parking(ParkReason.REJECTED, "acknowledged showing another image every time")
# How far a check-in may count beyond the record and still be believed: a database that
# lost its last commits, or was restored from a backup, lost a few sequence numbers per
# label, never a sizeable part of the 2^32 a label has.
_AHEAD_AT_MOST = 1 << 16
# A label refusing a frame still open as stale counts further than the record by a number
# nobody knows (frames lost from the database), and a frame has only a few attempts (5 by
# default) before it is parked: each refusal signs it again this many times further above
# the record than the refusal before (1, 16, 256, 4,096), never beyond `_AHEAD_AT_MOST`.
# Numbers skipped cost nothing: a label takes any higher one, and has 2^32.
_STALE_REACH_GROWTH_BITS = 4  # x16
_OPEN = tuple(status.value for status in OPEN_STATUSES)


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
    moved: int = 0  # labels moved to the gateway that relays them (`label_moves`)
    # Answers whose claim was not believed, by `Refusal` (replayed, duplicated, unsigned).
    refused_answers: dict[str, int] = field(default_factory=dict)
    # Frames a label received altered, re-signed and sent again (or parked at the end).
    tampered: int = 0
    # Store gateways' own reports taken (gateway_reports), and refused by reason.
    gateway_reports: int = 0
    refused_reports: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def kept_only_if_committed(self) -> Iterator[None]:
        """What is counted inside the block stands only if the block ends normally (its
        transaction committed). A transaction refused at its COMMIT (a serialization
        failure, the connection lost) or rolled back by a fence left nothing done: its
        answers and timeouts are taken again from the database, and counted then. Kept,
        an answer settled twice counted two acknowledgements for one (the worker's
        `acknowledged` in the record too, `record_acknowledged`)."""
        before = copy.deepcopy(self)
        try:
            yield
        except BaseException:
            for counted in fields(self):
                setattr(self, counted.name, getattr(before, counted.name))
            raise


class FlightWindows(Protocol):
    """What settling needs of the dispatcher's windows."""

    def release_flight(self, label_id: str, sequence: int, row_id: int | None = None) -> None:
        """The frame was answered: its slot in the window is free."""

    def extend_flight(self, label_id: str, sequence: int) -> bool:
        """The frame's gateway says it is still on its way: wait longer for its answer."""

    def due_at(self, store: str, gateway: str, instant: datetime) -> None:
        """A row of this gateway comes due at `instant`."""

    def forget_idle(self) -> None:
        """Rows became pending: every gateway may have something due again."""

    def notice_new_work(self) -> None:
        """Rows became pending for a gateway that may have had none: look for it."""


class Settlement:
    """Settles verified answers; decides retries and parking for the dispatcher too."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        images: ImageStore,
        windows: FlightWindows,
        clock: Clock,
        rng: random.Random,
        policy: RetryPolicy,
        counts: DispatchCounts,
        vitals: VitalsSampling | None = None,
        clock_tolerance: timedelta | None = CLOCK_TOLERANCE,
        security_events: SecurityEventCoalescing | None = None,
    ) -> None:
        self.sessions = sessions
        self.security_events = security_events or SecurityEventCoalescing()
        # Label clocks off by more than this are set; None: neither set nor judged.
        self.clock_tolerance = clock_tolerance
        self.images = images
        self.windows = windows
        self.clock = clock
        self.rng = rng
        self.policy = policy
        self.counts = counts
        self.verifier = UplinkVerifier(self._load_keys, clock=clock)
        self.vitals = VitalsRecorder(vitals or VitalsSampling())
        # Labels a check-in showed to differ from the record: the controller plans them.
        self.replan_wanted: set[str] = set()
        # A worker's fence (`UpdateController._fence`): called last in a settling
        # transaction with the stores of its answers, it raises `StoresLost` (and so rolls
        # the transaction back) when one was taken over since the worker's last balance.
        # None: a single controller, every store its own.
        self.fence: Callable[[Session, Collection[str]], None] | None = None

    def take_replan_wanted(self) -> list[str]:
        """The labels to plan again, taken out: one found again meanwhile waits for the
        next take."""
        labels, self.replan_wanted = sorted(self.replan_wanted), set()
        return labels

    def retry_or_park(self, entry: OutboxEntry, *, now: datetime, parking: Parking) -> None:
        """Send `entry` again after a backoff, or park it once its attempts are spent."""
        if self.policy.exhausted(entry.attempts):
            self.park(entry, now=now, parking=parking)
        else:
            busy = parking.reason is ParkReason.BUSY
            entry.retry_at(now + self.policy.delay_after(entry.attempts, rng=self.rng, busy=busy))
            self.windows.due_at(entry.store, entry.gateway, entry.not_before)
            self.counts.retried += 1

    def park(self, entry: OutboxEntry, *, now: datetime, parking: Parking) -> None:
        """Park `entry` for `parking`'s reason, counted and logged."""
        entry.park(parking, at=now)
        self.counts.parked += 1
        log.info(
            "parked %s seq %d: %s",
            entry.label_id,
            entry.sequence,
            park_text(parking.reason, parking.detail),
        )

    def settle(self, uplinks: list[Uplink]) -> None:
        """Verify and apply a batch of uplinks in one transaction."""
        reports: list[Uplink] = []
        answers: list[Uplink] = []
        for uplink in uplinks:
            (reports if is_gateway_report(uplink.payload) else answers).append(uplink)
        if reports:
            # The gateway's own word, unsigned: never through the labels' verifier.
            self._take_reports(reports)
        uplinks = answers
        verified = self.verifier.verify(uplinks)
        events = self.verifier.take_events()
        if not verified:
            if events:
                with self.sessions.begin() as session:
                    record_security_events(session, events, coalescing=self.security_events)
            return
        now = self.clock()
        with self.counts.kept_only_if_committed(), self.sessions.begin() as session:
            # Locked, and created when new, as planning does (`label_states`): a label
            # heard for the first time while another worker writes its state waits for
            # that write instead of failing at commit (a unique violation that ended the
            # dispatcher), and a frame rebuilt or re-signed here takes a sequence number
            # no other worker signs.
            states = load_label_states(
                session, {response.label_id for _, response in verified}, lock=True
            )
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
            # Label actions' answers refusing their frame as stale (`_actions_refused_stale`)
            stale_answers: list[tuple[int, LabelResponse, Uplink]] = []
            history: list[dict[str, Any]] = []
            # The batch's words by identity (alive until it is settled): each one's row of
            # `history`, and those whose health (battery, `last_seen`) was taken
            recorded: dict[int, dict[str, Any]] = {}
            health_taken: set[int] = set()
            rebuilt: list[dict[str, Any]] = []
            widened: set[str] = set()  # labels whose sequence or schedule support changed
            checked_in: dict[str, bool] = {}  # label -> can refresh its display
            updating: set[str] = set()  # labels that said they are refreshing right now
            # label -> its newest check-in, and when it arrived
            check_ins: dict[str, tuple[LabelResponse, datetime]] = {}
            stale_check_ins: set[str] = set()  # labels whose check-in is older than a claim
            # label -> the clock its newest fresh believed answer (a check-in or any other)
            # carried, when that arrived, and the earliest it can have been signed when
            # known (`label_clocks`)
            clocks: dict[str, tuple[datetime, datetime, datetime | None]] = {}
            # labels whose newest clock can prove only a clock ahead: a check-in from a
            # session's backlog (`Uplink.resumed`), an action's answer
            ahead_only: set[str] = set()
            # label -> its newest believed answer settling no open frame (a ping's, another
            # label action's, a late one), and when it arrived: weighed as a check-in is
            reported: dict[str, tuple[LabelResponse, datetime]] = {}
            # label -> the panel its newest word believed in this batch (a check-in or an
            # answer) reported, until a newer one in the batch replaces it
            believed: dict[str, bytes | None] = {}
            ahead: list[str] = []  # labels whose check-in counts beyond the record
            heard: dict[str, VitalSign] = {}  # label -> the newest health it reported
            # label -> the store and gateway its newest believed word came through
            # (`label_moves`: a label heard via another gateway of its store moves there)
            heard_via: dict[str, tuple[str, str]] = {}
            # label -> the store and gateway a check-in older than a claim held came
            # through (`label_moves.request_probes`: its clock went back, or a replay)
            older_via: dict[str, tuple[str, str]] = {}
            # label -> the acknowledgement of a timed frame refused as older that settled
            # it, and when it arrived: the flip it tells of cannot be placed in the
            # label's order (`_forget_unplaced_flips`)
            unplaced: dict[str, tuple[LabelResponse, datetime]] = {}
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
                signed_after = None if row is None else row.created_at
                if refusal is None and signed_before_a_later_word(
                    state,
                    response,
                    could_show=_could_show(state, response, row),
                    signed_after=signed_after,
                ):
                    # Newer than the claim held by its sequence, but signed before a word
                    # heard already, on another panel: the label reset to factory since
                    # (count 0, a blank panel), or its clock set back. Weighed as an
                    # older check-in is (below), never as the label's newest word.
                    refusal = Refusal.BEFORE_LATER_WORD
                # Judged against every clock reading heard before this answer; then this
                # one is heard too, taken or not: a copy of it proves nothing more.
                went_back = refusal is Refusal.OLDER and counter_went_back(state, response, now=now)
                note_label_time(state, response)
                if refusal in (Refusal.OLDER, Refusal.NOT_TAKEN):
                    # Before its clock raises the claim's bound (`note_health`).
                    note_later_word(state, response, heard_at=uplink.received_at)
                if refusal is Refusal.UNSIGNED_SEQUENCE and _counts_ahead(state, response):
                    # Signed by the label, whose count only frames signed with its key
                    # move: the record lost frames it signed. Believed, and put right.
                    self._ahead_of_record(
                        session, state, response, rows, uplink=uplink, events=events, now=now
                    )
                    ahead.append(response.label_id)
                    widened.add(response.label_id)
                    refusal = None
                taken = refusal is None  # what it shows is taken as the label's panel
                if response.kind is FrameKind.CHECK_IN:
                    # A check-in may be older than the claim held (a label reset, restored
                    # or swapped): `_reconcile` weighs what it shows against the record.
                    # Only a sequence never signed for this label, or the very claim already
                    # held again (a duplicate or a replay), is refused outright.
                    if refusal in (Refusal.UNSIGNED_SEQUENCE, Refusal.DUPLICATE):
                        self._refused(uplink, response, refusal)
                        continue
                    older = refusal in (Refusal.OLDER, Refusal.BEFORE_LATER_WORD)
                    # An older check-in heard before this one in the batch stays weighed
                    # in its place (below)
                    keeps_older = False
                    if not older:
                        accept_claim(state, response)
                        heard_via[response.label_id] = (uplink.store, uplink.gateway)
                        reported.pop(response.label_id, None)  # newer than that answer
                        keeps_older = _shows_something_else(
                            check_ins.get(response.label_id)
                            if response.label_id in stale_check_ins
                            else None,
                            response,
                            state,
                        )
                        if not keeps_older:
                            # Newer than an older check-in heard before it in this batch,
                            # which shows this one's panel or the record's: weighed, it
                            # would change nothing.
                            stale_check_ins.discard(response.label_id)
                        believed[response.label_id] = response.displayed_hash
                    # Its panel is taken unless it is older than a claim held (weighed as
                    # older, never as what the panel shows) or set aside for an older word
                    # weighed in its place.
                    taken = not older and not keeps_older
                    refusal = None
                    checked_in[response.label_id] = (
                        BasicStateFlag.SERVICE_NEEDED not in response.flags
                    )
                    if response.state is PanelState.UPDATING:
                        updating.add(response.label_id)
                    if (
                        older
                        and response.label_id in believed
                        and _hex(response.displayed_hash)
                        in (_hex(believed[response.label_id]), state.confirmed_hash)
                        and not health_is_newer(state, response, now=now)
                    ):
                        # Older, by the label's sequence and its clock, than a word of its
                        # believed in this very batch (a gateway's backlog relayed behind
                        # its live uplinks), and showing that word's panel or the record's:
                        # weighed, it would change nothing. Weighed in that word's place,
                        # as older, it hid that word's panel while an update was open (a
                        # change taken back: the label drew the change, the record kept
                        # the image before it, and the audit said `match`). Showing
                        # anything else it is weighed as older, as any: the record forgets
                        # what the label shows. Skipped, a label reset to factory after
                        # that word (its count back at 0, its clock restarted behind, a
                        # blank panel) relayed in the same batch left the record on the
                        # price it no longer shows: `match` on a blank shelf.
                        continue
                    if older:
                        # Never believed (a replay looks just like this): what it shows
                        # is weighed as older than the record, so a difference sends
                        # the due image again, in full. A parked update is sent again
                        # too: a label whose clock went back (a new battery) answers it
                        # with a newer claim; a replay costs one more try.
                        stale_check_ins.add(response.label_id)
                        older_via[response.label_id] = (uplink.store, uplink.gateway)
                        if not health_is_newer(state, response, now=now):
                            # Nor its battery, nor its being alive: a replayed check-in
                            # says nothing of now.
                            check_ins[response.label_id] = (response, uplink.received_at)
                            continue
                        note_health(state, response)  # a replay of it no longer counts
                    if _record_health(
                        state, response, uplink.received_at, now=now, displayed=False
                    ):
                        heard[response.label_id] = vital_sign(response, uplink.received_at)
                        health_taken.add(id(response))
                        if not older:
                            self._heard_clock(clocks, ahead_only, response, uplink)
                    if not keeps_older:
                        # What it shows is weighed whether or not its health is taken: a
                        # believed check-in stamped by its gateway before the label's last
                        # heard word (a resumed gateway's backlog) moved the claim on while
                        # its panel was never weighed: the record kept the image before a
                        # change the label drew, and with a frame of the due price on its
                        # way the audit said `match`.
                        check_ins[response.label_id] = (response, uplink.received_at)
                elif refusal is None:
                    accept_claim(state, response, signed_after=signed_after)
                    heard_via[response.label_id] = (uplink.store, uplink.gateway)
                    # Newer than the label's check-ins heard before it in this batch:
                    # what they show is not weighed against what this answer reports.
                    check_ins.pop(response.label_id, None)
                    stale_check_ins.discard(response.label_id)
                    believed[response.label_id] = response.displayed_hash
                    # An answer settling no open frame of the record's (a ping's) is
                    # weighed as a check-in is (below), against the image of now it
                    # would otherwise overwrite: taken as displayed first, a restored
                    # panel beside a held flip was judged the image of now, "expected".
                    settles = row is not None and row.status not in _SETTLED
                    if _record_health(
                        state, response, uplink.received_at, now=now, displayed=settles
                    ):
                        heard[response.label_id] = vital_sign(response, uplink.received_at)
                        health_taken.add(id(response))
                        # Its clock too: a label heard only through its answers (the
                        # acknowledgement of a timed image, a ping's) never checks in.
                        self._heard_clock(
                            clocks,
                            ahead_only,
                            response,
                            uplink,
                            signed_after=None if row is None else row.answered_after,
                            relayed=True,
                        )
                else:
                    if went_back or refusal is Refusal.BEFORE_LATER_WORD:
                        # Signed now, after every clock reading the label signed before,
                        # for a frame older than one: the label's count went back (reset to
                        # factory, restored) and it took an old frame of ours again (a
                        # replay: it draws that old price). Weighed as an older check-in
                        # is: a difference makes the record forget what the label shows
                        # and sends the due image in full. Not its newest claim, nor its
                        # time the claim's bound (the label's own check-ins signed before
                        # it would look older): `note_label_time` makes a copy of it
                        # prove nothing more. So is an answer signed before a later word
                        # heard on another panel (the label reset since): neither its
                        # panel nor its health is the label's newest.
                        stale_check_ins.add(response.label_id)
                        check_ins[response.label_id] = (response, uplink.received_at)
                        if went_back and _record_health(
                            state, response, uplink.received_at, now=now, displayed=False
                        ):
                            heard[response.label_id] = vital_sign(response, uplink.received_at)
                            health_taken.add(id(response))
                    elif refusal is Refusal.NOT_TAKEN and health_is_newer(state, response, now=now):
                        # Alive, and its battery as of its own clock: but no position
                        # for what it shows.
                        note_health(state, response)
                        if _record_health(
                            state, response, uplink.received_at, now=now, displayed=False
                        ):
                            heard[response.label_id] = vital_sign(response, uplink.received_at)
                            health_taken.add(id(response))
                    self._refused(uplink, response, refusal)
                was_open = row is not None and row.status not in _SETTLED
                if action is not None:
                    if response.reason in INTEGRITY_FAILURES:
                        # Never the label's answer to the person: an altered copy or a
                        # forgery in our name. The genuine frame's answer still counts.
                        self._tampered(events, response, uplink, now=now, what="a label action")
                    elif response.reason is ReasonCode.STALE_SEQUENCE:
                        stale_answers.append((action, response, uplink))
                    else:
                        action_answers.append((action, response, uplink.received_at))
                        if refusal is None:
                            # Heard, as by a check-in: a BLE label checks in with nothing
                            # else (a keep-alive ping's answer is all it says), and its
                            # updates parked as unreachable were never sent again.
                            checked_in.setdefault(
                                response.label_id,
                                BasicStateFlag.SERVICE_NEEDED not in response.flags,
                            )
                            if response.state is PanelState.UPDATING:
                                updating.add(response.label_id)
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
                        believed=refusal is None,
                        shown=_hex(believed[response.label_id])
                        if response.label_id in believed
                        else state.displayed_hash,
                    )
                if (
                    refusal in (Refusal.OLDER, Refusal.BEFORE_LATER_WORD)
                    and was_open
                    and acked_hash is not None
                    and row is not None
                    and row.display_at is not None
                    and response.label_time < row.display_at
                ):
                    unplaced[response.label_id] = (response, uplink.received_at)
                if refusal is None and not was_open and response.kind is not FrameKind.CHECK_IN:
                    # The label's newest word on its panel, and no frame of the record's
                    # that it settled: what it shows is weighed against the record as a
                    # check-in's is (below). Only taking it as `displayed_hash` left the
                    # record confirming an image the label just said it does not show:
                    # health "up to date", nothing planned, until the periodic pass
                    # (minutes; a keep-alive ping answer after 45 minutes of silence).
                    reported[response.label_id] = (response, uplink.received_at)
                if refusal is not None and not was_open:
                    continue  # nothing believed, nothing settled: no history either
                recorded[id(response)] = _history_row(
                    response,
                    uplink.received_at,
                    taken=taken,
                    acked_hash=acked_hash,
                    heard=id(response) in health_taken,
                )
                history.append(recorded[id(response)])
            behind = self._actions_refused_stale(
                session,
                states,
                stale_answers,
                action_answers=action_answers,
                events=events,
                now=now,
            )
            # The batch's settled frames first: a frame whose answer is weighed as an older
            # check-in (signed before a later word) is no update still on its way.
            save_outbox_entries(session, rows.values())
            # An answer believed after a label's check-in is newer than it.
            weighed = {**check_ins, **reported}
            weighing = weigh_check_ins(
                session,
                states,
                weighed,
                # This batch's answers and rebuilt frames count too.
                answered_now=[(entry["label_id"], entry["sequence"]) for entry in history],
                open_now={row["label_id"] for row in rebuilt},
                older=stale_check_ins - reported.keys(),
                judge_flips=self.clock_tolerance is not None,
            )
            reconciled = weighing.reconciled
            _forget_unplaced_flips(states, unplaced)
            _keep_forgetting(
                history,
                recorded,
                health_taken,
                [
                    *(weighed[label] for label in weighing.forgotten),
                    *behind.values(),
                    *unplaced.values(),
                ],
                states=states,
            )
            offsets, set_right = self._judge_clocks(states, clocks, late=ahead_only, now=now)
            reconciled = list(dict.fromkeys([*reconciled, *set_right]))
            found = list(dict.fromkeys([*ahead, *behind, *unplaced]))
            reconciled = [*found, *(label for label in reconciled if label not in found)]
            widened.update(reconciled)
            save_label_states(
                session, states.values(), columns=None if widened else ANSWERED_COLUMNS
            )
            insert_rows(session, OUTBOX, rebuilt)
            insert_rows(session, core_table(LabelAcknowledgementRow), history)
            record_security_events(session, events, coalescing=self.security_events)
            answer_label_actions(session, action_answers)
            # After the answers: a SetClock answered late in this batch is no longer open,
            # so its label's clock, found behind by it, is set again at once.
            request_clock_settings(session, offsets, now=now)
            # After the batch's rows are written: rows it rebuilt go via the new gateway too.
            self._move(session, heard_via, now=now)
            # Heard via another gateway only older than a claim: ask it there. A newer
            # word in the batch decided already (moved, or it is where it was heard).
            request_probes(
                session,
                {label: via for label, via in older_via.items() if label not in heard_via},
                now=now,
            )
            self._unpark(session, checked_in, now=now, updating=updating)
            self.vitals.record(session, heard)
            if self.fence is not None:
                # Last: a store taken over meanwhile rolls all of this back, so no record
                # is corrected without its re-plan (kept in memory, by this worker only).
                self.fence(session, {uplink.store for uplink, _ in verified})
        self.vitals.committed()
        self.replan_wanted.update(reconciled)
        self.counts.reconciled += len(reconciled)

    def _heard_clock(
        self,
        clocks: dict[str, tuple[datetime, datetime, datetime | None]],
        ahead_only: set[str],
        response: LabelResponse,
        uplink: Uplink,
        *,
        signed_after: datetime | None = None,
        relayed: bool = False,
    ) -> None:
        """A fresh believed answer's clock, when it arrived and the earliest it can have
        been signed (its frame's last send, when known): the label's newest that says
        anything. Without that instant, an answer from a session's backlog, or any answer
        but a check-in (`relayed`: a store gateway may relay it long after it was signed),
        proves only a clock ahead. An answer that proves nothing of the clock (`clock_offsets`
        leaves it out) does not undo what an earlier answer of the batch proved: a ping's
        answer, or an acknowledgement whose send does not bound it, after a check-in
        behind left the label unset (review)."""
        label_id = response.label_id
        # A SetClock's acknowledgement reads the clock as the SetClock set it, however
        # late the label took it: judged against its arrival, whichever way it came.
        late = signed_after is None and (uplink.resumed or relayed) and not sets_clock(response)
        heard = (response.label_time, uplink.received_at, signed_after)
        if label_id in clocks and self.clock_tolerance is not None:
            says = clock_offsets(
                {label_id: heard}, late={label_id} if late else (), tolerance=self.clock_tolerance
            )
            if not says:
                return
        clocks[label_id] = heard
        if late:
            ahead_only.add(label_id)
        else:
            ahead_only.discard(label_id)

    def _judge_clocks(
        self,
        states: Mapping[str, LabelState],
        clocks: Mapping[str, tuple[datetime, datetime, datetime | None]],
        *,
        late: Collection[str],
        now: datetime,
    ) -> tuple[dict[str, int | None], list[str]]:
        """Keep what the batch's fresh answers say of their labels' clocks
        (`label_states.clock_offset_ms`, which the audit flips timed images by). With the
        tolerance off, clocks are neither set nor judged: no offset is kept.

        Returns the offsets found (`label_clocks.clock_offsets`: those off get a SetClock,
        `request_clock_settings`, once the batch's action answers are recorded) and the
        labels to plan again: a clock found ahead and now right, with a change
        planned ahead. Planning sent that change as an immediate frame held for its instant
        while the clock ran ahead (a timed image would flip early); with the clock set it
        goes as a timed image again, which the label holds and flips on its own. Forgotten
        in this transaction (`desired_key`), so any planning pass does it, on any worker."""
        if self.clock_tolerance is None:
            offsets: dict[str, int | None] = dict.fromkeys(clocks)
        else:
            offsets = clock_offsets(clocks, late=late, tolerance=self.clock_tolerance)
        set_right: list[str] = []
        for label_id, offset in offsets.items():
            state = states[label_id]
            if state.clock_offset_ms != offset:
                was_ahead = state.clock_offset_ms is not None and state.clock_offset_ms > 0
                if (
                    was_ahead
                    and offset is None
                    and state.desired_display_at is not None
                    and state.desired_display_at > now
                ):
                    state.desired_key = None
                    set_right.append(label_id)
                state.clock_offset_ms = offset
                state.changed = True
        return offsets, set_right

    def _ahead_of_record(
        self,
        session: Session,
        state: LabelState,
        response: LabelResponse,
        rows: Mapping[tuple[str, int], OutboxEntry],
        *,
        uplink: Uplink,
        events: list[SecurityEvent],
        now: datetime,
    ) -> None:
        """A verified check-in (or acknowledgement, `_counts_ahead`) names a sequence above
        the last one the record signed for its label: the label took frames the database
        no longer holds (its last commits lost, a restore from a backup) or frames signed
        with its key elsewhere. What it shows is its own word and the newest: the record
        takes it, as for any newer check-in, the count goes on above the label's (the
        next frame would be refused as stale), frames of the label signed with numbers it
        already passed are superseded, and the label is planned again. Said loudly: a
        security event."""
        check_in = response.kind is FrameKind.CHECK_IN
        what = "checked in with" if check_in else "acknowledged a frame the record lost, with"
        noun = "check-in" if check_in else "acknowledgement"
        log.warning(
            "security: %s %s sequence %d, above the last one the record "
            "signed (%d): frames signed with its key are missing from the database "
            "(commits lost, a restore) or were signed elsewhere; record corrected",
            response.label_id,
            what,
            response.sequence,
            state.last_sequence,
        )
        events.append(
            _sequence_ahead(
                uplink,
                response,
                f"{noun} at sequence {response.sequence}, "
                f"record signed up to {state.last_sequence}",
                at=now,
            )
        )
        passed = session.execute(
            select(OUTBOX.c.id, OUTBOX.c.sequence).where(
                OUTBOX.c.label_id == response.label_id,
                OUTBOX.c.status.in_(_OPEN),
                OUTBOX.c.sequence <= response.sequence,
            )
        ).all()
        if passed:
            for row_id, sequence in passed:
                self.windows.release_flight(response.label_id, sequence, row_id)
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_([row_id for row_id, _ in passed]))
                .values(status=OutboxStatus.SUPERSEDED.value, settled_at=now)
            )
            for (label_id, sequence), entry in rows.items():
                # As written above, to the rows this batch has not settled: one it
                # settled (acknowledged) keeps that, and when written back over the
                # update above, so does one it superseded with its time.
                if (
                    label_id == response.label_id
                    and sequence <= response.sequence
                    and entry.status in _OPEN
                ):
                    entry.settle(OutboxStatus.SUPERSEDED, at=now)
        state.last_sequence = response.sequence
        reconcile(
            state,
            CheckInVerdict.NEWER,
            shows=_hex(response.displayed_hash),
            holds_flip=BasicStateFlag.PENDING_DISPLAY_UPDATE in response.flags,
        )
        if BasicStateFlag.PENDING_DISPLAY_UPDATE in response.flags:
            # It holds a timed image, likely one of the frames the record lost (a price
            # planned ahead whose publication was lost too): not settled on what it
            # shows, so planning sends what is due again, which replaces the flip,
            # instead of nothing while the label flips to that price at its instant.
            state.desired_hash = None

    def _actions_refused_stale(
        self,
        session: Session,
        states: Mapping[str, LabelState],
        answers: list[tuple[int, LabelResponse, Uplink]],
        *,
        action_answers: list[tuple[int, LabelResponse, datetime]],
        events: list[SecurityEvent],
        now: datetime,
    ) -> dict[str, tuple[LabelResponse, datetime]]:
        """Label actions' frames refused as stale; the labels whose record is behind, each
        with the refusal that said so and when it arrived.

        An open action's frame refused as stale (a keep-alive ping, a flash, a SetClock)
        says what an open image frame refused so says (`Verdict.RESIGN`): the label
        counts further than the record. Closed as answered ("the label refused:
        STALE_SEQUENCE"), the next ping came 45 minutes later with the next lost number,
        refused again, and a BLE label, reached by nothing else, left sync after an hour
        and forgot its key after two, showing the lost price for good, while the record
        said it showed its own (the audit: `match`). Now the count moves above the record
        as for an image frame (1, 16, 256, 4,096 further at each refusal of the action),
        the action is signed again (closed as before once its attempts are spent), and the
        record forgets what the label shows: the frames the record lost drew on the
        panel, so it is unknown (the audit: never `match`) and the label is planned
        again, its due image sent in full. A security event `sequence ahead of record`.
        Unless the record sent the label a frame signed above the action's since
        (`StaleRefusal.overtaken`): then it was overtaken, and is only signed again.
        Other answers to actions (and a refusal of an action's older copy) are left in
        `action_answers` for `answer_label_actions`."""
        refused = stale_refusals(session, [(action_id, r) for action_id, r, _ in answers])
        behind: dict[str, tuple[LabelResponse, datetime]] = {}
        taken: set[int] = set()  # the actions whose stale refusal this batch has weighed
        for action_id, response, uplink in answers:
            stale = refused.get(action_id)
            if stale is not None:
                if action_id in taken:
                    # A copy of the refusal (a store gateway, or anyone with its login,
                    # publishing it again): one refusal, one step. Each copy moved the
                    # count again before, 20 copies 20 times as far.
                    continue
                taken.add(action_id)
            if stale is None or self.policy.exhausted(stale.signed):
                action_answers.append((action_id, response, uplink.received_at))
            if stale is None:
                continue
            state = states[response.label_id]
            exhausted = self.policy.exhausted(stale.signed)
            if stale.overtaken:
                # The record sent the label a frame signed above this one since (an image
                # planned while a ping was out): a store gateway delivering that first
                # makes this one stale with nothing lost. Taken as "behind", the image
                # the label had just confirmed was forgotten and sent again in full, and a
                # false `sequence ahead of record` raised. Signed again with the next
                # number, above that frame already: no skip, no event, the panel kept.
                if not exhausted:
                    ask_again(session, action_id, overtaken=True, now=now)
                continue
            skipped = 0
            if not exhausted:
                # Never past the last number a label takes: skipping stops short of it.
                room = max(MAX_SEQUENCE - state.last_sequence - 1, 0)
                skipped = min(_skipped_after_stale(stale.signed), room)
                state.last_sequence += skipped
                ask_again(session, action_id, overtaken=False, now=now)
            log.warning(
                "security: %s refused seq %d, its %s the controller signed, as stale: it "
                "counts further than the record; what it shows is unknown, its image "
                "planned again%s",
                response.label_id,
                response.sequence,
                stale.kind,
                "" if exhausted else f", the {stale.kind} signed again {skipped + 1} above",
            )
            events.append(
                _sequence_ahead(
                    uplink,
                    response,
                    f"a {stale.kind} the controller signed refused as stale",
                    at=now,
                )
            )
            if response.label_id not in behind:
                reconcile(state, CheckInVerdict.OLDER, shows=None, holds_flip=False)
                behind[response.label_id] = (response, uplink.received_at)
        return behind

    def _take_reports(self, reports: list[Uplink]) -> None:
        now = self.clock()
        handling = ReportHandling(
            retry_or_park=lambda entry, at, parking: self.retry_or_park(
                entry, now=at, parking=parking
            ),
            park=lambda entry, at, parking: self.park(entry, now=at, parking=parking),
            release_flight=self.windows.release_flight,
            extend_flight=self.windows.extend_flight,
            unpark=lambda session, heard, at: self._unpark(session, heard, now=at),
        )
        with self.counts.kept_only_if_committed(), self.sessions.begin() as session:
            taken = take_gateway_reports(session, reports, handling=handling, now=now)
            save_outbox_entries(session, taken.entries)
            if self.fence is not None:
                # As for answers: a store's holder takes its gateway's reports (it hears
                # them too). Taken by a worker that lost the store, a report put the
                # holder's frame back to pending unknown to the holder's windows, where
                # its retry then waited for unrelated work.
                self.fence(session, {uplink.store for uplink in reports})
        self.counts.gateway_reports += len(reports) - sum(taken.refused.values())
        for reason, count in taken.refused.items():
            refused = self.counts.refused_reports
            refused[reason] = refused.get(reason, 0) + count

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
        for chunk in in_chunks(labels):
            for entry in outbox_entries(
                session,
                OUTBOX.c.label_id.in_(chunk),
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
        believed: bool,
        shown: str | None,
    ) -> str | None:
        """Settle the row `response` answers; the content hash it confirms, if any.

        `believed`: whether what `response` says the label shows was believed (it is the
        label's newest claim, `answer_acceptance`); `shown`: the panel the label's newest
        word believed reports (in this batch, else as recorded)."""
        if response.kind is FrameKind.CHECK_IN:
            self.counts.check_ins += 1
            return None
        self.windows.release_flight(response.label_id, response.sequence, row.id if row else None)
        if row is None:
            self.counts.stale_answers += 1
            return None
        if response.reason in INTEGRITY_FAILURES:
            # Evidence even when the genuine frame got through as well (a forged copy
            # delivered after it): someone altered or injected a frame in our name.
            self._tampered(
                events, response, uplink, now=now, what=f"row {row.status}, attempt {row.attempts}"
            )
        verdict, parking = verdict_for(
            response, content_hash=row.content_hash, scheduled=row.display_at is not None
        )
        if verdict is Verdict.ACKED and believed:
            # What the label holds follows its own word, settled row or not: a late
            # answer to a superseded image still put that image on the panel (or
            # made it the flip the label holds).
            note_answered_image(
                state,
                content_hash=row.content_hash,
                display_at=row.display_at,
                label_time=response.label_time,
            )
        if row.status in _SETTLED:
            # Too late to matter: newer content was planned, or this is a duplicate. Its
            # content is acknowledged in the history only when the panel agrees.
            self.counts.late_answers += 1
            return row.content_hash if verdict is Verdict.ACKED else None
        if verdict is Verdict.ANOTHER_FRAME:
            self._another_frame(
                state,
                response,
                row,
                believed=believed,
                uplink=uplink,
                events=events,
                now=now,
            )
            if self.policy.exhausted(row.attempts):
                # Every attempt acknowledged with another panel: no lost frame explains
                # that (a firmware misreporting its panel); stop, as for tampering, and
                # let an operator see why instead of signing it again for ever.
                row.park(_ANOTHER_PANEL, at=now)
                self.counts.parked += 1
                return None
            widened.add(state.label_id)
            rebuilt += self._resign(session, state, row, now=now)
            return None
        if verdict is Verdict.ACKED:
            row.settle(OutboxStatus.ACKED, at=now)
            if believed or shown == row.content_hash:
                # A refused answer (older than a claim held) settles its frame but says
                # nothing of the panel now: the record confirms the frame's content only
                # when the label's newest word believed shows it (an acknowledgement
                # lost, then a check-in showing the new image). Confirmed on a refused
                # word, a record that had forgotten what the label shows fell back on
                # it, and the audit said `match` for a panel nobody had seen.
                state.confirmed_hash = row.content_hash
                state.changed = True
            self.counts.acked += 1
            return row.content_hash
        if verdict is Verdict.RETRY and parking is not None:
            self.retry_or_park(row, now=now, parking=parking)
        elif verdict is Verdict.PARK and parking is not None:
            row.park(parking, at=now)
            self.counts.parked += 1
        elif verdict is Verdict.SEND_AT_INSTANT:
            state.can_schedule = False
            state.changed = True
            widened.add(state.label_id)
            rebuilt += self._rebuild(
                session, state, row, display_at=None, not_before=row.display_at, now=now
            )
        elif verdict is Verdict.TAMPERED and parking is not None:
            if self.policy.exhausted(row.attempts):
                row.park(parking, at=now)
                self.counts.parked += 1
            else:
                widened.add(state.label_id)
                rebuilt += self._resign(session, state, row, now=now)
        elif verdict is Verdict.RESIGN and parking is not None:
            if self.policy.exhausted(row.attempts):
                row.park(parking, at=now)
                self.counts.parked += 1
            else:
                # Never past the last number a label takes: skipping stops short of it.
                room = max(MAX_SEQUENCE - state.last_sequence - 1, 0)
                skipped = min(_skipped_after_stale(row.attempts), room)
                log.warning(
                    "%s refused seq %d, a frame the controller signed and it never took, as "
                    "stale: it counts further than the record; signed again %d above the record",
                    row.label_id,
                    row.sequence,
                    skipped + 1,
                )
                events.append(
                    _sequence_ahead(
                        uplink,
                        response,
                        f"a frame the controller signed refused as stale ({row.status})",
                        at=now,
                    )
                )
                widened.add(state.label_id)
                state.last_sequence += skipped
                rebuilt += self._resign(session, state, row, now=now)
        elif verdict is Verdict.RESEND_FULL:
            widened.add(state.label_id)
            rebuilt += self._rebuild(
                session, state, row, display_at=row.display_at, not_before=now, now=now
            )
        return None

    def _another_frame(
        self,
        state: LabelState,
        response: LabelResponse,
        row: OutboxEntry,
        *,
        believed: bool,
        uplink: Uplink,
        events: list[SecurityEvent],
        now: datetime,
    ) -> None:
        """`response` acknowledges `row`'s (label, sequence) with a panel that frame cannot
        have left: the label took another frame signed with that number, one the database
        lost with its last commits (the count went back, and the number was signed again).
        The record takes the panel (when the answer is the label's newest word) instead of
        the row's content, and the caller signs the row again above. Said loudly, as a
        check-in ahead of the record is: frames signed with the label's key are missing."""
        shown = _hex(response.displayed_hash)
        log.warning(
            "security: %s acknowledged seq %d showing %s, not the content of the frame the "
            "record signed with that number (%s): it took a frame the database no longer "
            "holds; record corrected, frame signed again above",
            row.label_id,
            row.sequence,
            shown,
            row.content_hash,
        )
        events.append(
            _sequence_ahead(
                uplink,
                response,
                f"acknowledged showing {shown}, not the frame's {row.content_hash}",
                at=now,
            )
        )
        if believed:
            state.confirmed_hash = shown
            state.changed = True

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
            else self.images.planes_of(session, row.content_hash, model_id=label.model)
        )
        row.settle(OutboxStatus.SUPERSEDED, at=now)
        if label is None or planes is None:
            log.warning("cannot rebuild the frame for %s: its image is gone", row.label_id)
            return []
        self.windows.due_at(row.store, row.gateway, not_before or now)
        return [
            full_image_frame(
                state,
                row,
                key=label.secret_key,
                model_id=label.model,
                planes=planes,
                display_at=display_at,
                not_before=not_before or now,
                now=now,
            )
        ]

    def _resign(
        self, session: Session, state: LabelState, row: OutboxEntry, *, now: datetime
    ) -> list[dict[str, Any]]:
        """Supersede `row` by the same command signed with a fresh sequence number."""
        label = session.get(LabelRow, row.label_id)
        stored = session.execute(
            select(OUTBOX.c.payload, OUTBOX.c.base_hash).where(OUTBOX.c.id == row.id)
        ).one_or_none()
        row.settle(OutboxStatus.SUPERSEDED, at=now)
        if label is None or stored is None:
            return []
        payload, base_hash = stored
        self.windows.due_at(row.store, row.gateway, now)
        return [
            resigned_frame(
                state, row, key=label.secret_key, payload=payload, base_hash=base_hash, now=now
            )
        ]

    def _move(
        self, session: Session, heard_via: Mapping[str, tuple[str, str]], *, now: datetime
    ) -> None:
        """Labels whose newest believed word came via another gateway of their store move
        there, their open frames with them, due at once (`label_moves`)."""
        moves = move_labels(session, heard_via, now=now, release_flight=self.windows.release_flight)
        if moves:
            self.counts.moved += len(moves)
            self.windows.notice_new_work()

    def _unpark(
        self,
        session: Session,
        checked_in: Mapping[str, bool],
        *,
        now: datetime,
        updating: Set[str] = frozenset(),
    ) -> None:
        """A label checked in, or answered a label action: updates parked as unreachable
        are worth another try, and those parked for a flat battery too once the label
        says it can refresh again; those parked busy once it says so and is not in the
        middle of a refresh (`updating`: revived then, it would only be busy again, its
        attempts spent and parked anew at every check-in)."""
        fit = sorted(label for label, can in checked_in.items() if can)
        for reasons, labels in (
            (_RETRY_WHEN_HEARD, fit),
            ((ParkReason.BUSY.value,), [label for label in fit if label not in updating]),
            ((ParkReason.OFFLINE.value,), sorted(lb for lb, can in checked_in.items() if not can)),
        ):
            for chunk in in_chunks(labels):
                revived = session.connection().execute(
                    update(OUTBOX)
                    .where(
                        OUTBOX.c.label_id.in_(chunk),
                        OUTBOX.c.status == OutboxStatus.PARKED.value,
                        OUTBOX.c.parked_reason.in_(reasons),
                    )
                    .values(**unparked(now))
                )
                if revived.rowcount:
                    self.windows.forget_idle()

    def _tampered(
        self,
        events: list[SecurityEvent],
        response: LabelResponse,
        uplink: Uplink,
        *,
        now: datetime,
        what: str,
    ) -> None:
        """A signed integrity refusal of a frame the controller signed: a security event."""
        self.counts.tampered += 1
        log.warning(
            "security: %s answered %s to seq %d, a frame the controller signed: "
            "altered or displaced in transit on %s/%s (%s)",
            response.label_id,
            response.reason.name,
            response.sequence,
            uplink.store,
            uplink.gateway,
            what,
        )
        events.append(
            SecurityEvent.on_uplink(
                uplink,
                SecurityEventKind.TAMPERED_FRAME,
                label_id=response.label_id,
                label_store=uplink.store,  # verified on its own store's topic
                sequence=response.sequence,
                detail=f"{response.reason.name} for a frame the controller signed",
                at=now,
            )
        )

    def _load_keys(self, label_ids: Collection[str]) -> Mapping[str, LabelKey]:
        ordered = sorted(label_ids)
        found: dict[str, LabelKey] = {}
        with self.sessions() as session:
            for chunk in in_chunks(ordered):
                for label_id, key, store in session.execute(
                    select(LabelRow.id, LabelRow.secret_key, LabelRow.store).where(
                        LabelRow.id.in_(chunk)
                    )
                ):
                    found[label_id] = LabelKey(key, store)
        return found


def _could_show(
    state: LabelState, response: LabelResponse, row: OutboxEntry | None
) -> set[str | None]:
    """The panels an answer leaves its label showing: the one it reports, and the image of
    a timed frame it acknowledges or holds (the label flips to it on its own clock)."""
    panels = {_hex(response.displayed_hash)}
    if row is not None and row.display_at is not None:
        panels.add(row.content_hash)
    if BasicStateFlag.PENDING_DISPLAY_UPDATE in response.flags and state.held_hash is not None:
        panels.add(state.held_hash)
    return panels


def _counts_ahead(state: LabelState, response: LabelResponse) -> bool:
    """Whether a verified answer naming a sequence the record never signed proves that the
    label counts further than the record: a check-in (the last number it took), or an
    acknowledgement (a frame it took and acted on, signed with its key, which the database
    lost: a store gateway held it while the label was out of reach), naming a number above
    the last one signed, by at most `_AHEAD_AT_MOST`. Never a refusal: a label refuses a
    frame forged in the controller's name naming the forger's number, which its count
    never took."""
    if response.kind is not FrameKind.CHECK_IN and response.reason is not ReasonCode.SUCCESS:
        return False
    return 0 < response.sequence - state.last_sequence <= _AHEAD_AT_MOST


def _skipped_after_stale(attempts: int) -> int:
    """The numbers left unsigned before a frame refused as stale on its attempt
    `attempts` is signed again: none the first time (a frame overtaken by the label's next
    one in the radio, or a label one frame ahead), then ever more."""
    return min(1 << (_STALE_REACH_GROWTH_BITS * max(attempts - 1, 0)), _AHEAD_AT_MOST) - 1


def _sequence_ahead(
    uplink: Uplink, response: LabelResponse, detail: str, *, at: datetime
) -> SecurityEvent:
    """The security event of a label that counts further than the record (a check-in
    ahead, a stale refusal of a frame the record signed, an acknowledgement of a frame
    the record lost): frames signed with its key are missing from the database."""
    return SecurityEvent.on_uplink(
        uplink,
        SecurityEventKind.SEQUENCE_AHEAD,
        label_id=response.label_id,
        label_store=uplink.store,  # verified on its own store's topic
        sequence=response.sequence,
        detail=detail,
        at=at,
    )


def _history_row(
    response: LabelResponse, at: datetime, *, taken: bool, acked_hash: str | None, heard: bool
) -> dict[str, Any]:
    """The `label_acknowledgements` row of a word that arrived at `at`: what the record
    made of its panel (`RecordedPanel`; `taken`: the label's panel, else the one before),
    the image it reports when taken, the content it acknowledged, and whether its health
    was taken (`heard`)."""
    return {
        "label_id": response.label_id,
        "sequence": response.sequence,
        "reason": response.reason.name,
        "displayed_hash": _hex(response.displayed_hash) if taken else None,
        "acked_hash": acked_hash,
        "at": at,
        "panel": (RecordedPanel.REPORTED if taken else RecordedPanel.KEPT).value,
        "heard": heard,
    }


def _forget_unplaced_flips(
    states: Mapping[str, LabelState], unplaced: Mapping[str, tuple[LabelResponse, datetime]]
) -> None:
    """Each label of `unplaced` acknowledged a timed frame (its instant ahead on the
    label's clock) in a word refused as older than a claim held: the frame is settled, but
    whether the label still holds the flip cannot be told. Its own check-in signed after
    the acknowledgement, heard first, named the panel before the flip; believing the flip
    from the older word could bring back one the label lost since (a battery swapped),
    and not noting it left the record sure of the panel before it: a promotion then
    withdrawn while the label was out of reach, the label flipped to it by its own clock
    and the audit said `match` on the price before (tests/pipeline/
    test_refused_acknowledgement_of_a_timed_frame.py). So the record forgets what the
    label shows, as for an older check-in that differs: the audit says `unconfirmed`, and
    the label is planned again, its due image (and flip) sent in full."""
    for label_id in unplaced:
        reconcile(states[label_id], CheckInVerdict.OLDER, shows=None, holds_flip=False)


def _keep_forgetting(
    history: list[dict[str, Any]],
    recorded: Mapping[int, dict[str, Any]],
    health_taken: Set[int],
    words: list[tuple[LabelResponse, datetime]],
    *,
    states: Mapping[str, LabelState],
) -> None:
    """Each of `words` made the record forget what its label shows (an older word that
    differs, with nothing on its way; a label action refused as stale; a timed frame's
    acknowledgement refused as older): its row says so (`RecordedPanel.FORGOTTEN`), one
    added where it had none (a word kept out of the history: a check-in whose health was
    not taken, a refusal), so the past audit reads the panel as unknown from then on, as
    the live one does, not as the image before.

    The record forgets at the end of the batch: where it still knows nothing of the panel
    then, every row of the label's after that word that said the panel it reports, in the
    order the past audit reads them (arrival, then as written), says forgotten too. A
    newer check-in relayed in the same backlog behind a refused acknowledgement of a
    timed image names the image shown, not the flip held: kept `reported`, the past audit
    after it said `match` on the price before while the live audit said `unconfirmed` and
    the label flipped (tests/audit/
    test_past_audit_of_a_refused_acknowledgement_in_a_backlog.py). A label whose record a
    newer word of the batch put right again keeps that word's panel."""
    forgetting: dict[str, list[dict[str, Any]]] = {}
    for word, at in words:
        row = recorded.get(id(word))
        if row is None:
            row = _history_row(
                word, at, taken=False, acked_hash=None, heard=id(word) in health_taken
            )
            history.append(row)
        row["displayed_hash"] = None
        row["panel"] = RecordedPanel.FORGOTTEN.value
        forgetting.setdefault(word.label_id, []).append(row)
    unknown = {
        label_id
        for label_id in forgetting
        if states[label_id].displayed_hash is None and states[label_id].confirmed_hash is None
    }
    if not unknown:
        return
    # The past audit reads a label's rows by arrival, then by id: as written, in this order.
    order = {id(row): (row["at"], index) for index, row in enumerate(history)}
    first = {label_id: min(order[id(row)] for row in forgetting[label_id]) for label_id in unknown}
    for row in history:
        label_id = row["label_id"]
        if (
            label_id in first
            and row["panel"] == RecordedPanel.REPORTED.value
            and order[id(row)] > first[label_id]
        ):
            row["displayed_hash"] = None
            row["panel"] = RecordedPanel.FORGOTTEN.value


def _record_health(
    state: LabelState, response: LabelResponse, at: datetime, *, now: datetime, displayed: bool
) -> bool:
    """Take a believed answer's report; False when it arrived older than what is held.

    The caller decided by the label's own order (`answer_acceptance`: its sequence, its
    clock) that the answer is newer than everything believed; its arrival `at` is only
    the fallback that keeps an answer delivered late from moving `last_seen` back. A
    `last_seen` later than the controller's `now` was stamped while the host clock ran
    fast, since set right (NTP): it bounds nothing, and trusted it made every later
    answer look older, so battery, signal and `last_seen` stood still (no low battery,
    never offline) until real time passed it. The report is taken, `last_seen` set to
    its arrival by the clock as it is now.

    `displayed`: whether its displayed hash is believed (`answer_acceptance` decided the
    answer is the label's newest claim). A check-in's displayed hash is weighed against
    the record by `check_ins.weigh_check_ins` instead.
    """
    state.changed = True
    if displayed:
        state.displayed_hash = _hex(response.displayed_hash)
    held = state.last_seen
    if held is not None and held <= now and at < held:
        return False  # an older answer delivered late says nothing new about now
    state.last_seen = at
    state.battery_mv = response.battery_mv
    state.rssi_dbm = response.rssi_dbm
    state.temperature_tenths_c = response.temperature_tenths_c
    state.firmware = response.firmware
    state.state = int(response.state)
    return True


def _shows_something_else(
    older: tuple[LabelResponse, datetime] | None, response: LabelResponse, state: LabelState
) -> bool:
    """Whether a check-in older than a claim held, heard before the believed check-in
    `response` in the same batch, shows neither that check-in's panel nor the record's
    confirmed image: then it is weighed in its place, as older (the record forgets what
    the label shows), as it is when heard behind it. A label reset to factory (its count
    back at 0, a blank panel, its clock restarted behind) heard ahead of its last check-in
    from before the reset: dropped, the record kept the price it no longer shows and the
    audit said `match` on a blank shelf. Showing either, weighed it would change nothing."""
    if older is None:
        return False
    shows = _hex(older[0].displayed_hash)
    return shows not in (_hex(response.displayed_hash), state.confirmed_hash)


def _hex(digest: bytes | None) -> str | None:
    return digest.hex() if digest else None
