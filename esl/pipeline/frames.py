"""The one builder of signed frames and of the outbox rows that carry them.

Three kinds of frame reach the outbox, all signed with the label's key and its next
sequence number (`LabelState.next_sequence`), all as the same row shape (`outbox_row`):

- an image planned for new content (`FramePacker.image_frame`): a delta against the
  image the label shows when its planes are known, a full image otherwise;
- the same content again as a full image, for a label that lost a delta's base or
  cannot hold a timed image (`full_image_frame`);
- the same command re-signed with a fresh sequence, for a frame altered on its way
  (`resigned_frame`).

Newer content supersedes every open frame of its label (`supersede_open_frames`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from esl.db.repositories import in_chunks
from esl.delivery_states import OPEN_STATUSES, OutboxStatus
from esl.pipeline.errors import UnplannableLabelError
from esl.pipeline.label_states import LabelState
from esl.pipeline.outbox_rows import OUTBOX, OutboxEntry
from gateways.protocol import (
    ImageEncoding,
    ImageUpdate,
    LabelFrame,
    PackedCommand,
    build_image_update,
    encode_frame,
    pack_for_signing,
    packed_of_frame,
    sign_packed,
)
from rendering.cache import RenderCache, RenderedLabel
from rendering.encoding import Planes

__all__ = [
    "FramePacker",
    "full_image_frame",
    "outbox_row",
    "resigned_frame",
    "supersede_open_frames",
]


def outbox_row(
    *,
    label_id: str,
    store: str,
    gateway: str,
    sequence: int,
    content_hash: str,
    base_hash: str | None,
    display_at: datetime | None,
    payload: bytes,
    not_before: datetime,
    now: datetime,
    attempts: int = 0,
    held: bool = False,
) -> dict[str, Any]:
    """One outbox row, `pending` (or `held` behind the label's earlier frames)."""
    return {
        "label_id": label_id,
        "store": store,
        "gateway": gateway,
        "sequence": sequence,
        "content_hash": content_hash,
        "base_hash": base_hash,
        "display_at": display_at,
        "payload": payload,
        "status": (OutboxStatus.HELD if held else OutboxStatus.PENDING).value,
        "attempts": attempts,
        "not_before": not_before,
        "created_at": now,
    }


class FramePacker:
    """Signed image frames for planning: each distinct command packed once per plan."""

    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache
        self._packed: dict[
            tuple[bytes, str | None, datetime | None, str], tuple[PackedCommand, bytes | None]
        ] = {}

    def start_plan(self) -> None:
        """Forget the commands of the last plan (their images may be evicted since)."""
        self._packed = {}

    def image_frame(
        self,
        state: LabelState,
        label_id: str,
        *,
        store: str,
        gateway: str,
        key: bytes,
        model_id: str,
        rendered: RenderedLabel,
        base: tuple[str, Planes] | None,
        display_at: datetime | None,
        not_before: datetime,
        now: datetime,
        held: bool = False,
    ) -> dict[str, Any]:
        """The outbox row of a signed image update; takes the label's next sequence number.

        `held`: the row waits (status `held`) until the label's earlier frames are settled
        (`esl.pipeline.held_frames`)."""
        base_digest = None if base is None else base[0]
        memo = (rendered.content_hash, base_digest, display_at, model_id)
        known = self._packed.get(memo)
        if known is None:
            # Every label of a product moving from the same image gets the same command:
            # packed once, signed per label.
            shown_hash = None if base is None else bytes.fromhex(base[0])
            image, delta = self.cache.update(
                shown=None if base is None else base[1], new=rendered, shown_hash=shown_hash
            )
            base_hash = shown_hash if delta else None
            command = ImageUpdate(
                model_id=model_id,
                encoding=ImageEncoding.DELTA if delta else ImageEncoding.FULL,
                content_hash=rendered.content_hash,
                image=image,
                base_hash=base_hash,
                display_at=display_at,
            )
            known = self._packed[memo] = (pack_for_signing(command), base_hash)
        packed, base_hash = known
        sequence = state.last_sequence + 1
        try:
            payload = sign_packed(packed, label_id=label_id, sequence=sequence, key=key)
        except ValueError as error:
            raise UnplannableLabelError(label_id, f"cannot sign: {error}") from error
        state.next_sequence()
        return outbox_row(
            label_id=label_id,
            store=store,
            gateway=gateway,
            sequence=sequence,
            content_hash=rendered.content_hash.hex(),
            base_hash=base_hash.hex() if base_hash else None,
            display_at=display_at,
            payload=payload,
            not_before=not_before,
            now=now,
            held=held,
        )


def full_image_frame(
    state: LabelState,
    entry: OutboxEntry,
    *,
    key: bytes,
    model_id: str,
    planes: Planes,
    display_at: datetime | None,
    not_before: datetime,
    now: datetime,
) -> dict[str, Any]:
    """`entry`'s content as a full image, signed with the label's next sequence number."""
    command = build_image_update(planes, model_id=model_id, display_at=display_at)
    sequence = state.next_sequence()
    payload = encode_frame(
        LabelFrame(label_id=entry.label_id, sequence=sequence, command=command), key=key
    )
    return _row_again(
        entry,
        sequence=sequence,
        base_hash=None,
        display_at=display_at,
        payload=payload,
        not_before=not_before,
        now=now,
    )


def resigned_frame(
    state: LabelState,
    entry: OutboxEntry,
    *,
    key: bytes,
    payload: bytes,
    base_hash: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The command of `payload` (`entry`'s frame) signed again with a fresh sequence
    number, its attempts carried over so that tampering on every try still ends in
    parking."""
    packed = packed_of_frame(payload)
    sequence = state.next_sequence()
    return _row_again(
        entry,
        sequence=sequence,
        base_hash=base_hash,
        display_at=entry.display_at,
        payload=sign_packed(packed, label_id=entry.label_id, sequence=sequence, key=key),
        not_before=now,
        now=now,
        attempts=entry.attempts,
    )


def _row_again(
    entry: OutboxEntry,
    *,
    sequence: int,
    payload: bytes,
    base_hash: str | None,
    display_at: datetime | None,
    not_before: datetime,
    now: datetime,
    attempts: int = 0,
) -> dict[str, Any]:
    """The outbox row of a new frame (`sequence`, signed `payload`) carrying `entry`'s
    content to the same label, through the same store gateway."""
    return outbox_row(
        label_id=entry.label_id,
        store=entry.store,
        gateway=entry.gateway,
        sequence=sequence,
        content_hash=entry.content_hash,
        base_hash=base_hash,
        display_at=display_at,
        payload=payload,
        not_before=not_before,
        now=now,
        attempts=attempts,
    )


def supersede_open_frames(session: Session, label_ids: Iterable[str], *, now: datetime) -> None:
    """Newer content replaces every open frame of these labels."""
    ordered = sorted(set(label_ids))
    open_statuses = [status.value for status in OPEN_STATUSES]
    for chunk in in_chunks(ordered):
        session.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.label_id.in_(chunk),
                OUTBOX.c.status.in_(open_statuses),
            )
            .values(status=OutboxStatus.SUPERSEDED.value, settled_at=now)
        )
