"""How far a publication reached the shelves, read from the store of record: the labels
it changed per store, those on their way or not on the shelf, and how long after it took
effect every label confirmed its image (the console's overview, publications list and
publication page).

States come from the one label-state classifier (`esl.services.health.label_conditions`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.models import (
    LabelRow,
    OutboxRow,
    PlannedPublicationRow,
    PlanningQueueRow,
    PublicationRow,
)
from esl.delivery_states import OPEN_STATUSES
from esl.pipeline.affected_labels import labels_changed_by_publication
from esl.planning_queue import scheduled_followers
from esl.services.health import label_conditions
from esl.services.label_status import LabelStatus

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
    # From publishing to the last label confirming an image planned after it (None: open).
    time_to_shelf: timedelta | None = None
    still_open: int = 0
    # Labels it changes that do not show what is due and get no frame for it, by their
    # state and its reason ("unplanned: …"): not on the shelf, whatever the others did.
    not_on_shelf: dict[str, int] = field(default_factory=dict)
    # The `scheduled` publications queued for the later instants its rows change labels
    # at (a file published for an instant changes none at its own): one publication's.
    due_later: list[PublicationReach] = field(default_factory=list)


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
        stores: dict[str, str] = {}
        if labels:
            found = session.execute(
                select(LabelRow.id, LabelRow.store).where(LabelRow.id.in_(labels))
            )
            stores = dict(found.all())
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
                still_open=arrival.still_open,
                not_on_shelf=arrival.not_on_shelf,
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
class _ShelfArrival:
    time_to_shelf: timedelta | None  # None while a label is open or not on the shelf
    still_open: int
    not_on_shelf: dict[str, int]  # "unplanned: why" -> labels


def _time_to_shelf(
    session: Session,
    row: PublicationRow,
    labels: list[str],
    published: list[datetime],
    *,
    now: datetime,
) -> _ShelfArrival:
    """How long after it took effect every label it changes confirmed its image. Its
    outbox rows (from publishing to the next publication) say which labels confirmed and
    which are on their way; a label with none tells nothing by its absence (the planner
    could not draw it, it is on no gateway, it shows the same content), so the label
    classifier says whether it shows what is due: one unplanned, failed or pending is
    not on the shelf, and then no "every label confirmed" is claimed."""
    if row.published_at is None or not labels:
        return _ShelfArrival(None, 0, {})
    start = row.effective_at if row.effective_at and row.effective_at > row.published_at else None
    start = start or row.published_at
    later = [at for at in published if at > row.published_at]
    end = later[0] if later else None
    since = [OutboxRow.label_id.in_(labels), OutboxRow.created_at >= row.published_at]
    window = [*since, OutboxRow.created_at < end] if end is not None else since
    open_labels = set(
        session.scalars(
            select(OutboxRow.label_id)
            .distinct()
            .where(*window, OutboxRow.status.in_([s.value for s in OPEN_STATUSES]))
        )
    )
    # Labels with no frame since the publication (a later publication's frames make its
    # own page answer for them).
    sent = set(session.scalars(select(OutboxRow.label_id).distinct().where(*since)))
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
    last = session.scalar(
        select(func.max(OutboxRow.settled_at)).where(*window, OutboxRow.status == "acked")
    )
    words = dict(sorted(not_on_shelf.items()))
    if still_open or not_on_shelf or last is None:
        return _ShelfArrival(None, still_open, words)
    return _ShelfArrival(max(last - start, timedelta(0)), 0, words)


def _waits_for_planning(session: Session, publication_id: int) -> bool:
    """Queued for the controller and not planned yet (`esl.planning_queue`)."""
    queued = session.get(PlanningQueueRow, publication_id) is not None
    return queued and session.get(PlannedPublicationRow, publication_id) is None
