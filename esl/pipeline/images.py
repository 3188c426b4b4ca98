"""The image planes the pipeline knows, by content hash: the base of every delta.

Planning renders an image and keeps its planes here; a later frame of the same label is
a delta against the image the label reported showing, when its planes are known.
Settlement asks here too when a label lost a delta's base and needs the full image
again. The planes live in memory, bounded, and in `rendered_contents`, so deltas
survive a controller restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from esl.db.models import RenderedContentRow, core_table
from esl.db.repositories import in_chunks
from rendering.encoding import Planes

__all__ = ["ImageStore", "stored_images", "stored_planes"]

# Planes of recent images kept for deltas (9.5 kB each for a 2.9" label); the rest are
# read back from `rendered_contents`.
_MAX_PLANES = 4_000


def stored_images(session: Session, digests: Iterable[str | None]) -> set[str]:
    """Which of `digests` have their planes in `rendered_contents` (every image sent)."""
    wanted = sorted({digest for digest in digests if digest is not None})
    known: set[str] = set()
    for chunk in in_chunks(wanted):
        known.update(
            session.scalars(
                select(RenderedContentRow.content_hash).where(
                    RenderedContentRow.content_hash.in_(chunk)
                )
            )
        )
    return known


def stored_planes(session: Session, digest: str) -> tuple[str, Planes] | None:
    """The display model and planes of the image `digest` in `rendered_contents`; None for
    one not kept there."""
    row = session.get(RenderedContentRow, digest)
    if row is None:
        return None
    return row.model, Planes(width=row.width, height=row.height, black=row.black, accent=row.accent)


class ImageStore:
    """Planes of images planned or confirmed, in memory and in `rendered_contents`."""

    def __init__(self, *, max_planes: int = _MAX_PLANES) -> None:
        self.max_planes = max_planes
        self._planes: dict[str, tuple[str, Planes]] = {}
        self._unstored: set[str] = set()

    def remember(
        self, digest: str, model_id: str, planes: Planes, *, stored: bool = False
    ) -> tuple[str, Planes]:
        """Keep an image's planes as a base for later deltas; `store_new` writes the
        ones not `stored` yet to `rendered_contents`."""
        if len(self._planes) >= self.max_planes:
            # A bounded memory: forget what the database already keeps.
            self._planes = {d: known for d, known in self._planes.items() if d in self._unstored}
        known = self._planes.setdefault(digest, (model_id, planes))
        if not stored:
            self._unstored.add(digest)
        return known

    def planes_of(self, session: Session, digest: str | None, *, model_id: str) -> Planes | None:
        """The planes of an image of `model_id` by content hash: memory, else the database."""
        if digest is None:
            return None
        known = self._planes.get(digest)
        if known is None:
            stored = stored_planes(session, digest)
            if stored is None:
                return None
            known = self.remember(digest, *stored, stored=True)
        model, planes = known
        return planes if model == model_id else None

    def delta_base(
        self, session: Session, digest: str | None, *, model_id: str
    ) -> tuple[str, Planes] | None:
        """The image a label reported showing, when its planes are known: a delta's base."""
        planes = self.planes_of(session, digest, model_id=model_id)
        return None if digest is None or planes is None else (digest, planes)

    def store_new(self, session: Session, *, now: datetime) -> None:
        """Keep the planes of every image sent, so deltas survive a controller restart."""
        wanted = sorted(self._unstored)
        self._unstored.clear()
        known = stored_images(session, wanted)
        missing = [digest for digest in wanted if digest not in known]
        if missing:
            # Workers sharing the stores render the same image (one price in every
            # store) and may both store it: the second insert is a no-op.
            upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(
                upsert(core_table(RenderedContentRow)).on_conflict_do_nothing(),
                [
                    {
                        "content_hash": digest,
                        "model": model,
                        "width": planes.width,
                        "height": planes.height,
                        "black": planes.black,
                        "accent": planes.accent,
                        "created_at": now,
                    }
                    for digest in missing
                    for model, planes in (self._planes[digest],)
                ],
            )
