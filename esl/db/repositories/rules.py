"""The price rules and promotions as the record held them at an instant: each one's
version recorded then (`price_rule_versions`, `promotion_versions`, written with every
rule or promotion created, changed or deleted: `esl.services.rule_versions`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from esl.db.mapping import price_rule_from_row, promotion_from_rows
from esl.db.models import (
    PriceRuleVersionRow,
    PromotionRow,
    PromotionTargetRow,
    PromotionVersionRow,
    core_table,
)
from esl.db.repositories.chunks import CHUNK, in_chunks
from pricing.products import Product
from pricing.promotions import Promotion
from pricing.rules import PriceRule

__all__ = ["PROMOTION_FACTS", "RecordThen", "promotions_as_at", "rules_as_at"]

# A promotion version's facts besides its id, instant and targets (`promotion_versions`).
PROMOTION_FACTS = (
    "name",
    "kind",
    "percent",
    "amount",
    "currency",
    "quantity",
    "free_quantity",
    "priority",
    "exclusive",
    "valid_from",
    "valid_until",
)
_rules = core_table(PriceRuleVersionRow)
_promotions = core_table(PromotionVersionRow)


T = TypeVar("T")


@dataclass(frozen=True)
class RecordThen(Generic[T]):
    """What the record held at an instant: `held` (id -> each one then, deleted ones left
    out) and `unknown_then` (ids whose every version is later: written since, they did
    not exist then). An id in neither was written without versions: as it is now."""

    held: dict[str, T | None]
    unknown_then: set[str]

    def applied_to(self, current: Iterable[T], *, id_of: str) -> list[T]:
        """`current` (today's) as they were then: each replaced by its version then,
        those written since left out, those deleted since put back."""
        then: list[T] = []
        for item in current:
            key = getattr(item, id_of)
            if key in self.held or key in self.unknown_then:
                continue
            then.append(item)  # written without versions: as it is now
        then += [item for item in self.held.values() if item is not None]
        return then


def rules_as_at(session: Session, skus: Collection[str], at: datetime) -> RecordThen[PriceRule]:
    """The price rules of `skus` as the record held them at `at`."""
    wanted = set(skus)
    newest: dict[str, PriceRule | None] = {}
    later: set[str] = set()
    held = select(_rules).where(_rules.c.recorded_at <= at)
    since = select(_rules.c.rule_id, _rules.c.sku).where(_rules.c.recorded_at > at)
    for chunk in _chunks(wanted):
        rows = session.execute(
            _of(held, chunk).order_by(_rules.c.rule_id, _rules.c.recorded_at, _rules.c.id)
        )
        for row in rows:
            if chunk is None and row.sku not in wanted:
                continue
            # Ordered by instant: a later version of the rule replaces an earlier one.
            newest[row.rule_id] = None if row.removed else price_rule_from_row(_as_rule(row))
        later.update(
            rule_id
            for rule_id, sku in session.execute(_of(since, chunk))
            if chunk is not None or sku in wanted
        )
    return RecordThen(held=newest, unknown_then=later - set(newest))


def promotions_as_at(
    session: Session, products: Mapping[str, Product], at: datetime
) -> RecordThen[Promotion]:
    """The promotions as the record held them at `at` that name one of `products` (a
    slice's, as they were then) or its category, their SKUs trimmed to the slice's."""
    newest: dict[str, Row[Any]] = {}
    rows = session.execute(
        select(_promotions)
        .where(_promotions.c.recorded_at <= at)
        .order_by(_promotions.c.promotion_id, _promotions.c.recorded_at, _promotions.c.id)
    )
    for row in rows:
        newest[row.promotion_id] = row  # a later version replaces an earlier one
    later = set(
        session.scalars(
            select(_promotions.c.promotion_id).where(_promotions.c.recorded_at > at).distinct()
        )
    )
    categories = {p.category for p in products.values()}
    held: dict[str, Promotion | None] = {}
    for promotion_id, row in newest.items():
        if row.removed:
            held[promotion_id] = None
            continue
        promotion = _promotion(promotion_id, row)
        named = promotion.skus & products.keys()
        if named or promotion.categories & categories:
            held[promotion_id] = (
                promotion if named == promotion.skus else replace(promotion, skus=named)
            )
        else:
            held[promotion_id] = None  # not this slice's
    return RecordThen(held=held, unknown_then=later - set(newest))


def _promotion(promotion_id: str, row: Row[Any]) -> Promotion:
    """The promotion a version row records, read as a stored one is (`promotion_from_rows`
    with unsaved rows: nothing is added to the session)."""
    facts = {name: row._mapping[name] for name in PROMOTION_FACTS}
    targets = [
        PromotionTargetRow(promotion_id=promotion_id, dimension=d, value=v) for d, v in row.targets
    ]
    return promotion_from_rows(PromotionRow(id=promotion_id, **facts), targets)


def _chunks(skus: Collection[str]) -> list[list[str] | None]:
    # Many SKUs (the audit: every one): one read of every version, filtered here.
    if len(skus) > CHUNK:
        return [None]
    return list(in_chunks(sorted(skus)))


def _of(query: Select[Any], chunk: list[str] | None) -> Select[Any]:
    return query if chunk is None else query.where(_rules.c.sku.in_(chunk))


def _as_rule(row: Row[Any]) -> SimpleNamespace:
    return SimpleNamespace(**{**row._mapping, "id": row.rule_id})
