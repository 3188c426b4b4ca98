"""Frames that wait for the label's earlier frames: a timed image behind the image of now.

A change planned ahead for a label that does not show what is due now (a label just
bound, still blank, or showing an older price) needs two frames: the image of now, shown
at once, and the timed image, which the label stores and shows at the instant. They must
arrive in that order: a store gateway keeps one pending image frame per label (a newer
one replaces it), and a label's immediate image cancels a flip it holds. So the planner
writes the timed frame as `held`, and `release_held_frames`, run at every controller
poll, makes it `pending` once the label has no other open frame (the image of now was
acknowledged).

A held frame was signed with the sequence number after the image of now; if the label
has since been sent a newer one (the image of now rebuilt as a full image answers
`UNKNOWN_BASE_IMAGE` with a fresh sequence), the held frame is signed again with the next
number, as the label accepts only increasing ones.

The image of now is due only until the flip's instant. When that instant passes while
the image of now has not reached the label (lost, the label asleep, its retry waiting
out a backoff), sending it then would put content no longer due on the panel (a
promotion that ended) until the flip followed. `images_no_longer_due` names such
frames: `release_held_frames` supersedes those waiting (pending, parked) once the
instant has passed and releases the flip (its instant past, the label shows it at
once), and the dispatcher weighs every image it is about to send alike, for a retry
that comes due between two polls. One already sent is waited for: the flip must not
overtake it on the way. The flip of a label that cannot hold timed images is an
immediate frame sent from the instant on (`not_before`): its instant is that.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from esl.db.models import LabelRow, LabelStateRow, core_table
from esl.db.repositories import in_chunks
from esl.delivery_states import IN_PROGRESS_STATUSES, OutboxStatus
from esl.pipeline.label_states import load_label_states, save_label_states
from esl.pipeline.outbox_rows import OUTBOX
from gateways.protocol import LabelFrame, decode_frame, encode_frame

__all__ = ["images_no_longer_due", "release_held_frames"]

# Statuses of a frame still on its way to the label (or waiting to be): they block a
# held frame of the same label.
_IN_PROGRESS = tuple(status.value for status in IN_PROGRESS_STATUSES)
_STATES = core_table(LabelStateRow)


def release_held_frames(
    session: Session, stores: frozenset[str] | None = None, *, now: datetime
) -> int:
    """Make `pending` every held frame whose label has no other open frame; the number.
    With `stores` (a worker's share), only frames of those stores.

    A held flip whose instant has passed is due now: an image of now in front of it
    that is not on its way (pending, or parked) is no longer due, and is superseded
    (`images_no_longer_due`) rather than waited for. One already sent still blocks the
    flip: sent after it, the flip could reach the panel first, and be covered by it."""
    statement = select(
        OUTBOX.c.id,
        OUTBOX.c.label_id,
        OUTBOX.c.sequence,
        OUTBOX.c.payload,
        OUTBOX.c.display_at,
        OUTBOX.c.not_before,
    ).where(OUTBOX.c.status == OutboxStatus.HELD.value)
    if stores is not None:
        statement = statement.where(OUTBOX.c.store.in_(sorted(stores)))
    held = session.execute(statement).all()
    if not held:
        return 0
    _supersede_overtaken(
        session,
        {row.label_id for row in held if _flip_instant(row.display_at, row.not_before) <= now},
        now=now,
    )
    busy: set[str] = set()
    for chunk in in_chunks(sorted({row.label_id for row in held})):
        busy.update(
            session.scalars(
                select(OUTBOX.c.label_id).where(
                    OUTBOX.c.label_id.in_(chunk), OUTBOX.c.status.in_(_IN_PROGRESS)
                )
            )
        )
    ready = [row for row in held if row.label_id not in busy]
    if not ready:
        return 0
    states = load_label_states(session, [row.label_id for row in ready], create=False, lock=True)
    resigned: list[tuple[int, int, bytes]] = []
    keys: dict[str, bytes] = {}
    stale = [row for row in ready if states[row.label_id].last_sequence != row.sequence]
    for chunk in in_chunks(sorted({row.label_id for row in stale})):
        keys.update(
            (label_id, key)
            for label_id, key in session.execute(
                select(LabelRow.id, LabelRow.secret_key).where(LabelRow.id.in_(chunk))
            )
        )
    for row in stale:
        # The label was sent a newer sequence since: sign the same command again.
        key = keys[row.label_id]
        command = decode_frame(row.payload, key=key, label_id=row.label_id).command
        sequence = states[row.label_id].next_sequence()
        frame = LabelFrame(label_id=row.label_id, sequence=sequence, command=command)
        resigned.append((row.id, sequence, encode_frame(frame, key=key)))
    for row_id, sequence, payload in resigned:
        session.execute(
            update(OUTBOX).where(OUTBOX.c.id == row_id).values(sequence=sequence, payload=payload)
        )
    save_label_states(session, states.values(), columns={"last_sequence"})
    ids = [row.id for row in ready]
    for chunk in in_chunks(ids):
        session.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.id.in_(chunk),
                OUTBOX.c.status == OutboxStatus.HELD.value,
            )
            .values(status=OutboxStatus.PENDING.value)
        )
    return len(ready)


def _flip_instant(display_at: datetime | None, not_before: datetime) -> datetime:
    """The instant a held frame flips the label at: its display-at, or, for the flip of
    a label that cannot hold timed images (an immediate frame, `planning`), the instant
    it may be sent from. Looking at the display-at alone, such a flip waited for an
    image of now no longer due to come out of its retry's backoff (up to ~40 s of an
    ended promotion on the shelf,
    `tests/pipeline/test_flip_of_a_label_without_timed_images_after_a_lost_image.py`)."""
    return display_at if display_at is not None else not_before


def _supersede_overtaken(session: Session, label_ids: set[str], *, now: datetime) -> None:
    """Supersede the images of now of `label_ids` that wait (pending or parked) in front
    of a flip whose instant has passed."""
    waiting = (OutboxStatus.PENDING.value, OutboxStatus.PARKED.value)
    for chunk in in_chunks(sorted(label_ids)):
        frames = session.execute(
            select(
                OUTBOX.c.id, OUTBOX.c.label_id, OUTBOX.c.display_at, OUTBOX.c.content_hash
            ).where(OUTBOX.c.label_id.in_(chunk), OUTBOX.c.status.in_(waiting))
        ).all()
        overtaken = images_no_longer_due(session, [tuple(frame) for frame in frames], now=now)
        if overtaken:
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(sorted(overtaken)), OUTBOX.c.status.in_(waiting))
                .values(status=OutboxStatus.SUPERSEDED.value, settled_at=now)
            )


def images_no_longer_due(
    session: Session,
    frames: Iterable[tuple[int, str, datetime | None, str]],
    *,
    now: datetime,
) -> set[int]:
    """Of `frames` about to be sent, (id, label, display-at, content hash), the ids of
    images of now whose content is no longer due: the label was last planned with a flip
    whose instant has passed (`desired_display_at`), to other content than theirs. Its
    flip, held behind them, is what is due now.

    Only an immediate image (no display-at) is ever overtaken so: a timed image is the
    flip itself, and an immediate frame of the desired content (a label that cannot
    hold a flip, sent at the instant) is what is due. Every other plan for now sets
    `desired_display_at` to none, and planning supersedes the open frames of content it
    replaces, so a frame of the planned content is never named here.
    """
    immediate: dict[str, list[tuple[int, str]]] = {}
    for row_id, label_id, display_at, content_hash in frames:
        if display_at is None:
            immediate.setdefault(label_id, []).append((row_id, content_hash))
    if not immediate:
        return set()
    overtaken: set[int] = set()
    for chunk in in_chunks(sorted(immediate)):
        for label_id, desired_hash in session.execute(
            select(_STATES.c.label_id, _STATES.c.desired_hash).where(
                _STATES.c.label_id.in_(chunk),
                _STATES.c.desired_display_at <= now,
            )
        ):
            overtaken.update(
                row_id
                for row_id, content_hash in immediate[label_id]
                if content_hash != desired_hash
            )
    return overtaken
