"""The hand-off from publishing to planning: a queue the controller reads.

A publication (the API, `esl publish`, a price import) writes, in its publishing
transaction, one `planning_queue` row and the shelves whose labels it may change
(`queue_publication`); the controller plans what the queue holds and records it in
`planned_publications`, so a restarted controller finds every publication not planned
yet. The price ledger is the Omnibus record, not the pipeline's work list.

A shelf is a SKU in one store (its price changes there), or a SKU in every store (a
promotion item names it): a promotion can change what a label draws (its validity text)
without changing its price, so every label of such a SKU is a candidate. Whether a
candidate's content really changed is the planner's comparison, never decided here.

What a publication writes may change labels again later than its own instant: a
promotion starts or ends, a price rule imported for next week starts. Each such instant
is queued too (`queue_later_instants`), so the controller plans it `lead` ahead with a
display-at and the shelf flips on time, not at the next periodic re-plan (up to
`replan_every` late). The queue holds one instant per publication, so each later instant
is a publication of its own, of kind `scheduled`, that only records the hand-off.

Below the services and the pipeline: both import it, it imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.mapping import PriceRuleColumns
from esl.db.models import (
    LabelBindingRow,
    LabelRow,
    PlannedPublicationRow,
    PlanningQueueRow,
    PlanningQueueShelfRow,
    ProductRow,
    PromotionRow,
    PromotionTargetRow,
    PublicationItemRow,
    PublicationRow,
    core_table,
)
from esl.db.repositories import in_chunks
from esl.db.repositories.rows import row_or_not_found
from esl.text_lengths import fit_title
from pricing.promotions import Promotion
from pricing.rules import PriceRule

__all__ = [
    "ShelvesAt",
    "category_promotion_instants",
    "hand_published_change",
    "instants_published_ahead",
    "labels_on_shelves",
    "labels_on_shelves_with_stores",
    "later_instants",
    "open_published_change",
    "promotion_item_skus",
    "promotion_reach",
    "queue_later_instants",
    "queue_publication",
    "queue_shelves_ahead",
    "queued_publications",
    "queued_shelves",
    "record_published_change",
    "scheduled_followers",
    "shelves_in_store",
    "waiting_publications",
]

_PROMOTION_ACTIONS = ("upsert_promotion", "end_promotion")
Shelf = tuple[str, str | None]  # (SKU, store); store None: every store


def queue_publication(
    session: Session,
    publication_id: int,
    *,
    shelves: Iterable[tuple[str, str]],
    everywhere: Iterable[str] = (),
    effective_at: datetime,
    now: datetime,
) -> None:
    """Hand a publication to planning, in the caller's (the publishing) transaction."""
    rows: set[Shelf] = set(shelves)
    rows.update((sku, None) for sku in everywhere)
    session.add(
        PlanningQueueRow(publication_id=publication_id, effective_at=effective_at, queued_at=now)
    )
    session.flush()
    insert_rows(
        session,
        core_table(PlanningQueueShelfRow),
        [
            {"publication_id": publication_id, "sku": sku, "store": store}
            for sku, store in sorted(rows, key=lambda row: (row[0], row[1] or ""))
        ],
    )


@dataclass(slots=True)
class ShelvesAt:
    """The shelves whose labels may change at one instant: (SKU, store) pairs, and SKUs
    in every store."""

    shelves: set[tuple[str, str]] = field(default_factory=set)
    everywhere: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.shelves or self.everywhere)


def record_published_change(
    session: Session,
    *,
    title: str,
    kind: str,
    by: str,
    now: datetime,
    impact: dict[str, Any],
    shelves: Iterable[tuple[str, str]] = (),
    everywhere: Iterable[str] = (),
    later: Mapping[datetime, ShelvesAt] | None = None,
) -> int:
    """Record a change made outside a publication (an import, product or store data) as
    a publication published at once by `by`, and hand it to planning: the `shelves` and
    `everywhere` SKUs whose labels may change now, and those of `later` instants. Its id,
    for the rows it wrote."""
    publication_id = open_published_change(session, title=title, kind=kind, by=by, now=now)
    hand_published_change(
        session,
        publication_id,
        impact=impact,
        shelves=shelves,
        everywhere=everywhere,
        later=later,
        now=now,
    )
    return publication_id


def open_published_change(
    session: Session, *, title: str, kind: str, by: str, now: datetime
) -> int:
    """The publication of a change made outside one (`record_published_change`), written
    before the rows that name it; its impact is filled in and it is handed to planning by
    `hand_published_change`, in the same transaction. An import writes its ledger a chunk
    of SKUs at a time, each chunk's entries naming it, instead of holding them all."""
    publication = PublicationRow(
        title=fit_title(title),
        kind=kind,
        status="published",
        created_by=by,
        created_at=now,
        effective_at=now,
        validated_at=now,
        published_at=now,
        published_by=by,
        problems=[],
        impact={},
    )
    session.add(publication)
    session.flush()
    return publication.id


def hand_published_change(
    session: Session,
    publication_id: int,
    *,
    impact: dict[str, Any],
    shelves: Iterable[tuple[str, str]] = (),
    everywhere: Iterable[str] = (),
    later: Mapping[datetime, ShelvesAt] | None = None,
    now: datetime,
) -> None:
    """Give the publication `open_published_change` wrote its `impact` and hand it to
    planning (`record_published_change`)."""
    publication = row_or_not_found(session, PublicationRow, publication_id, "publication")
    publication.impact = impact
    queue_publication(
        session, publication_id, shelves=shelves, everywhere=everywhere, effective_at=now, now=now
    )
    if later:
        queue_later_instants(session, publication_id, instants=later, after=now, now=now)


def queue_later_instants(
    session: Session,
    publication_id: int,
    *,
    instants: Mapping[datetime, ShelvesAt],
    after: datetime,
    now: datetime,
) -> list[int]:
    """Queue the instants later than `after` (the publication's own) at which what the
    publication wrote changes labels again, each as a `scheduled` publication following
    it; their ids, earliest first. Nothing is written for an instant naming no shelf."""
    parent = row_or_not_found(session, PublicationRow, publication_id, "publication")
    queued: list[int] = []
    for instant in sorted(at for at, shelves in instants.items() if at > after and shelves):
        shelves = instants[instant]
        row = PublicationRow(
            title=f"{parent.title[:200]} (due {instant.isoformat()})",
            kind="scheduled",
            status="published",
            created_by=parent.created_by,
            created_at=now,
            effective_at=instant,
            validated_at=now,
            published_at=now,
            published_by=parent.published_by or parent.created_by,
            problems=[],
            impact={
                "follows_publication": publication_id,
                "shelves": len(shelves.shelves),
                "skus_everywhere": len(shelves.everywhere),
            },
        )
        session.add(row)
        session.flush()
        queue_publication(
            session,
            row.id,
            shelves=shelves.shelves,
            everywhere=shelves.everywhere,
            effective_at=instant,
            now=now,
        )
        queued.append(row.id)
    return queued


def scheduled_followers(session: Session, publication_id: int) -> list[tuple[int, datetime]]:
    """The `scheduled` publications `queue_later_instants` queued after `publication_id`
    (the instants at which what it wrote changes labels again), with their instants,
    earliest first."""
    rows = session.execute(
        select(PublicationRow.id, PublicationRow.effective_at, PublicationRow.impact)
        .where(PublicationRow.kind == "scheduled", PublicationRow.id > publication_id)
        .order_by(PublicationRow.effective_at, PublicationRow.id)
    )
    # Named in its impact (JSON, read here rather than by each database's JSON operators).
    return [
        (row_id, effective_at)
        for row_id, effective_at, impact in rows
        if effective_at is not None and (impact or {}).get("follows_publication") == publication_id
    ]


def later_instants(
    session: Session,
    *,
    promotions: Iterable[Promotion] = (),
    # An import passes its validated lines: converting 100,000 of them to `PriceRule`s only
    # to read these four fields cost seconds.
    rules: Iterable[PriceRule | PriceRuleColumns] = (),
    after: datetime,
) -> dict[datetime, ShelvesAt]:
    """The shelves whose labels change when one of `promotions` or `rules` starts or ends
    after `after`, by instant. A promotion reaches its SKUs (`promotion_reach`) in every
    store; a rule its SKU in its store, or in every store (a zone's or the nation's
    price). A rule of the web or app channel changes no label but has a price history:
    it is named alike, so the ledger records it when it arrives
    (`esl.services.ledger_instants`), and its labels cost the planner a comparison.
    A promotion's categories are the SKUs in them now: a product put into one later is
    queued by its move (`category_promotion_instants`)."""
    named: dict[datetime, tuple[ShelvesAt, set[str]]] = {}

    def at(instant: datetime) -> tuple[ShelvesAt, set[str]]:
        return named.setdefault(instant, (ShelvesAt(), set()))

    for promotion in promotions:
        for instant in (promotion.valid_from, promotion.valid_until):
            if instant is not None and instant > after:
                shelves, categories = at(instant)
                shelves.everywhere.update(promotion.skus)
                categories.update(promotion.categories)
    for rule in rules:
        for instant in (rule.valid_from, rule.valid_until):
            if instant is not None and instant > after:
                shelves, _ = at(instant)
                if rule.store is not None:
                    shelves.shelves.add((rule.sku, rule.store))
                else:
                    shelves.everywhere.add(rule.sku)
    for shelves, categories in named.values():
        if categories:
            shelves.everywhere |= promotion_reach(
                session, skus=(), categories=categories, promotion_ids=()
            )
    return {instant: shelves for instant, (shelves, _) in named.items()}


def category_promotion_instants(
    session: Session, categories_of: Mapping[str, Iterable[str | None]], *, after: datetime
) -> dict[datetime, ShelvesAt]:
    """The shelves of products put into or taken out of categories (`categories_of`: SKU
    -> its new and old category) whose labels change when a promotion of one of those
    categories starts or ends after `after`, by instant: every store of the SKU.

    A promotion's later instants name the SKUs of its categories as they stood when it
    was published (`later_instants`); a product moved or created since must be added, or
    its price at those instants is neither recorded in the ledger nor flipped on time."""
    skus_of: dict[str, set[str]] = {}
    for sku, categories in categories_of.items():
        for category in categories:
            if category is not None:
                skus_of.setdefault(category, set()).add(sku)
    named: dict[datetime, ShelvesAt] = {}
    for chunk in in_chunks(sorted(skus_of)):
        for category, valid_from, valid_until in session.execute(
            select(PromotionTargetRow.value, PromotionRow.valid_from, PromotionRow.valid_until)
            .join(PromotionRow, PromotionRow.id == PromotionTargetRow.promotion_id)
            .where(
                PromotionTargetRow.dimension == "category",
                PromotionTargetRow.value.in_(chunk),
                or_(PromotionRow.valid_from > after, PromotionRow.valid_until > after),
            )
        ):
            for instant in (valid_from, valid_until):
                if instant is not None and instant > after:
                    named.setdefault(instant, ShelvesAt()).everywhere |= skus_of[category]
    return named


def waiting_publications(session: Session) -> list[tuple[int, datetime]]:
    """Queued publications not planned yet, with their instants, in publishing order."""
    return [
        (publication_id, effective_at)
        for publication_id, effective_at in session.execute(
            select(PlanningQueueRow.publication_id, PlanningQueueRow.effective_at)
            .outerjoin(
                PlannedPublicationRow,
                PlannedPublicationRow.publication_id == PlanningQueueRow.publication_id,
            )
            .where(PlannedPublicationRow.publication_id.is_(None))
            .order_by(PlanningQueueRow.publication_id)
        )
    ]


def queued_publications(
    session: Session, *, after: datetime | None = None, until: datetime | None = None
) -> list[tuple[int, datetime]]:
    """Planned publications whose instant is in (`after`, `until`], earliest first."""
    statement = select(PlanningQueueRow.publication_id, PlanningQueueRow.effective_at).join(
        PlannedPublicationRow,
        PlannedPublicationRow.publication_id == PlanningQueueRow.publication_id,
    )
    if after is not None:
        statement = statement.where(PlanningQueueRow.effective_at > after)
    if until is not None:
        statement = statement.where(PlanningQueueRow.effective_at <= until)
    ordered = statement.order_by(PlanningQueueRow.effective_at, PlanningQueueRow.publication_id)
    return [(publication_id, at) for publication_id, at in session.execute(ordered)]


def instants_published_ahead(session: Session, *, after: datetime) -> list[datetime]:
    """The instants later than `after` of publications published ahead of them (not the
    `scheduled` ones, which write nothing ahead), earliest first.

    Such a publication wrote its entries when it was published, for its instant, and the
    controller records that instant again when it arrives, for the shelves it queued
    (`esl.services.ledger_instants`): a change made since that alters a price then must
    write its entry there and name its shelf (`queue_shelves_ahead`)."""
    return list(
        session.scalars(
            select(PlanningQueueRow.effective_at)
            .join(PublicationRow, PublicationRow.id == PlanningQueueRow.publication_id)
            .where(
                PlanningQueueRow.effective_at > after,
                PublicationRow.kind != "scheduled",
                PlanningQueueRow.effective_at > PublicationRow.published_at,
            )
            .distinct()
            .order_by(PlanningQueueRow.effective_at)
        )
    )


def queue_shelves_ahead(session: Session, shelves: Mapping[datetime, set[tuple[str, str]]]) -> None:
    """Name `shelves` (instant -> (SKU, store)) in the queue of the publication published
    ahead for each instant (the first, when several are), those it does not name yet.

    A change made since it was published may bring a shelf into its price (a store's own
    price ended, a store moved to another zone): its instant is recorded again for the
    shelves it names when it arrives, and a label it names gets its timed image with every
    image of now (the controller's changes ahead), so the shelf flips at the instant
    rather than at the periodic re-plan."""
    for instant, named in sorted(shelves.items()):
        if not named:
            continue
        publication_id = session.scalar(
            select(PlanningQueueRow.publication_id)
            .join(PublicationRow, PublicationRow.id == PlanningQueueRow.publication_id)
            .where(
                PlanningQueueRow.effective_at == instant,
                PublicationRow.kind != "scheduled",
                PlanningQueueRow.effective_at > PublicationRow.published_at,
            )
            .order_by(PlanningQueueRow.publication_id)
            .limit(1)
        )
        if publication_id is None:
            continue
        # Only the rows of the SKUs named: a national change queues every shelf of its SKUs.
        queued: set[Shelf] = {
            (sku, store)
            for chunk in in_chunks(sorted({sku for sku, _ in named}))
            for sku, store in session.execute(
                select(PlanningQueueShelfRow.sku, PlanningQueueShelfRow.store).where(
                    PlanningQueueShelfRow.publication_id == publication_id,
                    PlanningQueueShelfRow.sku.in_(chunk),
                )
            )
        }
        everywhere = {sku for sku, store in queued if store is None}
        missing = {(sku, store) for sku, store in named if sku not in everywhere} - queued
        insert_rows(
            session,
            core_table(PlanningQueueShelfRow),
            [
                {"publication_id": publication_id, "sku": sku, "store": store}
                for sku, store in sorted(missing)
            ],
        )


def queued_shelves(session: Session, publication_id: int) -> tuple[set[tuple[str, str]], set[str]]:
    """The shelves a queued publication names: (SKU, store) pairs, and SKUs everywhere."""
    shelves: set[tuple[str, str]] = set()
    everywhere: set[str] = set()
    for sku, store in session.execute(
        select(PlanningQueueShelfRow.sku, PlanningQueueShelfRow.store).where(
            PlanningQueueShelfRow.publication_id == publication_id
        )
    ):
        if store is None:
            everywhere.add(sku)
        else:
            shelves.add((sku, store))
    return shelves, everywhere


def labels_on_shelves(
    session: Session, shelves: Iterable[tuple[str, str]], everywhere: Iterable[str] = ()
) -> list[str]:
    """The labels bound now to a SKU on one of `shelves`, or to a SKU of `everywhere` in
    any store; sorted."""
    return [label for label, _ in labels_on_shelves_with_stores(session, shelves, everywhere)]


def labels_on_shelves_with_stores(
    session: Session, shelves: Iterable[tuple[str, str]], everywhere: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """`labels_on_shelves`, each with its store: (label, store) pairs sorted by label."""
    shelves = set(shelves)
    everywhere = set(everywhere)
    skus = {sku for sku, _ in shelves} | everywhere
    labels: list[tuple[str, str]] = []
    for chunk in in_chunks(sorted(skus)):
        rows = session.execute(
            select(LabelBindingRow.label_id, LabelBindingRow.sku, LabelRow.store)
            .join(LabelRow, LabelRow.id == LabelBindingRow.label_id)
            .where(LabelBindingRow.unbound_at.is_(None), LabelBindingRow.sku.in_(chunk))
        )
        labels += [
            (label, store)
            for label, sku, store in rows
            if sku in everywhere or (sku, store) in shelves
        ]
    return sorted(labels)


def shelves_in_store(session: Session, store: str) -> set[tuple[str, str]]:
    """The (SKU, store) shelves of the labels bound now in `store`: what a change of the
    store itself (its name, its zone and so its zone prices) may change."""
    return {
        (sku, store)
        for sku in session.scalars(
            select(LabelBindingRow.sku)
            .join(LabelRow, LabelRow.id == LabelBindingRow.label_id)
            .where(LabelRow.store == store, LabelBindingRow.unbound_at.is_(None))
            .distinct()
        )
    }


def promotion_item_skus(session: Session, publication_id: int) -> set[str]:
    """Every SKU a promotion item of the publication reaches (`promotion_reach`): named,
    through its categories, or as a target of the promotion it ends or replaces (an end
    names only the promotion: its targets are stored with it). Called before the
    publication writes its promotions: an ended promotion not started yet is deleted
    with its targets, a replaced one's are rewritten."""
    skus: set[str] = set()
    categories: set[str] = set()
    promotion_ids: set[str] = set()
    for payload in session.scalars(
        select(PublicationItemRow.payload).where(
            PublicationItemRow.publication_id == publication_id,
            PublicationItemRow.action.in_(_PROMOTION_ACTIONS),
        )
    ):
        skus.update(str(sku) for sku in payload.get("skus", ()))
        categories.update(str(category) for category in payload.get("categories", ()))
        if payload.get("promotion_id"):
            promotion_ids.add(str(payload["promotion_id"]))
    return promotion_reach(session, skus=skus, categories=categories, promotion_ids=promotion_ids)


def promotion_reach(
    session: Session,
    *,
    skus: Iterable[str],
    categories: Iterable[str],
    promotion_ids: Iterable[str],
) -> set[str]:
    """Every SKU promotions reach: those they name, those of the categories they name,
    and the stored targets of `promotion_ids` (what a promotion being replaced or ended
    reached: its labels must go back). Read the stored targets before rewriting them.

    The one answer for a publication's promotion items and a promotion file alike. A
    promotion's store and zone scope is left to the planner: every label of a reached
    SKU is a candidate, in every store, and costs a comparison where nothing changed."""
    reached = set(skus)
    wanted = set(categories)
    for chunk in in_chunks(sorted(set(promotion_ids))):
        for dimension, value in session.execute(
            select(PromotionTargetRow.dimension, PromotionTargetRow.value).where(
                PromotionTargetRow.promotion_id.in_(chunk),
                PromotionTargetRow.dimension.in_(("sku", "category")),
            )
        ):
            (reached if dimension == "sku" else wanted).add(value)
    for chunk in in_chunks(sorted(wanted)):
        reached.update(
            session.scalars(select(ProductRow.sku).where(ProductRow.category.in_(chunk)))
        )
    return reached
