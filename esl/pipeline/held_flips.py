"""The timed image a label holds: a fact of the label, kept apart from the plan.

A label stores a timed image and flips to it when its own clock reaches the instant
(docs/protocol.md: one pending flip per label, a newer one replaces it, an image shown
now cancels it). The plan (`desired_hash`, `desired_display_at`) names the flip only
until a newer plan replaces it: a promotion withdrawn or moved later minutes before its
start plans the regular image to cancel the flip, and a label out of reach never gets
it. It flips all the same, and the shelf shows a price no longer due. Judged by the plan,
the audit called that shelf `match` ("shows 3.49, due 3.49") until the cancelling frame
parked (`tests/pipeline/test_withdrawn_flip_audit.py`).

So the flip a label holds is recorded from the believed acknowledgement of its timed
frame (`label_states.held_hash`, `held_display_at`) and kept until a later believed
answer shows the label no longer holds it: it acknowledged a later image frame (a timed
one replaces the flip, an immediate one cancels it), it answered with its clock at or
past the instant (it flipped, and its answer says what it shows), or the record of what
it shows was put right from its check-in (`check_ins.reconcile`: a label that lost its
timed image, a battery swapped). `esl.services.panel_image` counts the held image as
shown once its instant has passed on the label's clock since it was last heard; the
audit calls that count `unconfirmed`, and health and the console `pending`, until the
label is heard (it may have skipped the flip: a sagging battery), and `label_keepalive`
pings it soon after the instant. Heard, a word showing another image than the timed one
is the label's (`panel_image.said_not_flipped`): the periodic pass plans it again.
"""

from __future__ import annotations

from datetime import datetime

from esl.pipeline.label_states import LabelState

__all__ = ["forget_held_flip", "note_answered_image", "note_heard_at"]


def note_answered_image(
    state: LabelState, *, content_hash: str, display_at: datetime | None, label_time: datetime
) -> None:
    """The label acknowledged an image frame (its newest believed word): a timed image
    whose instant its clock has not reached is the flip it holds now; any other image
    is on its panel, and no flip is held (an image shown now cancels one)."""
    if display_at is not None and label_time < display_at:
        held: tuple[str | None, datetime | None] = (content_hash, display_at)
    else:
        held = (None, None)
    if (state.held_hash, state.held_display_at) != held:
        state.held_hash, state.held_display_at = held
        state.changed = True


def note_heard_at(state: LabelState, label_time: datetime | None) -> None:
    """A believed answer signed at `label_time` on the label's clock: at or past the
    held instant the label has flipped, and what it shows is its own word from now on."""
    if (
        state.held_display_at is not None
        and label_time is not None
        and label_time >= state.held_display_at
    ):
        forget_held_flip(state)


def forget_held_flip(state: LabelState) -> None:
    if state.held_hash is not None or state.held_display_at is not None:
        state.held_hash = state.held_display_at = None
        state.changed = True
