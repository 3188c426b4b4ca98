"""Which label answers the controller may believe: the acceptance rule for displayed content.

An answer is signed by its label, but a signature only proves *who* said it, not *when*:
anyone who can publish on a store's `up` topic (the store gateway, whoever holds its
credential, the broker operator) can capture a genuine answer and publish it again later.
So a verified answer's claim about what the panel shows is believed only when it is newer,
in the label's own signed order, than every claim the controller already holds for that
label:

- the order is `(sequence, label clock)`: a label accepts only increasing sequence numbers
  and answers each frame right after acting on it, so an answer to a later frame describes
  a later panel; within one sequence (a radio duplicate, a check-in after a timed flip)
  the label's clock, which only runs forward, decides;
- only an answer to a frame the label *took* places a claim in that order: an answer the
  label gave without taking the frame's sequence (a stale or forged frame, a damaged
  one, a busy label) names that frame's sequence, not the label's, while describing the
  panel as it is now. Believing its position would let a replayed answer to a frame in
  between look newer than the panel it describes;
- ranked by sequence first, the order breaks when a label's count goes back: one reset to
  factory checks in blank with count 0, and the answer it signed before, relayed after
  that check-in, ranks above the claim held. So the latest-signed word not believed
  (`note_later_word`) bounds it too: an answer signed before it, on another panel, is
  not the label's newest word (`signed_before_a_later_word`), unless it answers a frame
  signed after that word arrived (a clock set back, not a count);
- the sequence must be one the controller signed for that label: an answer to sequence
  *s* is matched to the outbox row *s* (a command answer) or must not exceed the last
  sequence signed (a check-in). A label answers even a forged frame, with the forger's
  sequence; believing that sequence would let one forged frame with sequence 2^32-1 make
  every later genuine answer look old. The one exception, a verified check-in or
  acknowledgement naming a sequence above the last one signed, is settlement's
  (`Settlement._ahead_of_record`): the database lost frames the label took.

Refused answers change nothing a label reports (displayed content, battery, last seen)
and add nothing to the history of what it showed; they are counted and logged with the
label and the reason. Settling the outbox row an answer names is a separate question
(the dispatcher's): the label's answer to that very frame settles it even when it arrives
after a newer claim (a lost acknowledgement followed by a check-in).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from esl.pipeline.held_flips import note_heard_at
from esl.pipeline.label_states import LabelState
from gateways.protocol import FrameKind, LabelResponse, ReasonCode

__all__ = [
    "SIGNED_NOW",
    "Claim",
    "Refusal",
    "accept_claim",
    "counter_went_back",
    "health_is_newer",
    "held_claim",
    "judge_answer",
    "note_health",
    "note_label_time",
    "note_later_word",
    "signed_before_a_later_word",
]

_BEFORE_ANY_CLOCK = datetime.min.replace(tzinfo=UTC)
# How far from now, by the label's clock, an answer may have been signed and still be
# "signed now" (`health_is_newer`), and how far ahead of it a reading may be
# (`counter_went_back`): a check-in's way through the store gateway and the broker, and
# a clock inside the tolerance of `label_clocks`, with room.
SIGNED_NOW = timedelta(minutes=2)


class Refusal(StrEnum):
    """Why an answer's claim was not believed (the log and the counters say this)."""

    NOT_TAKEN = "answers a frame the label did not take (stale, forged, damaged or busy)"
    OLDER = "older than a claim already held (replayed or reordered)"
    DUPLICATE = "the claim already held, again (duplicate)"
    UNSIGNED_SEQUENCE = "answers a sequence the controller never signed for this label"
    BEFORE_LATER_WORD = (
        "signed before a later word of the label showing another panel (reset, reordered)"
    )


# Refusals a label gives before, or instead of, taking a frame's sequence (checks 1-7 of
# docs/protocol.md "What a label checks", and transient refusals, which leave the
# sequence for the same frame's next delivery).
_SEQUENCE_NOT_TAKEN = frozenset(
    {
        ReasonCode.CAPACITY_LIMIT,
        ReasonCode.MALFORMED_FRAME,
        ReasonCode.UNSUPPORTED_VERSION,
        ReasonCode.WRONG_LABEL,
        ReasonCode.CORRUPT_CHUNK,
        ReasonCode.BAD_MAC,
        ReasonCode.INVALID_OPCODE,
        ReasonCode.INVALID_PARAMETERS,
        ReasonCode.STALE_SEQUENCE,
    }
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A position in a label's signed order: the sequence it answered, its clock then."""

    sequence: int
    label_time: datetime | None

    def order(self) -> tuple[int, datetime]:
        return self.sequence, self.label_time or _BEFORE_ANY_CLOCK


def held_claim(state: LabelState) -> Claim:
    return Claim(state.claim_sequence, state.claim_label_time)


def judge_answer(
    held: Claim, response: LabelResponse, *, answers_signed_frame: bool, last_signed: int
) -> Refusal | None:
    """None when `response`'s claim may be believed, else why not.

    `answers_signed_frame`: for a command answer, whether the controller signed the frame
    `(label, sequence)` names (its outbox row exists). A check-in names the last sequence
    the label accepted, which must not exceed `last_signed`.
    """
    if response.kind is FrameKind.CHECK_IN:
        if response.sequence > last_signed:
            return Refusal.UNSIGNED_SEQUENCE
    elif not answers_signed_frame:
        return Refusal.UNSIGNED_SEQUENCE
    elif response.reason in _SEQUENCE_NOT_TAKEN or response.reason.is_transient:
        return Refusal.NOT_TAKEN
    new = Claim(response.sequence, response.label_time).order()
    old = held.order()
    if new == old:
        return Refusal.DUPLICATE
    if new < old:
        return Refusal.OLDER
    return None


def accept_claim(
    state: LabelState, response: LabelResponse, *, signed_after: datetime | None = None
) -> None:
    """Hold `response` as the label's newest claim (after `judge_answer` and
    `signed_before_a_later_word` said yes). `signed_after`: when the frame it answers was
    signed (its outbox row's creation), when known: a later word held that arrived before
    that is passed too."""
    state.claim_sequence = response.sequence
    state.claim_label_time = response.label_time
    state.changed = True
    note_heard_at(state, response.label_time)
    later = state.later_word_label_time
    if later is not None and (
        response.label_time >= later or _signed_after_heard(state, signed_after)
    ):
        state.later_word_label_time = state.later_word_hash = state.later_word_heard_at = None


def note_later_word(state: LabelState, response: LabelResponse, *, heard_at: datetime) -> None:
    """A verified word not believed as the label's newest (older by its count than the
    claim held, or refusing a frame the label did not take): held as the later word when
    its clock reads later than the claim held and than the later word held. To be called
    before the word's clock raises the claim's bound (`note_health`).

    Older by its count yet signed after everything believed, it was signed after the
    label's count went back (reset to factory, restored), or before its clock was set
    back (a SetClock, NTP on a stand-in gateway's host) and relayed late. A replay of a
    capture from before the claim held carries an earlier clock and is not held."""
    held = state.claim_label_time
    if held is not None and response.label_time <= held:
        return
    later = state.later_word_label_time
    if later is not None and response.label_time <= later:
        return
    state.later_word_label_time = response.label_time
    state.later_word_hash = response.displayed_hash.hex() if response.displayed_hash else None
    state.later_word_heard_at = heard_at
    state.changed = True


def signed_before_a_later_word(
    state: LabelState,
    response: LabelResponse,
    *,
    could_show: Collection[str | None],
    signed_after: datetime | None,
) -> bool:
    """Whether `response`, newer than the claim held in the label's order, cannot be
    believed as the label's newest word: the controller already heard a later reading of
    the label's clock (`note_later_word`) on a panel that `response` does not leave
    (`could_show`: the panel it reports, and the image of a timed frame it acknowledges).

    Its sequence ranks it above that word, its clock below: either the label's count went
    back after signing it (reset to factory: the later word's panel, blank, is what the
    shelf shows, and believing this answer confirmed a price on a blank shelf, the audit
    `match`), or its clock went back before (a SetClock, NTP) and the later word was
    relayed late. The two cannot be told apart by the words; so it is weighed as an older
    check-in is: a difference makes the record forget what the label shows and sends the
    due image in full, one frame, never a false match. An answer to a frame signed after
    the later word arrived (`signed_after`) was signed after it, whatever the clocks say:
    believed, so a label whose clock was set back is believed again from the first frame
    the controller signs after hearing that word, not only once its clock passes it. A
    label heard in order is never refused here, its clock drifting or not: only a word
    older by its count than the claim held, or a refusal, signed after that claim, is
    held as the later word, and an answer signed after it reads later on a clock not set
    back since."""
    later = state.later_word_label_time
    if later is None or response.label_time >= later:
        return False
    if state.later_word_hash in could_show:
        return False
    return not _signed_after_heard(state, signed_after)


def _signed_after_heard(state: LabelState, signed_after: datetime | None) -> bool:
    heard = state.later_word_heard_at
    return signed_after is not None and heard is not None and signed_after > heard


def counter_went_back(state: LabelState, response: LabelResponse, *, now: datetime) -> bool:
    """Whether an answer refused as `Refusal.OLDER` is a frame older than one it answered,
    taken since: signed after every clock reading the label ever signed, and not ahead of
    the label's now. A label takes only increasing sequences, so its count went back
    (reset to factory and provisioned again with its key, restored from a backup) and it
    took an old frame of ours again (a store gateway replaying its store's frames): its
    panel shows that frame's content, an old price.

    A capture of an answer (a replay, a duplicate, an answer reordered behind a newer one)
    the controller heard was signed at or before the latest clock reading heard from the
    label (`latest_label_time`, to be read before `note_label_time` takes this answer),
    even when that was before a SetClock, or NTP on an OpenEPaperLink stand-in gateway's
    host, set the label's clock back and so below the claim held now. An answer cannot be
    signed ahead of the label's known clock (`clock_offset_ms`) by more than `SIGNED_NOW`.

    The bound is when the words heard were signed, never when they arrived: the latest
    reading is at least the signing time of every report taken, so "signed after the
    last report taken arrived" asked only that the answer was not signed while that
    report was on its way. That is just when a reset label signs its answer to a replayed
    frame if the word it signed before the reset is held at the store gateway and relayed
    ahead of it: believed as newer, the held word stamped `last_seen` with its arrival,
    the answer signed seconds before was refused as a capture, and the audit said `match`
    for 9 minutes while the shelf showed the old price
    (`tests/pipeline/test_reset_label_answer_behind_a_withheld_word.py`). A label whose
    count did not go back signs an older sequence only before a newer one, and so at or
    before a reading heard, unless its clock was set back since. How long ago it was
    signed proves nothing either: a store gateway keeps the answers it could not publish
    while its broker link was down and relays them minutes late. So a capture the
    controller never heard (a gateway withholding it), signed before the label's clock
    was set back, is taken for one: it costs the label's record and one frame, never a
    false match.

    Its panel is weighed as an older check-in's (`check_ins`): a difference makes the
    record forget what the label shows, never the old content shown. A label whose clock
    went back with its count (a reset that clears the clock too), or that answers before
    its clock passes a reading from before it was set back, is found out by its next
    check-in instead."""
    if state.latest_label_time is None:
        # No reading kept (a label known before migration 0039, until its next answer):
        # the claim held cannot stand in, a SetClock may have set the clock back below a
        # capture's. Not proven: its next check-in finds a reset label out.
        return False
    latest = max(state.latest_label_time, state.claim_label_time or state.latest_label_time)
    if response.label_time <= latest:
        return False
    offset = timedelta(milliseconds=state.clock_offset_ms or 0)
    # Not ahead of the label's clock: a reading it took.
    return response.label_time - (now + offset) <= SIGNED_NOW


def note_label_time(state: LabelState, response: LabelResponse) -> None:
    """A verified answer, taken or refused: the label's clock read `label_time` once, so
    any answer it signed before reads no later (`counter_went_back`), whatever its clock
    reads since it was set back. Never goes back."""
    latest = state.latest_label_time
    if latest is None or response.label_time > latest:
        state.latest_label_time = response.label_time
        state.changed = True


def health_is_newer(state: LabelState, response: LabelResponse, *, now: datetime) -> bool:
    """Whether an answer that places no newer claim (`Refusal.NOT_TAKEN`, or a check-in
    older than the claim held) is newer, by the label's clock, than everything believed:
    then its health (battery, alive) counts.

    A held label time later than the label's now (the controller's `now` plus the
    label's known offset, beyond `SIGNED_NOW`) was signed while the label's clock ran
    ahead, since set back (the controller's own clock ran fast and the label was set by
    it, then NTP set the host right): it bounds nothing real, and every later answer
    would look older until real time caught up with it. Then an answer signed now, by
    the label's clock, and after the last report taken arrived, counts; a replay
    captured earlier carries an earlier clock and is still refused. The held claim
    stays the bound of the order of claims: a capture of the answer that set it,
    replayed, is a duplicate."""
    held = state.claim_label_time
    if held is None or response.label_time > held:
        return True
    offset = timedelta(milliseconds=state.clock_offset_ms or 0)
    label_now = now + offset
    if held <= label_now + SIGNED_NOW or abs(response.label_time - label_now) > SIGNED_NOW:
        return False
    # And signed after the last report taken arrived (when that stamp is one of now's
    # clock): a capture of a report from just before it, replayed, is refused too.
    seen = state.last_seen
    return seen is None or seen > now or response.label_time - offset > seen


def note_health(state: LabelState, response: LabelResponse) -> None:
    """Its health was taken: a replay of it, or of anything older, no longer counts. The
    label time held never goes back (a claim held from a clock since set back stays the
    bound of the order of claims)."""
    held = state.claim_label_time
    if held is None or response.label_time > held:
        state.claim_label_time = response.label_time
    state.changed = True
