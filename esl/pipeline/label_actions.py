"""Label actions a person asked for (flash the LED, ping, refresh), or the controller (set
the clock), sent by the controller.

The API and the console only write a `label_actions` row (`esl.services.label_actions`);
the controller that holds the gateways picks requested rows up in its dispatch round and:

- flash and ping: signs the command (FlashLed, Ping) with the label's next sequence and
  sends it through the same `Gateway` as every update (MQTT store gateway or BLE control
  point); the label's verified answer is the action's answer (reason, LED state, battery,
  signal) and joins the label's acknowledgement history like any other;
- refresh, in two steps: first it forgets what the record says the label shows, so the
  controller plans and sends its whole image again (a check-in that says it shows its
  image answers nothing: until then planning treats the label as showing nothing,
  `forget_shown_of_refreshing`); once the label acknowledged, since the request, a frame
  of the content planned for it since (its due content, confirmed), it is sent Refresh
  Display, signed like flash and ping, and the label's answer (it drew its image again)
  is the action's. A label acknowledges an image it already shows without drawing it,
  so the image alone would not redraw a faded panel. The wait for the image's answer
  counts from when that image went out (planning may reach the label late, or its
  gateway's window be full), as a copy still answerable (not superseded); until then
  the refresh waits, up to `not_sent_limit`;
- unassociate (a BLE label), also in steps: its identification screen first, then the
  signed Unassociate, and its key forgotten once the label confirmed
  (`esl.pipeline.ble_unassociation`). Its wait for the screen's answer counts, as the
  refresh's for its image, from when the screen went out (`_first_step_sent_at`).

With several workers, a worker takes up and settles only the actions of the stores it
holds, and its round commits only while it still holds them (the `fence` of `due`).

Sequence numbers are the label's one counter: a label takes only increasing sequences,
so an update already signed but not yet delivered would be refused as stale after an
action took a later number. A label with a frame in flight therefore waits (the action
stays requested) until it answered; waiting frames (pending, parked) are signed again
after the action's sequence, those already sent once as new rows (a copy may still be on
its way, and its answer must name a frame the controller signed).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.console_models import LabelActionFrameRow, LabelActionRow
from esl.db.models import LabelRow, LabelStateRow
from esl.delivery_states import OutboxStatus, PanelForgottenBy
from esl.pipeline.action_kinds import OPEN_STATUSES, RETIRED_NOT_SENT, ActionKind, ActionStatus
from esl.pipeline.ble_unassociation import (
    NOT_CONFIRMED,
    begin_unassociation,
    forget_ble_association,
    screen_not_sent,
    settle_unassociation_screen,
)
from esl.pipeline.check_ins import forget_desired
from esl.pipeline.label_states import LabelState, load_label_states, save_label_states
from esl.pipeline.outbox_rows import OUTBOX, acknowledged_since, first_sent_since
from esl.pipeline.panel_history import keep_panel_forgotten
from esl.pipeline.stamps_ahead import stamped_ahead
from gateways.base import Downlink
from gateways.protocol import (
    NO_OPCODE,
    BasicStateFlag,
    Command,
    FlashLed,
    LabelFrame,
    LabelResponse,
    LedColour,
    LedPattern,
    Opcode,
    Ping,
    ReasonCode,
    RefreshDisplay,
    SetClock,
    Unassociate,
    encode_frame,
    opcode_of,
    packed_of_frame,
    sign_packed,
)

__all__ = [
    "CONTROLLER",
    "FLASH",
    "LabelActionSender",
    "LabelActionTimings",
    "SignedAgainInFlight",
    "StaleRefusal",
    "answer_label_actions",
    "ask_again",
    "forget_shown_of_refreshing",
    "request_own_actions",
    "signed_action_sequences",
    "stale_refusals",
]

FLASH = FlashLed(colour=LedColour.GREEN, pattern=LedPattern.BLINK, duration_s=30)


CONTROLLER = "controller"  # who asked, for the actions the controller asks for itself
# The answers after which an action is sent again a little later.
_ASK_AGAIN = frozenset({ReasonCode.RETRY, ReasonCode.QUEUE_FULL})
# What each action sends the label (a refresh, once its image is confirmed; a clock, the
# instant it is signed).
_COMMANDS: dict[ActionKind, Command] = {
    ActionKind.FLASH: FLASH,
    ActionKind.PING: Ping(),
    ActionKind.REFRESH: RefreshDisplay(),
    ActionKind.UNASSOCIATE: Unassociate(),
}
# The command each action's frame carries, as its answer names it (a clock's is signed
# at sending, so it is not in `_COMMANDS`).
_OPCODES: dict[str, int] = {
    **{kind.value: opcode_of(command) for kind, command in _COMMANDS.items()},
    ActionKind.SET_CLOCK.value: Opcode.SET_CLOCK,
}
# The actions whose first step is planning (the label's image, or its identification
# screen), told by the action's `after_outbox_id` still unset.
_PLANNED_FIRST = (ActionKind.REFRESH.value, ActionKind.UNASSOCIATE.value)


@dataclass(frozen=True, slots=True)
class LabelActionTimings:
    """How long an action waits (the settings `ESL_LABEL_ACTION_*`)."""

    # Sent, and no answer this long: the action is reported unanswered. A refresh's image
    # and an unassociation's identification screen count from when they went out, not
    # from the take-up.
    answer_timeout: timedelta = timedelta(seconds=60)
    # A refresh whose image (an unassociation whose screen) has not gone out this long
    # after the take-up (planning never reached the label, its gateway's window stayed
    # full) fails rather than wait for ever.
    not_sent_limit: timedelta = timedelta(seconds=600)
    # A label busy with an update this long: the action gives up with a reason. Counted
    # from the request; a refresh's Refresh Display and an unassociation's Unassociate,
    # from their image (screen) confirmed.
    wait_limit: timedelta = timedelta(seconds=120)
    # A label that answered busy (refreshing its panel) is asked again after this.
    busy_retry: timedelta = timedelta(seconds=5)

    def longest(self, action: str) -> timedelta:
        """How long an action of this kind may stay open before these limits end it
        (answered, unanswered or failed): a refresh's image (an unassociation's screen)
        may go out up to `not_sent_limit` after the take-up and be answered within
        `answer_timeout`; then its last step (a flash or ping from the request) may wait
        for a busy label up to `wait_limit` and for its answer `answer_timeout`."""
        last_step = self.wait_limit + self.answer_timeout
        if action in _PLANNED_FIRST:
            return self.not_sent_limit + self.answer_timeout + last_step
        return last_step


@dataclass(frozen=True, slots=True)
class SignedAgainInFlight:
    """A frame in flight a probe via another gateway overtook (`_resign_waiting`): its
    row superseded, its copy pending and due now via the same store gateway. The
    dispatcher frees the flight's slot and has that gateway's window look again: idle
    since its last send, it would not look before something else came due there, and
    the superseded frame's timeout sends nothing again."""

    store: str
    gateway: str
    label_id: str
    sequence: int
    row_id: int


@dataclass(slots=True)
class LabelActionSender:
    """Sends requested actions from the dispatcher's round (its one database thread, so
    nothing else takes a label's sequence meanwhile) and ends those never answered."""

    timings: LabelActionTimings = field(default_factory=LabelActionTimings)
    look_every: timedelta = timedelta(milliseconds=200)
    _looked_at: datetime | None = None

    def due(
        self,
        session: Session,
        *,
        now: datetime,
        replan: set[str],
        stores: frozenset[str] | None = None,
        fence: Callable[[Session, Collection[str]], None] | None = None,
        signed_again: list[SignedAgainInFlight] | None = None,
    ) -> list[Downlink]:
        """Frames for the actions requested; labels to refresh go into `replan`, frames in
        flight a probe overtook into `signed_again` (for the dispatcher once this
        transaction commits). With
        `stores` (a worker's share), only actions on labels of those stores: a label's
        sequence numbers are its store's holder's to give. `fence` (a worker's), called
        last with the stores whose actions were written, raises `StoresLost` for those
        taken over: the caller's transaction rolls back and it asks again (`look_again`)."""
        # A last look later than now was taken on a clock since set back (NTP): look now.
        if (
            self._looked_at is not None
            and self._looked_at <= now < self._looked_at + self.look_every
        ):
            return []
        self._looked_at = now
        written = self._expire(session, now, stores)
        downlinks = self._take_up(
            session,
            now=now,
            replan=replan,
            stores=stores,
            written=written,
            signed_again=[] if signed_again is None else signed_again,
        )
        if fence is not None:
            # As planning and sending are: an action a worker that lost the store marked
            # sent went to its transport only (a stalled worker's, maybe carried by
            # nothing), and its holder, finding it sent, never sent it.
            fence(session, written)
        return downlinks

    def look_again(self) -> None:
        """The next `due` looks at once (the last one was rolled back)."""
        self._looked_at = None

    def _take_up(
        self,
        session: Session,
        *,
        now: datetime,
        replan: set[str],
        stores: frozenset[str] | None,
        written: set[str],
        signed_again: list[SignedAgainInFlight],
    ) -> list[Downlink]:
        requested = list(
            session.scalars(
                select(LabelActionRow)
                .where(LabelActionRow.status == ActionStatus.REQUESTED.value)
                .order_by(LabelActionRow.id)
                .limit(100)
            )
        )
        if not requested:
            return []
        labels = {
            row.id: row
            for row in session.scalars(
                select(LabelRow).where(LabelRow.id.in_({a.label_id for a in requested}))
            )
        }
        in_flight = set(
            session.scalars(
                select(OUTBOX.c.label_id)
                .where(
                    OUTBOX.c.label_id.in_(labels),
                    OUTBOX.c.status == OutboxStatus.SENT,
                )
                .distinct()
            )
        )
        # Only the labels of the stores held, locked until the round commits: another
        # worker signing for one meanwhile takes the next number after this one's.
        states = load_label_states(
            session,
            [lb.id for lb in labels.values() if stores is None or lb.store in stores],
            lock=True,
        )
        downlinks: list[Downlink] = []
        taken: set[str] = set()  # one action per label per round
        for action in requested:
            label = labels[action.label_id]
            if stores is not None and label.store not in stores:
                continue
            if label.retired_at is not None:
                # Retiring fails what is queued; one requested since (a race) fails here.
                _fail(action, now, RETIRED_NOT_SENT)
                written.add(label.store)
                continue
            if action.action in _PLANNED_FIRST and action.after_outbox_id is None:
                if action.action == ActionKind.UNASSOCIATE.value:
                    begin_unassociation(session, action, now=now)
                else:
                    _refresh(session, action, now=now)
                    replan.add(label.id)
                written.add(label.store)
                continue
            if label.gateway is None:
                _fail(action, now, "the label is on no store gateway")
                written.add(label.store)
                continue
            busy_until = action.sent_at + self.timings.busy_retry if action.sent_at else now
            # A probe via another gateway (`label_moves.request_probes`) waits for no
            # frame in flight via the label's own: it is asked because those may never
            # reach the label, and a frame it overtakes is signed again when refused.
            via = action.via_gateway or label.gateway
            blocked = label.id in in_flight and via == label.gateway
            busy = blocked or label.id in taken or now < busy_until
            # From the step's start: a refresh's image (an unassociation's screen) may
            # have gone out long after the request, and the label is busy drawing it.
            # Checked before a re-send too: a busy answer slower than `busy_retry` (a
            # gateway relaying at the label's check-in) put the action back at once, and
            # it was signed again and again past the limit (`LabelActionTimings.longest`).
            waiting_since = action.step_at or action.requested_at
            if (busy or action.sent_at is not None) and now - waiting_since >= (
                self.timings.wait_limit
            ):
                _fail(action, now, "the label stayed busy")
                written.add(label.store)
                continue
            if busy:
                continue
            taken.add(label.id)
            written.add(label.store)
            state = states[label.id]
            sequence = state.next_sequence()
            kind = ActionKind(action.action)
            command = SetClock(at=now) if kind is ActionKind.SET_CLOCK else _COMMANDS[kind]
            payload = encode_frame(
                LabelFrame(label_id=label.id, sequence=sequence, command=command),
                key=label.secret_key,
            )
            signed_again += _resign_waiting(
                session, label, state.next_sequence, now=now, in_flight=via != label.gateway
            )
            action.status = ActionStatus.SENT.value
            action.sequence = sequence
            action.sent_at = now
            # Every number it is signed with: a copy signed before (answered busy) may
            # still reach the label, and its answer names a frame the controller signed.
            session.add(
                LabelActionFrameRow(action_id=action.id, label_id=label.id, sequence=sequence)
            )
            downlinks.append(Downlink(label.store, via, label.id, payload))
        save_label_states(session, states.values(), columns={"last_sequence"})
        return downlinks

    def _expire(self, session: Session, now: datetime, stores: frozenset[str] | None) -> set[str]:
        """Settle the actions sent (a refresh's image confirmed, an answer overdue); the
        stores of those changed."""
        sent = (
            select(LabelActionRow, LabelRow.store)
            .join(LabelRow, LabelRow.id == LabelActionRow.label_id)
            .where(LabelActionRow.status == ActionStatus.SENT.value)
        )
        if stores is not None:
            # Only this worker's share: another worker settling a refresh it does not send
            # could write over the step its holder took meanwhile.
            sent = sent.where(LabelRow.store.in_(stores))
        written: set[str] = set()
        for action, store in session.execute(sent):
            answer_from = action.sent_at
            if action.action in _PLANNED_FIRST and action.sequence is None:
                if action.action == ActionKind.REFRESH.value:
                    _settle_refresh(session, action, now=now)
                else:
                    settle_unassociation_screen(session, action, now=now)
                if action.status == ActionStatus.SENT.value:
                    # The label can answer its image (screen) only once it was sent.
                    answer_from = _first_step_sent_at(session, action)
                    if answer_from is None:
                        self._bound_unsent_first_step(action, now)
            if (
                action.status == ActionStatus.SENT.value
                and answer_from is not None
                # Sent later than now by more than a small step back (`stamps_ahead`): by a
                # clock since set back an hour, its wait is over. A step of a second or
                # two (NTP) only lengthens the wait: counted as over, a flash the label
                # answered at once read "no answer", and its answer was dropped.
                and (
                    now - answer_from >= self.timings.answer_timeout
                    or stamped_ahead(answer_from, now=now)
                )
            ):
                action.status = ActionStatus.UNANSWERED.value
                action.detail = (
                    NOT_CONFIRMED
                    if action.action == ActionKind.UNASSOCIATE.value
                    else "no answer from the label in time"
                )
            if action.status != ActionStatus.SENT.value:
                written.add(store)
        return written

    def _bound_unsent_first_step(self, action: LabelActionRow, now: datetime) -> None:
        """Fail a refresh whose image (an unassociation whose identification screen) has
        still not gone out `not_sent_limit` after the take-up (its `sent_at` until then)."""
        limit = self.timings.not_sent_limit
        if action.sent_at is None or now - action.sent_at < limit:
            return
        if action.action == ActionKind.UNASSOCIATE.value:
            _fail(action, now, screen_not_sent(limit))
        else:
            _fail(action, now, f"its image was not sent within {limit.total_seconds():g} s")


def request_own_actions(
    session: Session, label_ids: Iterable[str], kind: ActionKind, *, now: datetime
) -> None:
    """Actions the controller asks for itself (a label's clock, a silent label's ping):
    requested by `CONTROLLER`, sent like a person's. A retired label is asked nothing:
    a thrown-away label still checking in somewhere gets no frame signed with its key."""
    wanted = set(label_ids)
    if not wanted:
        return
    retired = set(
        session.scalars(
            select(LabelRow.id).where(LabelRow.id.in_(wanted), LabelRow.retired_at.is_not(None))
        )
    )
    session.add_all(
        LabelActionRow(
            label_id=label_id,
            action=kind.value,
            status=ActionStatus.REQUESTED.value,
            requested_by=CONTROLLER,
            requested_at=now,
        )
        for label_id in sorted(wanted - retired)
    )


def _fail(action: LabelActionRow, now: datetime, why: str) -> None:
    action.status = ActionStatus.FAILED.value
    action.answered_at = now
    action.detail = why


def _refresh(session: Session, action: LabelActionRow, *, now: datetime) -> None:
    # Forget what it should show, and what it was believed to show: planning sends the
    # whole image again (the label says what it shows when it answers).
    forget_desired(session, [action.label_id])
    session.execute(
        update(LabelStateRow)
        .where(LabelStateRow.label_id == action.label_id)
        .values(confirmed_hash=None, displayed_hash=None)
        .execution_options(synchronize_session=False)
    )
    # The audit says `unconfirmed` until it acknowledges its image: so does the past one.
    keep_panel_forgotten(session, [action.label_id], by=PanelForgottenBy.REFRESH, at=now)
    # Frames are told apart by their ids, not their times: a planning pass stamps its
    # frames with the instant it began, which may be before this request was taken up.
    action.after_outbox_id = session.scalar(
        select(func.coalesce(func.max(OUTBOX.c.id), 0)).where(OUTBOX.c.label_id == action.label_id)
    )
    action.status = ActionStatus.SENT.value
    action.sent_at = now
    action.detail = "image planned again"


def forget_shown_of_refreshing(session: Session, states: Mapping[str, LabelState]) -> None:
    """Planning, for these labels: one with a refresh under way is treated as showing
    nothing (in memory; not saved), so it gets its whole image although a check-in since
    the request said it shows it: an image "already on the panel" draws nothing. So is
    one being unassociated, waiting for its identification screen: that screen's frame,
    acknowledged, is what proves the panel shows it (`ble_unassociation`)."""
    if not states:
        return
    refreshing = session.scalars(
        select(LabelActionRow.label_id).where(
            LabelActionRow.status == ActionStatus.SENT.value,
            LabelActionRow.action.in_(_PLANNED_FIRST),
            LabelActionRow.sequence.is_(None),  # its image not confirmed yet
        )
    )
    for label_id in set(refreshing) & states.keys():
        states[label_id].displayed_hash = None


def _settle_refresh(session: Session, action: LabelActionRow, *, now: datetime) -> None:
    # Only the image planned for it, acknowledged since the request, was drawn for it:
    # the record alone (a check-in says what it shows) does not make the panel draw
    # again. That image is the label's content due as planned since the request (which
    # forgot it: `desired_key` is set again only by that plan), not any frame above the
    # watermark: a frame planned before, signed again since (`_resign_waiting`, a
    # STALE_SEQUENCE refusal), is a new row with a higher id, and its answer moved the
    # refresh on before its image was even planned (the panel drew an older price).
    state = session.get(LabelStateRow, action.label_id)
    if (
        state is None
        or state.desired_key is None
        or state.desired_hash is None
        or state.confirmed_hash != state.desired_hash
    ):
        return
    if acknowledged_since(
        session, action.label_id, after_id=action.after_outbox_id, content_hash=state.desired_hash
    ):
        # Its image is confirmed: now have it drawn (the sender's next round sends it).
        action.status = ActionStatus.REQUESTED.value
        action.step_at = now
        action.detail = "its image is confirmed; asking it to draw it again"


def _first_step_sent_at(session: Session, action: LabelActionRow) -> datetime | None:
    """When the content an action's first step waits for went out to the label: the
    content planned for it since the take-up (which forgot it: `desired_key` is set
    again only by that plan), a refresh's image as `_settle_refresh` reads it, an
    unassociation's identification screen (planned for no binding) as
    `settle_unassociation_screen` does; None while it has not, or is not planned yet."""
    state = session.get(LabelStateRow, action.label_id)
    if state is None or state.desired_key is None or state.desired_hash is None:
        return None
    if action.action == ActionKind.UNASSOCIATE.value and state.binding_id is not None:
        return None  # what is planned is still its binding's, not its screen
    return first_sent_since(
        session, action.label_id, after_id=action.after_outbox_id, content_hash=state.desired_hash
    )


def _resign_waiting(
    session: Session,
    label: LabelRow,
    next_sequence: Callable[[], int],
    *,
    now: datetime,
    in_flight: bool = False,
) -> list[SignedAgainInFlight]:
    """Frames of this label not in flight get sequences after the action's, or the label
    would refuse them as stale once it took the action.

    A frame sent before (waiting to be sent again after a timeout, or parked) may still
    reach the label: a store gateway keeps a frame for the label's next check-ins. Its
    row keeps its sequence, superseded, and the frame signed again is a new row, so the
    label's answer to the copy in the air names a frame the controller signed; renumbered
    in place, that answer was refused as never signed, and what it said the label shows
    was not believed. A frame never sent is signed again in place: nothing can answer
    its old sequence.

    With `in_flight` (a probe via another gateway, which does not wait for them), frames
    in flight via the label's own gateway are signed again too, their copies due now: the
    label that took the probe would refuse them as stale, and its move re-sends them.
    Those are returned: the dispatcher's window of their gateway must look for their
    copies (`SignedAgainInFlight`)."""
    waiting = (OutboxStatus.PENDING, OutboxStatus.PARKED)
    statuses = (*waiting, OutboxStatus.SENT) if in_flight else waiting
    copies: list[dict[str, Any]] = []
    overtaken: list[SignedAgainInFlight] = []
    for row in (
        session.execute(
            select(OUTBOX)
            .where(
                OUTBOX.c.label_id == label.id,
                OUTBOX.c.status.in_(statuses),
            )
            .order_by(OUTBOX.c.sequence)
        )
        .mappings()
        .all()
    ):
        packed = packed_of_frame(row["payload"])
        sequence = next_sequence()
        payload = sign_packed(packed, label_id=label.id, sequence=sequence, key=label.secret_key)
        if row["sent_at"] is None:
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == row["id"])
                .values(sequence=sequence, payload=payload)
            )
            continue
        session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == row["id"])
            .values(status=OutboxStatus.SUPERSEDED.value, settled_at=now)
        )
        # The same frame as it stands, under its new sequence: pending with its backoff
        # or parked with its reason, its attempts carried over (an update that never
        # gets through still ends parked), and created when it was planned, as signing
        # it again in place kept it (the time to shelf counts from the plan).
        copy = {name: value for name, value in row.items() if name not in _NOT_COPIED}
        copy.update(sequence=sequence, payload=payload)
        if row["status"] == OutboxStatus.SENT:
            # Out of every window: sent again as any pending frame.
            copy.update(status=OutboxStatus.PENDING.value, not_before=now)
            overtaken.append(
                SignedAgainInFlight(
                    row["store"], row["gateway"], label.id, row["sequence"], row["id"]
                )
            )
        copies.append(copy)
    insert_rows(session, OUTBOX, copies)
    return overtaken


# Columns a re-signed copy of a frame does not take over: its own row, never sent yet.
_NOT_COPIED = frozenset({"id", "sent_at", "settled_at"})


def signed_action_sequences(
    session: Session, answers: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """Which of these (label, sequence) answers are to an action frame, by any number the
    action was signed with (`label_action_frames`): the action's id."""
    wanted = set(answers)
    if not wanted:
        return {}
    labels = sorted({label for label, _ in wanted})
    frames = LabelActionFrameRow
    found: dict[tuple[str, int], int] = {}
    for start in range(0, len(labels), 500):
        for action_id, label_id, sequence in session.execute(
            select(frames.action_id, frames.label_id, frames.sequence).where(
                frames.label_id.in_(labels[start : start + 500]),
                frames.sequence.in_({sequence for _, sequence in wanted}),
            )
        ):
            if (label_id, sequence) in wanted:
                found[(label_id, sequence)] = action_id
    return found


@dataclass(frozen=True, slots=True)
class StaleRefusal:
    """A label refused as stale the frame an open action was last signed with: it counts
    further than the record (frames signed with its key lost with the database's last
    commits, a restore), and the action's number was one it had already passed."""

    action_id: int
    kind: str  # the action (`ActionKind`'s value)
    signed: int  # how many numbers the action has been signed with, this one included
    # The record sent the label a frame signed above this one since (an image planned
    # while the action was out, another action): the label may have taken that first (a
    # store gateway may deliver out of order), which makes this one stale with nothing
    # lost from the database. No proof that the label counts further than the record.
    overtaken: bool


def stale_refusals(
    session: Session, answers: Collection[tuple[int, LabelResponse]]
) -> dict[int, StaleRefusal]:
    """Of these answers (action id, verified response), the `STALE_SEQUENCE` refusals of
    an open action's last frame, by action id. A refusal of a copy signed before (answered
    busy, signed again since) says nothing of the action's frame, nor does an answer of
    another command signed with this number (a frame the database lost)."""
    found: dict[int, StaleRefusal] = {}
    for action_id, response in answers:
        if response.reason is not ReasonCode.STALE_SEQUENCE:
            continue
        action = session.get(LabelActionRow, action_id)
        if (
            action is None
            or action.status != ActionStatus.SENT.value
            or response.sequence != action.sequence
            or response.opcode not in (NO_OPCODE, _OPCODES[action.action])
        ):
            continue
        signed = session.scalar(
            select(func.count())
            .select_from(LabelActionFrameRow)
            .where(LabelActionFrameRow.action_id == action_id)
        )
        found[action_id] = StaleRefusal(
            action_id,
            action.action,
            max(int(signed or 0), 1),
            overtaken=_sent_above(session, action.label_id, action.sequence),
        )
    return found


def _sent_above(session: Session, label_id: str, sequence: int) -> bool:
    """Whether the record sent `label_id` a frame signed above `sequence`: an outbox row
    handed to the transport, or a label action's frame (signed as it is sent)."""
    row = session.scalar(
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.label_id == label_id,
            OUTBOX.c.sequence > sequence,
            OUTBOX.c.sent_at.is_not(None),
        )
        .limit(1)
    )
    if row is not None:
        return True
    frame = session.scalar(
        select(LabelActionFrameRow.id)
        .where(LabelActionFrameRow.label_id == label_id, LabelActionFrameRow.sequence > sequence)
        .limit(1)
    )
    return frame is not None


def ask_again(session: Session, action_id: int, *, overtaken: bool, now: datetime) -> None:
    """The action's frame was refused as stale: the sender signs it again with the label's
    next number (not closed as answered: the label did nothing, and a keep-alive ping
    closed so kept no label in sync). `overtaken`: a later frame of the record's reached
    the label first, and the next number is above it already; otherwise settlement has
    just moved the count above the record, which the label counts further than. Its wait
    for a busy label counts from now: each signing is a new step."""
    action = session.get(LabelActionRow, action_id)
    if action is None:
        return
    action.status = ActionStatus.REQUESTED.value
    action.step_at = now
    why = (
        "a later frame reached the label first; signing it again"
        if overtaken
        else "it counts further than the record; signing it again above"
    )
    action.detail = f"the label refused it ({ReasonCode.STALE_SEQUENCE.name}): {why}"


def answer_label_actions(
    session: Session,
    answers: Collection[tuple[int, LabelResponse, datetime]],
) -> None:
    """Record each action's answer (action id, the verified response, when it arrived); a
    transient refusal (busy) is an answer too: the person sees what the label said."""
    for action_id, response, received_at in answers:
        action = session.get(LabelActionRow, action_id)
        if action is None:
            continue
        late_unassociation = (
            action.action == ActionKind.UNASSOCIATE.value
            and action.status == ActionStatus.UNANSWERED.value
            and response.acked
        )
        if action.status not in OPEN_STATUSES and not late_unassociation:
            continue  # a duplicate of an answer already recorded
        if response.sequence != action.sequence and not response.acked:
            # A copy signed before this action's last one (answered busy, kept by the
            # store gateway): refused now (stale after the newer copy, busy again), it
            # says nothing of the copy that is the action's. Done, it did the action.
            continue
        if response.opcode not in (NO_OPCODE, _OPCODES[action.action]):
            # The answer of another command signed with this number: a frame the database
            # lost (a restore), which the label took before this action was signed with
            # its number again. Not this action's answer.
            continue
        # An Unassociate confirmed after its action was reported unanswered still
        # happened: the label deleted its key, so the controller forgets it too.
        if response.reason in _ASK_AGAIN:
            # Busy refreshing its panel: the sender asks again a little later. Not a low
            # battery: asking again would only drain it further; the person is told.
            action.status = ActionStatus.REQUESTED.value
            action.detail = f"the label is busy ({response.reason.name}), asking again"
            continue
        action.status = ActionStatus.ANSWERED.value
        action.answered_at = received_at
        action.reason = response.reason.name
        action.led_on = BasicStateFlag.ACTIVE_LED in response.flags
        action.battery_mv = response.battery_mv
        action.rssi_dbm = response.rssi_dbm
        action.detail = _describe(action.action, response)
        if action.action == ActionKind.UNASSOCIATE.value:
            if response.acked:
                # The label deleted its key: so does the controller, not before.
                forget_ble_association(session, action.label_id, now=received_at)
            else:
                action.detail += "; it is still associated and its key kept"


def _describe(kind: str, response: LabelResponse) -> str:
    if not response.acked:
        return f"the label refused: {response.reason.name}"
    if kind == ActionKind.FLASH.value:
        on = BasicStateFlag.ACTIVE_LED in response.flags
        return "the LED is flashing" if on else "acknowledged, LED not reported on"
    if kind == ActionKind.REFRESH.value:
        return "the label drew its image again"
    if kind == ActionKind.UNASSOCIATE.value:
        return "the label is unassociated (its key and ESL address deleted); its key is forgotten"
    if kind == ActionKind.SET_CLOCK.value:
        return "the label's clock is set to the controller's"
    return f"alive: {response.battery_mv} mV, {response.rssi_dbm} dBm"
