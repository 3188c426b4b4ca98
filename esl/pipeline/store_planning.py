"""Planning split by store: each worker plans a publication for the stores it holds.

A publication is planned for a store once a `planned_publication_stores` row says so,
written in the transaction of the last chunk planned for it; the new holder of a store
taken over plans what its previous holder had not recorded (planning is idempotent,
so labels already planned cost a comparison). The publication's `planned_publications`
row, which the single controller writes, is written by the first worker to finish a
store: it marks the publication as planned for the look-ups of changes ahead.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from esl.db.lease_models import PlannedPublicationStoreRow
from esl.db.models import LabelRow, PlannedPublicationRow, PlanningQueueRow, StoreRow
from esl.db.repositories import in_chunks

__all__ = [
    "labels_in_stores",
    "record_planned_for_stores",
    "waiting_for_stores",
]


def waiting_for_stores(
    session: Session, stores: Collection[str]
) -> list[tuple[int, datetime, frozenset[str]]]:
    """Queued publications not yet planned for some of `stores`: (publication, its
    instant, those stores), in publishing order."""
    if not stores:
        return []
    waiting: dict[int, tuple[datetime, set[str]]] = {}
    # One statement, one snapshot: a publication committed meanwhile is seen for every
    # store or for none.
    for publication_id, at, store in session.execute(
        select(PlanningQueueRow.publication_id, PlanningQueueRow.effective_at, StoreRow.code)
        .join(StoreRow, StoreRow.code.in_(sorted(stores)))
        .outerjoin(
            PlannedPublicationStoreRow,
            and_(
                PlannedPublicationStoreRow.publication_id == PlanningQueueRow.publication_id,
                PlannedPublicationStoreRow.store == StoreRow.code,
            ),
        )
        .where(PlannedPublicationStoreRow.publication_id.is_(None))
    ):
        waiting.setdefault(publication_id, (at, set()))[1].add(store)
    return [
        (publication_id, at, frozenset(missing))
        for publication_id, (at, missing) in sorted(waiting.items())
    ]


def labels_in_stores(
    session: Session, labels: Collection[str], stores: Collection[str]
) -> list[str]:
    """Those of `labels` hanging in one of `stores`, sorted."""
    wanted = set(stores)
    kept: list[str] = []
    for chunk in in_chunks(sorted(labels)):
        kept += [
            label_id
            for label_id, store in session.execute(
                select(LabelRow.id, LabelRow.store).where(LabelRow.id.in_(chunk))
            )
            if store in wanted
        ]
    return sorted(kept)


def record_planned_for_stores(
    session: Session,
    publication_id: int,
    stores: Collection[str],
    *,
    now: datetime,
    labels: int,
) -> None:
    """The publication is planned for `stores` (in the last chunk's transaction)."""
    if not stores:
        return
    session.execute(
        insert(PlannedPublicationStoreRow)
        .values(
            [
                {
                    "publication_id": publication_id,
                    "store": store,
                    "planned_at": now,
                    "labels": labels,
                }
                for store in sorted(stores)
            ]
        )
        .on_conflict_do_nothing()
    )
    session.execute(
        insert(PlannedPublicationRow)
        .values(publication_id=publication_id, planned_at=now, labels=labels)
        .on_conflict_do_nothing()
    )
