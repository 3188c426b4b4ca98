"""Planning a big change store by store: waves of whole stores, each let go before the next.

A change is planned in waves. Stores are taken in store order, in groups whose bound
labels stay under the wave size (`WAVE_LABELS`, `ControllerSettings.plan_wave`; a bigger
store is a group of its own); each group's candidates (the labels the change may touch
there) join the wave until it holds that many, then the wave is planned, in chunks of
`ControllerSettings.plan_chunk`. A wave's label ids, targets, catalogue slice (its SKUs
and the price rules of its stores and of wider scopes) and price ledger (its SKUs in its
stores) are read when it starts and dropped when it ends, so what planning holds grows
with a wave, not with the change: a national change touching 5 million labels holds what
10,000 of them need (docs/scale.md, "Memory"). Between waves only the label count of
each store (one integer per store) is kept.

Within a wave the chunks go round-robin over its gateways (`LabelPlanner.dispatch_order`),
so every store of the wave gets its first frames early; a change smaller than a wave is
one wave, planned as it always was.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from esl.db.models import LabelBindingRow, LabelRow, PlanningQueueShelfRow
from esl.db.repositories import in_chunks

__all__ = [
    "WAVE_LABELS",
    "BoundLabels",
    "LabelSelection",
    "PublicationLabels",
    "Wave",
    "bound_labels_by_store",
    "store_groups",
    "stores_of",
    "waves",
]

WAVE_LABELS = 10_000  # labels whose targets, catalogue slice and ledger are held at once


class LabelSelection(Protocol):
    """Which labels a planning pass plans, read for a few stores at a time."""

    def labels(self, session: Session, stores: Collection[str]) -> list[str]:
        """The selected labels hanging in `stores`, sorted."""
        ...


@dataclass(frozen=True, slots=True)
class BoundLabels:
    """Every label bound to a product (the periodic re-plan, a store taken over)."""

    def labels(self, session: Session, stores: Collection[str]) -> list[str]:
        return sorted(
            session.scalars(
                select(LabelBindingRow.label_id)
                .join(LabelRow, LabelRow.id == LabelBindingRow.label_id)
                .where(LabelBindingRow.unbound_at.is_(None), LabelRow.store.in_(sorted(stores)))
            )
        )


@dataclass(frozen=True, slots=True)
class PublicationLabels:
    """The labels a queued publication may have changed (`esl.planning_queue`): bound to
    a SKU on one of its shelves in their store, or to a SKU it names everywhere."""

    publication_id: int

    def labels(self, session: Session, stores: Collection[str]) -> list[str]:
        wanted = sorted(stores)
        shelves: set[tuple[str, str]] = set()
        everywhere: set[str] = set()
        # Only this group's shelves: a national change names every (SKU, store) pair.
        for sku, store in session.execute(
            select(PlanningQueueShelfRow.sku, PlanningQueueShelfRow.store).where(
                PlanningQueueShelfRow.publication_id == self.publication_id,
                or_(PlanningQueueShelfRow.store.is_(None), PlanningQueueShelfRow.store.in_(wanted)),
            )
        ):
            if store is None:
                everywhere.add(sku)
            else:
                shelves.add((sku, store))
        if not shelves and not everywhere:
            return []
        return sorted(
            label_id
            for label_id, sku, store in session.execute(
                select(LabelBindingRow.label_id, LabelBindingRow.sku, LabelRow.store)
                .join(LabelRow, LabelRow.id == LabelBindingRow.label_id)
                .where(LabelBindingRow.unbound_at.is_(None), LabelRow.store.in_(wanted))
            )
            if sku in everywhere or (sku, store) in shelves
        )


def bound_labels_by_store(
    session: Session, stores: Collection[str] | None = None
) -> dict[str, int]:
    """Store -> its bound labels (only `stores` when given), in store order."""
    statement = (
        select(LabelRow.store, func.count())
        .join(LabelBindingRow, LabelBindingRow.label_id == LabelRow.id)
        .where(LabelBindingRow.unbound_at.is_(None))
        .group_by(LabelRow.store)
        .order_by(LabelRow.store)
    )
    if stores is not None:
        statement = statement.where(LabelRow.store.in_(sorted(stores)))
    return {store: int(count) for store, count in session.execute(statement)}


def store_groups(counts: Mapping[str, int], *, size: int = WAVE_LABELS) -> list[list[str]]:
    """`counts`' stores in order, grouped so each group's labels stay within `size` (a
    store bigger than that is a group of its own)."""
    groups: list[list[str]] = []
    held = 0
    for store in sorted(counts):
        if not groups or held + counts[store] > size:
            groups.append([])
            held = 0
        groups[-1].append(store)
        held += counts[store]
    return groups


@dataclass(frozen=True, slots=True)
class Wave:
    """Whole stores and the selected labels hanging there, planned together."""

    stores: tuple[str, ...]
    labels: list[str]


def waves(
    sessions: sessionmaker[Session],
    selection: LabelSelection,
    counts: Mapping[str, int],
    *,
    size: int = WAVE_LABELS,
) -> Iterator[Wave]:
    """The labels `selection` picks in the stores of `counts` (store -> bound labels), a
    wave at a time: whole stores, at least `size` labels a wave but for the last, fewer
    than twice that unless one store alone holds more. Each group of stores is read in
    a session of its own, closed before the wave is handed out. Nothing for no labels."""
    stores: list[str] = []
    labels: list[str] = []
    for group in store_groups(counts, size=size):
        with sessions() as session:
            found = selection.labels(session, group)
        if found:
            stores += group
            labels += found
        if len(labels) >= size:
            yield Wave(tuple(stores), sorted(labels))
            stores, labels = [], []
    if labels:
        yield Wave(tuple(stores), sorted(labels))


def stores_of(session: Session, labels: Collection[str]) -> set[str]:
    """The stores `labels` hang in."""
    found: set[str] = set()
    for chunk in in_chunks(sorted(set(labels))):
        found.update(
            session.scalars(select(LabelRow.store).where(LabelRow.id.in_(chunk)).distinct())
        )
    return found
