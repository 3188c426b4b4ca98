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
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from esl.db.models import LabelRow
from esl.db.repositories import in_chunks
from esl.delivery_states import IN_PROGRESS_STATUSES, OutboxStatus
from esl.pipeline.label_states import load_label_states, save_label_states
from esl.pipeline.outbox_rows import OUTBOX
from gateways.protocol import LabelFrame, decode_frame, encode_frame

__all__ = ["release_held_frames"]

# Statuses of a frame still on its way to the label (or waiting to be): they block a
# held frame of the same label.
_IN_PROGRESS = tuple(status.value for status in IN_PROGRESS_STATUSES)


def release_held_frames(session: Session, stores: frozenset[str] | None = None) -> int:
    """Make `pending` every held frame whose label has no other open frame; the number.
    With `stores` (a worker's share), only frames of those stores."""
    statement = select(OUTBOX.c.id, OUTBOX.c.label_id, OUTBOX.c.sequence, OUTBOX.c.payload).where(
        OUTBOX.c.status == OutboxStatus.HELD.value
    )
    if stores is not None:
        statement = statement.where(OUTBOX.c.store.in_(sorted(stores)))
    held = session.execute(statement).all()
    if not held:
        return 0
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
