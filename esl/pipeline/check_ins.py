"""Reconciliation: what a label says it shows, against what the controller recorded.

A label's check-in (protocol kind `0x82`) carries, signed with its key, the hash of the
image on its panel and its sequence counter. The record can be wrong without any frame
going astray: a label reset or restored from a backup, a label swapped for another, a
simulated gateway that lost its labels' state, a record corrupted by hand. So every
verified check-in is compared with the record, and a label whose panel differs is put
right: the record is corrected and the label planned again at once.

The rule (`check_in_verdict`) trusts a check-in only as far as it is new: its sequence
must be at least the highest sequence the label already answered. A newer check-in is
believed (the record takes the hash it reports). An older one that disagrees (a replayed
capture, or a label restored from a backup, which counts from an older sequence) is not
believed either way: the record forgets what the label shows, so the label gets its full
image again. Either way nothing becomes "up to date" on a check-in's word alone
unless that check-in is newer than every answer the controller holds; an old check-in
can cost one frame, never a false confirmation.

While an update is open (pending, in flight, parked, held) a difference is expected and
left to the update: nothing is planned again, but what a believed check-in shows is
recorded as displayed (the audit reads it; the next delta is drawn against it). A label
holding a timed image shows, until its instant (and a short grace after it, as it flips
on its own clock), the image of now it acknowledged: a
check-in showing that image or the timed one is expected; one showing anything else (a
label reset, restored or swapped while it held the flip) is put right at once, with the
image of now and the flip again, not left blank or stale until the instant. So is one
showing the timed image more than `FLIP_GRACE` before its instant: its clock runs ahead
(`label_clocks` sets it), and the shelf must not show the next price early.

`reconciliation_candidates` is the periodic pass: one read of `label_states` and the open
outbox rows, O(labels) in memory, no rendering; it finds labels whose record says they
neither show their due content nor have an update on its way. That includes a label whose
own word, signed at or past the instant of the timed image it acknowledged, shows another
image (`panel_image.said_not_flipped`: a battery sagged below a refresh skips the flip),
once `FLIP_GRACE` has passed since that instant (a label that flips a moment late says so
by then): a check-in within the grace is only expected, not believed against the flip,
and before, nothing looked at it again, so the shelf kept the old price for good.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from esl.db.models import LabelAcknowledgementRow, LabelStateRow
from esl.db.repositories import in_chunks
from esl.delivery_states import OPEN_STATUSES
from esl.pipeline.held_flips import forget_held_flip
from esl.pipeline.label_states import LabelState
from esl.pipeline.outbox_rows import OUTBOX
from esl.services.panel_image import said_not_flipped
from gateways.protocol import BasicStateFlag, LabelResponse

__all__ = [
    "CheckInVerdict",
    "CheckInsWeighed",
    "answered_sequences",
    "check_in_verdict",
    "forget_desired",
    "open_update_labels",
    "reconcile",
    "reconciliation_candidates",
    "weigh_check_ins",
]

log = logging.getLogger(__name__)

# A timed image flips on the label's own clock: a check-in this close after the instant
# may still show the image before it.
FLIP_GRACE = timedelta(minutes=2)
# A held frame waits for the label's earlier frames: an update on its way as well.
_OPEN = tuple(status.value for status in OPEN_STATUSES)
_RECONCILE_PAGE = 5_000  # label states read at once by the reconciliation pass


class CheckInVerdict(StrEnum):
    AGREES = "agrees"  # shows what the record says
    EXPECTED = "expected"  # differs, but an update or a timed flip is on its way
    NEWER = "newer"  # differs and is newer than every answer held: believe it
    OLDER = "older"  # differs and is older than an answer held: trust neither


def check_in_verdict(
    *,
    shows: str | None,
    sequence: int,
    recorded: str | None,
    answered_sequence: int | None,
    update_open: bool,
    display_at: datetime | None,
    image_of_now: str | None,
    timed: str | None,
    received_at: datetime,
    older_claim: bool = False,
    holds_flip: bool | None = None,
) -> CheckInVerdict:
    """What a verified check-in means for the record of its label.

    `shows` is the hash the label reports, `recorded` the content the controller records
    it as showing (`confirmed_hash`), `answered_sequence` the highest sequence of any
    answer from the label the controller holds (None: none). `display_at` and `timed` are
    the instant and hash of the timed image the label holds, if any, and `image_of_now`
    the image it acknowledged showing until then (`displayed_hash`). `received_at` is
    when the check-in arrived (not when it is weighed): a label flips on its own clock.
    `older_claim`: the check-in is older, in the label's signed order, than a claim the
    controller holds (a replay, or a label whose clock went back): never believed.
    `holds_flip`: whether the label says it holds a timed image (the *pending display
    update* flag of its signed Basic State); None: it does not say.
    """
    if shows == recorded:
        return CheckInVerdict.AGREES
    older = older_claim or (answered_sequence is not None and sequence < answered_sequence)
    if update_open:
        if shows is None and not older:
            # A blank panel, the label's newest word (blanked keeping its count, a
            # gateway that lost what its labels show): the image the record confirms
            # is not on it, and the update on its way may be a delta against it, or a
            # timed image that leaves the panel blank until its instant. Kept, the
            # record said the label showed it: the audit `match` on a blank shelf.
            return CheckInVerdict.NEWER
        return CheckInVerdict.EXPECTED
    if (
        display_at is not None
        and holds_flip is False
        and not older
        and shows is not None
        and shows == image_of_now
        and shows != timed
        and received_at < display_at - FLIP_GRACE
    ):
        # The image of now, and no flip held: it lost the timed image it acknowledged
        # (a battery swapped: the panel and the count are kept, the flip waiting in
        # memory is not). Believed, so it is planned again and gets the flip before the
        # instant, not found out after it.
        return CheckInVerdict.NEWER
    if (
        display_at is not None
        and received_at < display_at + FLIP_GRACE
        and not older
        and shows is not None
        and shows in (image_of_now, timed)
    ):
        return CheckInVerdict.EXPECTED  # before its flip, or flipped a moment early
    return CheckInVerdict.OLDER if older else CheckInVerdict.NEWER


def reconcile(
    state: LabelState,
    verdict: CheckInVerdict,
    *,
    shows: str | None,
    holds_flip: bool | None = None,
) -> bool:
    """Correct the record of a label whose panel differs; True when it must be planned
    again (its desired content is forgotten, so planning sends it whatever is due).

    `holds_flip`: whether the label says it holds a timed image (the *pending display
    update* flag of its signed Basic State); None: it does not say."""
    if verdict is CheckInVerdict.NEWER:
        # The label's newest word, with no update on its way (else it is EXPECTED): what
        # it shows is settled, so planning sends nothing if that is what is due.
        state.displayed_hash = state.confirmed_hash = state.desired_hash = shows
    elif verdict is CheckInVerdict.OLDER:
        state.displayed_hash = None  # unknown: the next frame is a full image
        state.confirmed_hash = None
    else:
        return False
    if not holds_flip:
        # The label says it holds no timed image (it lost it: a battery swapped), or
        # is taken back to a past the record cannot name: the flip the record had it
        # hold is gone. One that still holds it keeps it until an image replaces it.
        forget_held_flip(state)
    state.desired_key = None
    state.desired_display_at = None
    state.changed = True
    return True


def answered_sequences(session: Session, label_ids: Collection[str]) -> dict[str, int]:
    """The highest sequence each label answered, from the acknowledgement history."""
    ordered = sorted(label_ids)
    found: dict[str, int] = {}
    for chunk in in_chunks(ordered):
        for label_id, sequence in session.execute(
            select(LabelAcknowledgementRow.label_id, func.max(LabelAcknowledgementRow.sequence))
            .where(LabelAcknowledgementRow.label_id.in_(chunk))
            .group_by(LabelAcknowledgementRow.label_id)
        ):
            found[label_id] = int(sequence)
    return found


def open_update_labels(session: Session, label_ids: Collection[str]) -> set[str]:
    ordered = sorted(label_ids)
    found: set[str] = set()
    for chunk in in_chunks(ordered):
        found.update(
            session.scalars(
                select(OUTBOX.c.label_id)
                .where(
                    OUTBOX.c.label_id.in_(chunk),
                    OUTBOX.c.status.in_(_OPEN),
                )
                .distinct()
            )
        )
    return found


def reconciliation_candidates(
    session: Session, *, now: datetime, page: int = _RECONCILE_PAGE
) -> list[str]:
    """Labels with no update open whose record does not show their due content, or
    whose last report contradicts the record (a label holding a timed image too: it gets
    the image of now and the flip again; and one that said, after its flip's instant and
    `FLIP_GRACE`, that it shows another image: it gets the due image now): the periodic
    pass plans them again. Read `page` label states at a time (a chain's states do not
    fit in memory at once), each page one statement that leaves out labels with an
    update open; no rendering."""
    stuck: list[str] = []
    after = ""
    while True:
        rows = session.execute(
            select(
                LabelStateRow.label_id,
                LabelStateRow.desired_hash,
                LabelStateRow.confirmed_hash,
                LabelStateRow.displayed_hash,
                LabelStateRow.desired_display_at,
                LabelStateRow.held_display_at,
                LabelStateRow.clock_offset_ms,
            )
            .where(
                LabelStateRow.desired_hash.is_not(None),
                LabelStateRow.label_id > after,
                ~(
                    select(OUTBOX.c.label_id)
                    .where(
                        OUTBOX.c.label_id == LabelStateRow.label_id,
                        OUTBOX.c.status.in_(_OPEN),
                    )
                    .exists()
                ),
            )
            .order_by(LabelStateRow.label_id)
            .limit(page)
        ).all()
        for label_id, desired, confirmed, displayed, display_at, held_at, offset in rows:
            if desired == confirmed and (
                displayed in (None, confirmed)
                or (
                    display_at is not None
                    and not said_not_flipped(
                        confirmed=confirmed,
                        displayed=displayed,
                        display_at=display_at,
                        held_at=held_at,
                        at=now - FLIP_GRACE,
                        clock_offset_ms=offset,
                    )
                )
            ):
                # Agrees. A label holding its acknowledged timed image shows the image of
                # now until the instant, and the timed image after it: it flips on its own
                # clock, unless it said since that it did not.
                continue
            stuck.append(label_id)
        if len(rows) < page:
            return stuck
        after = rows[-1][0]


def forget_desired(session: Session, label_ids: Collection[str]) -> None:
    """Make planning work these labels out again (the periodic pass's correction)."""
    ordered = sorted(label_ids)
    for chunk in in_chunks(ordered):
        session.execute(
            update(LabelStateRow)
            .where(LabelStateRow.label_id.in_(chunk))
            .values(desired_key=None, desired_display_at=None)
            .execution_options(synchronize_session=False)
        )


class CheckInsWeighed(NamedTuple):
    reconciled: list[str]  # labels whose record was corrected, to be planned again
    # Of those, the labels whose record now forgets what they show (`CheckInVerdict.OLDER`)
    forgotten: set[str]


def weigh_check_ins(
    session: Session,
    states: Mapping[str, LabelState],
    check_ins: Mapping[str, tuple[LabelResponse, datetime]],
    *,
    answered_now: Iterable[tuple[str, int]] = (),
    open_now: Collection[str] = (),
    older: Collection[str] = (),
    judge_flips: bool = True,
) -> CheckInsWeighed:
    """Compare each label's newest check-in (and when it arrived) with its record: the
    labels whose record was corrected, to be planned again, and of those the labels whose
    record forgot what they show.

    A check-in is weighed as of its arrival, not of this settling (a timed flip is judged
    against the label's clock). `answered_now` and `open_now`: the (label, sequence)
    answers and the labels with a frame of the batch being settled, not written yet.
    `older`: labels whose check-in is older than a claim held (`check_in_verdict`).
    A label's entry may be its newest believed answer settling no open frame instead (a
    keep-alive ping's): what it reports is the label's word on its panel all the same."""
    differing = {
        label_id: (response, received_at)
        for label_id, (response, received_at) in check_ins.items()
        if _hex(response.displayed_hash) != states[label_id].confirmed_hash
    }
    early: list[str] = []
    for label_id, (response, received_at) in check_ins.items():
        if label_id not in differing and label_id not in older:
            state = states[label_id]
            shows = _hex(response.displayed_hash)
            if judge_flips and _flipped_early(state, shows, received_at):
                early.append(label_id)
            state.displayed_hash = shows
    for label_id in early:
        # Its clock runs ahead (`label_clocks` has it set): the next price is on the
        # panel before its instant, while the till charges the price of now. Planned
        # again at once, as showing that image: it gets the image of now, and the
        # change at its instant.
        state = states[label_id]
        state.desired_key = None
        state.desired_display_at = None
        state.changed = True
        log.warning(
            "label %s shows the image timed for later %s already (its clock runs ahead): "
            "planned again",
            label_id,
            state.displayed_hash[:12] if state.displayed_hash else "nothing",
        )
    if not differing:
        return CheckInsWeighed(early, set())
    answered = answered_sequences(session, differing)
    for label_id, sequence in answered_now:
        if label_id in differing and sequence > answered.get(label_id, -1):
            answered[label_id] = sequence
    open_labels = open_update_labels(session, differing) | set(open_now)
    reconciled: list[str] = early
    forgotten: set[str] = set()
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
            older_claim=label_id in older,
            holds_flip=BasicStateFlag.PENDING_DISPLAY_UPDATE in response.flags,
        )
        if verdict is CheckInVerdict.EXPECTED and label_id not in older:
            # The label's newest word (settlement believed it against every claim held,
            # in the label's signed order): what it shows is recorded, an update on its
            # way or not; the next delta is drawn against it, and the audit reads it. Not
            # bounded by the highest sequence in the history: an answer refusing a frame
            # the label did not take (busy, a damaged frame) names that frame's sequence
            # while the label still counts below it, and the panel a check-in reported
            # then was set aside: the record kept the image before a change the label
            # drew, and the frame on its way, of the due image, made the audit `match`.
            state.displayed_hash = shows
        recorded = state.confirmed_hash
        holds_flip = BasicStateFlag.PENDING_DISPLAY_UPDATE in response.flags
        if reconcile(state, verdict, shows=shows, holds_flip=holds_flip):
            reconciled.append(label_id)
            if verdict is CheckInVerdict.OLDER:
                forgotten.add(label_id)
            log.warning(
                "label %s shows %s, recorded as showing %s (%s check-in, sequence %d): "
                "record corrected, planned again",
                label_id,
                (shows or "nothing")[:12],
                (recorded or "nothing")[:12],
                verdict.value,
                response.sequence,
            )
    return CheckInsWeighed(reconciled, forgotten)


def _flipped_early(state: LabelState, shows: str | None, received_at: datetime) -> bool:
    """Whether a label holding a timed image showed it (the confirmed image) more than
    `FLIP_GRACE` before its instant, by the controller's clock: a moment early is the
    label's clock and the way up; minutes early is a clock that runs ahead."""
    display_at = state.desired_display_at
    return (
        display_at is not None
        and shows is not None
        and shows == state.desired_hash == state.confirmed_hash
        and shows != state.displayed_hash
        and received_at < display_at - FLIP_GRACE
    )


def _hex(digest: bytes | None) -> str | None:
    return digest.hex() if digest else None
