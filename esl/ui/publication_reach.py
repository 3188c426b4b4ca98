"""How far a publication reached the shelves, read from the store of record: the labels
it changed per store, those on their way or not on the shelf, and how long after it took
effect every label confirmed its image (the console's overview, publications list and
publication page).

States come from the one label-state classifier (`esl.services.health.label_conditions`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, and_, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from esl.db.models import (
    LabelAcknowledgementRow,
    LabelRow,
    LabelStateRow,
    OutboxRow,
    PlannedPublicationRow,
    PlanningQueueRow,
    PublicationRow,
)
from esl.db.repositories import in_chunks
from esl.delivery_states import OPEN_STATUSES, OutboxStatus
from esl.pipeline.affected_labels import labels_changed_by_publication
from esl.planning_queue import scheduled_followers
from esl.services.health import label_conditions
from esl.services.label_status import LabelStatus
from esl.services.panel_image import flip_instant

__all__ = ["PublicationReach", "publication_reach"]


@dataclass(frozen=True, slots=True)
class PublicationReach:
    id: int
    title: str
    status: str
    published_at: datetime | None
    effective_at: datetime | None
    labels_changed: int
    per_store: dict[str, int] = field(default_factory=dict)
    # From taking effect to the last label heard showing an image planned after it (None:
    # not every label is, or the figure is not known: see `on_every_shelf`).
    time_to_shelf: timedelta | None = None
    # Every label it changes was heard showing its image (or shows what is due).
    on_every_shelf: bool = False
    still_open: int = 0
    # Labels it changes that do not show what is due and get no frame for it, by their
    # state and its reason ("unplanned: …"), and those heard after its instant showing
    # another image than its timed one: not on the shelf, whatever the others did.
    not_on_shelf: dict[str, int] = field(default_factory=dict)
    # Labels holding its timed image, their clocks not at the instant yet (from
    # `shown_from`, the earliest), and those past it not heard since: flipped by the
    # controller's count only (the audit says `unconfirmed`: a sagging battery skips it).
    held: int = 0
    shown_from: datetime | None = None
    flipped_unheard: int = 0
    # The `scheduled` publications queued for the later instants its rows change labels
    # at (a file published for an instant changes none at its own): one publication's.
    due_later: list[PublicationReach] = field(default_factory=list)

    @property
    def arriving(self) -> bool:
        """Some label it changes is not on the shelf with it yet, or will not be."""
        return bool(self.still_open or self.not_on_shelf or self.held or self.flipped_unheard)


def publication_reach(
    session: Session,
    *,
    now: datetime,
    limit: int = 20,
    publication_id: int | None = None,
    store: str | None = None,
) -> list[PublicationReach]:
    """Publications newest first, with labels changed per store and time to the shelf;
    of `store`'s labels only when given (a store key sees its own store's figures). One
    publication (`publication_id`) comes with the reach of the publications due later
    that follow it (`due_later`)."""
    statement = select(PublicationRow).order_by(PublicationRow.id.desc())
    if publication_id is not None:
        statement = statement.where(PublicationRow.id == publication_id)
    rows = list(session.scalars(statement.limit(limit)))
    published = sorted(
        (r.published_at for r in session.scalars(select(PublicationRow)) if r.published_at),
    )
    reach = []
    for row in rows:
        # The controller's own answer to "which labels may this have changed".
        labels = labels_changed_by_publication(session, row.id) if row.published_at else []
        found = _in_chunks_of(session, select(LabelRow.id, LabelRow.store), LabelRow.id, labels)
        stores: dict[str, str] = dict(found)
        if store is not None:
            labels = [label for label in labels if stores.get(label) == store]
        per_store = Counter(stores[label] for label in labels if label in stores)
        arrival = _time_to_shelf(session, row, labels, published, now=now)
        reach.append(
            PublicationReach(
                id=row.id,
                title=row.title,
                status=row.status,
                published_at=row.published_at,
                effective_at=row.effective_at,
                labels_changed=len(labels),
                per_store=dict(sorted(per_store.items())),
                time_to_shelf=arrival.time_to_shelf,
                on_every_shelf=arrival.on_every_shelf,
                still_open=arrival.still_open,
                not_on_shelf=arrival.not_on_shelf,
                held=arrival.flips.held,
                shown_from=arrival.flips.shown_from,
                flipped_unheard=arrival.flips.flipped_unheard,
            )
        )
    if publication_id is not None and reach:
        due_later = [
            publication_reach(session, now=now, publication_id=later, store=store)[0]
            for later, _ in scheduled_followers(session, publication_id)
        ]
        reach[0] = replace(reach[0], due_later=due_later)
    return reach


@dataclass(frozen=True, slots=True)
class _Flips:
    """Where the timed images of a publication's labels stand (`PublicationReach`)."""

    held: int = 0
    shown_from: datetime | None = None
    flipped_unheard: int = 0
    not_shown: int = 0  # heard after the instant showing another image


@dataclass(frozen=True, slots=True)
class _ShelfArrival:
    time_to_shelf: timedelta | None  # None while a label is open or not on the shelf
    on_every_shelf: bool
    still_open: int
    not_on_shelf: dict[str, int]  # "unplanned: why" -> labels
    flips: _Flips = _Flips()


# A label heard after the instant showing another image than the timed one it held.
FLIP_NOT_SHOWN = "flip not shown: heard after the instant showing another image"


def _time_to_shelf(
    session: Session,
    row: PublicationRow,
    labels: list[str],
    published: list[datetime],
    *,
    now: datetime,
) -> _ShelfArrival:
    """How long after it took effect every label it changes was heard showing its image.
    Its outbox rows (from publishing to the next publication) say which labels took their
    frame and which are on their way; a label with none tells nothing by its absence (the
    planner could not draw it, it is on no gateway, it shows the same content), so the
    label classifier says whether it shows what is due: one unplanned, failed or pending
    is not on the shelf, and then no "every label confirmed" is claimed. A timed frame's
    acknowledgement says the label holds the image, not that it shows it
    (`_heard_showing`)."""
    if row.published_at is None or not labels:
        return _ShelfArrival(None, False, 0, {})
    start = row.effective_at if row.effective_at and row.effective_at > row.published_at else None
    start = start or row.published_at
    later = [at for at in published if at > row.published_at]
    end = later[0] if later else None
    since = [OutboxRow.created_at >= row.published_at]  # of `labels`, read in chunks
    window = [*since, OutboxRow.created_at < end] if end is not None else since
    open_labels = {
        label
        for (label,) in _in_chunks_of(
            session,
            select(OutboxRow.label_id)
            .distinct()
            .where(*window, OutboxRow.status.in_([s.value for s in OPEN_STATUSES])),
            OutboxRow.label_id,
            labels,
        )
    }
    # Labels with no frame since the publication (a later publication's frames make its
    # own page answer for them).
    sent = {
        label
        for (label,) in _in_chunks_of(
            session, select(OutboxRow.label_id).distinct().where(*since), OutboxRow.label_id, labels
        )
    }
    silent = [label for label in labels if label not in sent]
    still_open = len(open_labels)
    not_on_shelf: Counter[str] = Counter()
    if silent and _waits_for_planning(session, row.id):
        still_open += len(silent)  # the controller has not planned it yet
    elif silent:
        for condition in label_conditions(session, now=now, label_ids=silent):
            status = condition.condition.status
            if status in (LabelStatus.UP_TO_DATE, LabelStatus.SCHEDULED):
                continue  # shows what is due: the publication left its content as it was
            reason = condition.condition.reason
            not_on_shelf[f"{status.value}: {reason}" if reason else status.value] += 1
    heard, flips = _heard_showing(session, labels, window, since, open_labels, now=now)
    if flips.not_shown:
        not_on_shelf[FLIP_NOT_SHOWN] += flips.not_shown
    words = dict(sorted(not_on_shelf.items()))
    if still_open or not_on_shelf or flips.held or flips.flipped_unheard or not heard:
        return _ShelfArrival(None, False, still_open, words, flips)
    # A label that shows its image before the instant it took effect (its clock ahead)
    # gives no time to the shelf; counted as 0 s it read as a real figure.
    last = max(heard)
    return _ShelfArrival(last - start if last >= start else None, True, 0, words, flips)


def _heard_showing(
    session: Session,
    labels: list[str],
    window: list[Any],
    since: list[Any],
    open_labels: set[str],
    *,
    now: datetime,
) -> tuple[list[datetime], _Flips]:
    """When each label that took its newest frame of the window (and has none on its
    way) was heard showing that frame's image, and where the rest stand.

    An image shown now is on the panel when acknowledged. A timed image is only held by
    then: the label flips to it when its own clock reaches the instant, and the record
    keeps it as held (`label_states.held_hash`, `esl.pipeline.held_flips`) until a word
    the label signed at or past the instant. So a label still holding it is `held` before
    the instant (as the label's clock is last known: `flip_instant`) and `flipped_unheard`
    after it, as the audit counts it (`unconfirmed`: a label whose battery sagged below
    a refresh skips the flip); one that no longer holds it is on the shelf once a kept word
    of it since the frame reports the image (from its first such word, or from the
    instant when that came before it: a clock ahead), and `not_shown` without one (it
    reported the price before), unless it took a later publication's frame since
    (`since`): replaced before it was heard showing it, that publication's page answers
    for it, as for a label with no frame of this one's. Counted by its acknowledgement,
    the publication page said "every label confirmed, 0.0 s after it took effect" before
    the instant."""
    acked = _in_chunks_of(
        session,
        select(
            OutboxRow.id,
            OutboxRow.label_id,
            OutboxRow.content_hash,
            OutboxRow.display_at,
            OutboxRow.settled_at,
        )
        .where(*window, OutboxRow.status == OutboxStatus.ACKED.value)
        .order_by(OutboxRow.id),
        OutboxRow.label_id,
        labels,
    )
    # A label's frames all come in one chunk, in order: its last is its newest.
    newest = {frame.label_id: frame for frame in acked if frame.label_id not in open_labels}
    heard = [
        frame.settled_at
        for frame in newest.values()
        if frame.display_at is None and frame.settled_at is not None
    ]
    timed = {frame.id: frame for frame in newest.values() if frame.display_at is not None}
    if not timed:
        return heard, _Flips()
    timed_labels = [frame.label_id for frame in timed.values()]
    holds = {
        label_id: (held, held_at, offset)
        for label_id, held, held_at, offset in _in_chunks_of(
            session,
            select(
                LabelStateRow.label_id,
                LabelStateRow.held_hash,
                LabelStateRow.held_display_at,
                LabelStateRow.clock_offset_ms,
            ),
            LabelStateRow.label_id,
            timed_labels,
        )
    }
    # Its first word since the frame went out reporting the image. A label no longer
    # holding the flip said so by its own clock: one whose clock is ahead took the frame
    # past the instant and drew it at once, its word arriving before the instant by ours
    # (the label state and the audit take it as shown). Counted from the instant then, as
    # the image is due from it: never before it.
    shown_at = {
        frame_id: max(first, timed[frame_id].display_at)
        for frame_id, first in _in_chunks_of(
            session,
            select(OutboxRow.id, func.min(LabelAcknowledgementRow.at))
            .join(
                LabelAcknowledgementRow,
                and_(
                    LabelAcknowledgementRow.label_id == OutboxRow.label_id,
                    LabelAcknowledgementRow.displayed_hash == OutboxRow.content_hash,
                    LabelAcknowledgementRow.at >= OutboxRow.created_at,
                ),
            )
            .group_by(OutboxRow.id),
            OutboxRow.id,
            list(timed),
        )
    }
    # The newest frame each took since the publication, a later publication's too.
    newest_taken: dict[str, int] = dict(
        _in_chunks_of(
            session,
            select(OutboxRow.label_id, func.max(OutboxRow.id))
            .where(*since, OutboxRow.status == OutboxStatus.ACKED.value)
            .group_by(OutboxRow.label_id),
            OutboxRow.label_id,
            timed_labels,
        )
    )
    held_from: list[datetime] = []
    flipped_unheard = not_shown = 0
    for frame_id, frame in timed.items():
        held, held_at, offset = holds.get(frame.label_id, (None, None, None))
        if held == frame.content_hash and held_at is not None:
            flips_at = flip_instant(held_at, offset)
            if flips_at > now:
                held_from.append(flips_at)
            else:
                flipped_unheard += 1
        elif frame_id in shown_at:
            heard.append(shown_at[frame_id])
        elif newest_taken.get(frame.label_id, frame_id) == frame_id:
            not_shown += 1
    return heard, _Flips(
        held=len(held_from),
        shown_from=min(held_from, default=None),
        flipped_unheard=flipped_unheard,
        not_shown=not_shown,
    )


def _waits_for_planning(session: Session, publication_id: int) -> bool:
    """Queued for the controller and not planned yet (`esl.planning_queue`)."""
    queued = session.get(PlanningQueueRow, publication_id) is not None
    return queued and session.get(PlannedPublicationRow, publication_id) is None


_Columns = TypeVarTuple("_Columns")


def _in_chunks_of(
    session: Session,
    statement: Select[*_Columns],
    column: InstrumentedAttribute[Any],
    values: Iterable[Any],
) -> Iterator[Row[*_Columns]]:
    """The rows of `statement` whose `column` is one of `values`, read an `IN (...)` of
    at most `CHUNK` values at a time: a publication can change more labels than
    PostgreSQL takes parameters in one statement (65,535). Rows come chunk by chunk."""
    for chunk in in_chunks(values):
        yield from session.execute(statement.where(column.in_(chunk)))
