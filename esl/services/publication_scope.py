"""What a store key is shown of a publication: as far as it reaches its own store.

A store key acts in its own store only (docs/api.md): of a publication it reads the
labels of its store in the impact (listed and counted), the changed prices of its store,
and the items and problems that name no other store. An item that names no store (a
national or zone price, a promotion for every store) applies in its store too and is
shown. The chain roles (no store) see all of it. The API and the console both answer
through `publication_seen_by`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import LabelRow, PublicationItemRow, PublicationRow
from esl.db.repositories import in_chunks

__all__ = [
    "LABELS_PER_STORE",
    "PublicationSeen",
    "publication_seen_by",
    "reaches_store",
]

# The impact's count of labels changed in each store, by store code (published from
# this key on; an impact stored before it has none).
LABELS_PER_STORE = "labels_changed_per_store"


@dataclass(frozen=True, slots=True)
class PublicationSeen:
    """A publication's items (each with its `position`), problems and impact, as one
    principal is shown them."""

    items: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    impact: dict[str, Any] | None


def reaches_store(entry: Mapping[str, Any], store: str) -> bool:
    """Whether an item or a problem applies in `store`: it names no store, or names it
    (`store`, a price item's and a ledger problem's; `stores`, a promotion's)."""
    named = entry.get("store")
    if named is not None and named != store:
        return False
    stores = entry.get("stores")
    return not stores or store in stores


def publication_seen_by(
    session: Session,
    row: PublicationRow,
    *,
    store: str | None,
    with_items: bool,
    item_limit: int | None = None,
) -> PublicationSeen:
    """`row` as shown to a principal of `store` (None: a chain role, who sees it all);
    its first `item_limit` items (all when None) when `with_items`."""
    items = _items(session, row.id, limit=item_limit) if with_items else []
    problems = list(row.problems or [])
    if store is None:
        return PublicationSeen(items=items, problems=problems, impact=row.impact)
    elsewhere = _items_of_other_stores(session, row.id, problems, store)
    return PublicationSeen(
        items=[item for item in items if reaches_store(item, store)],
        problems=[
            problem
            for problem in problems
            if problem.get("item") not in elsewhere and reaches_store(problem, store)
        ],
        impact=_impact_in_store(session, row.impact, store),
    )


def _items(session: Session, publication_id: int, *, limit: int | None) -> list[dict[str, Any]]:
    statement = (
        select(PublicationItemRow)
        .where(PublicationItemRow.publication_id == publication_id)
        .order_by(PublicationItemRow.position)
        .limit(limit)
    )
    return [{"position": item.position, **item.payload} for item in session.scalars(statement)]


def _items_of_other_stores(
    session: Session, publication_id: int, problems: Iterable[Mapping[str, Any]], store: str
) -> set[int]:
    """The positions, among those `problems` name, of items that apply in other stores
    only: their problems are those stores' too."""
    positions = sorted({p["item"] for p in problems if isinstance(p.get("item"), int)})
    elsewhere: set[int] = set()
    for chunk in in_chunks(positions):
        for position, payload in session.execute(
            select(PublicationItemRow.position, PublicationItemRow.payload).where(
                PublicationItemRow.publication_id == publication_id,
                PublicationItemRow.position.in_(chunk),
            )
        ):
            if not reaches_store(payload, store):
                elsewhere.add(position)
    return elsewhere


def _impact_in_store(
    session: Session, impact: Mapping[str, Any] | None, store: str
) -> dict[str, Any] | None:
    """The impact with its labels and changed keys of `store` only, the labels counted
    there. Its other figures (prices, SKUs, ledger entries) stay the chain's: prices are
    read chain-wide (GET /prices, /ledger)."""
    if impact is None:
        return None
    seen = {name: value for name, value in impact.items() if name != LABELS_PER_STORE}
    if "labels" in impact:
        listed = list(impact["labels"])
        own: set[str] = set()
        for chunk in in_chunks(listed):
            own.update(
                session.scalars(
                    select(LabelRow.id).where(LabelRow.store == store, LabelRow.id.in_(chunk))
                )
            )
        seen["labels"] = [label for label in listed if label in own]
        per_store = impact.get(LABELS_PER_STORE)
        # An impact stored without the count per store: its store's labels among those
        # listed (every one of them unless the publication changed over 1,000 labels).
        counted = per_store.get(store, 0) if per_store is not None else len(seen["labels"])
        seen["labels_changed"] = counted
    if "keys" in impact:
        seen["keys"] = [key for key in impact["keys"] if key.get("store") == store]
    return seen
