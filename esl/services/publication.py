"""Publications: the pricing team's unit of work, draft -> validated -> published.

A publication is a list of items (set or end a price in a scope, add/replace or end a
promotion) that take effect together at one instant: now, or later (a promotion that
starts at midnight). Planning applies the items one by one to an engine `Catalogue`
slice, so each rejected item gets its own reason; publishing writes the plan and the
ledger entries in the caller's transaction, so all of it applies or none does.

The past cannot be rewritten: the effective instant may not lie before "now", rules are
ended at that instant rather than edited, a promotion already running cannot be
replaced, and the ledger refuses an entry earlier than one it already holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from esl.db.locks import lock_price_writes
from esl.db.mapping import price_rule_values, promotion_target_values, promotion_values
from esl.db.models import (
    PriceRuleRow,
    ProductRow,
    PromotionRow,
    PromotionTargetRow,
    PublicationItemRow,
    PublicationRow,
    core_table,
)
from esl.db.repositories import load_catalogue_slice, load_ledger_for_skus
from esl.errors import (
    InvalidItemError,
    NotFoundError,
    PublicationRejectedError,
    PublicationStateError,
)
from esl.imports.prices import price_rule_id
from esl.planning_queue import labels_on_shelves, promotion_item_skus, queue_publication
from esl.services.amounts import require_minor_unit
from esl.services.ledger_recording import LedgerPlan, plan_ledger, write_ledger_entries
from pricing.catalogue import Catalogue
from pricing.errors import EslError
from pricing.ledger import LedgerEntry
from pricing.money import Money
from pricing.products import Channel
from pricing.promotions import Promotion, PromotionKind
from pricing.rules import PriceRule
from pricing.windows import window_contains

__all__ = [
    "ACTIONS",
    "Plan",
    "create_publication",
    "plan_publication",
    "publish_publication",
    "validate_publication",
]

ACTIONS = ("set_price", "end_price", "upsert_promotion", "end_promotion")
# Label ids listed in an impact report; the count is always exact.
MAX_LISTED_LABELS = 1_000


@dataclass(slots=True)
class Plan:
    """What publishing would do; `problems` empty means it can be published."""

    effective_at: datetime
    base: Catalogue
    result: Catalogue
    rules_written: dict[str, PriceRule] = field(default_factory=dict)
    rules_removed: set[str] = field(default_factory=set)
    promotions_written: dict[str, Promotion] = field(default_factory=dict)
    promotions_removed: set[str] = field(default_factory=set)
    touched_skus: set[str] = field(default_factory=set)
    problems: list[dict[str, Any]] = field(default_factory=list)
    ledger_entries: list[LedgerEntry] = field(default_factory=list)
    changed_keys: list[tuple[str, str, str]] = field(default_factory=list)

    def refuse(self, item: int | None, reason: str, **fields: Any) -> None:
        self.problems.append({"item": item, "reason": reason, **fields})


def create_publication(
    session: Session,
    *,
    title: str,
    effective_at: datetime | None,
    items: Sequence[dict[str, Any]],
    created_by: str,
    now: datetime,
) -> PublicationRow:
    row = PublicationRow(
        title=title,
        kind="changes",
        status="draft",
        created_by=created_by,
        created_at=now,
        effective_at=effective_at,
        problems=[],
        impact=None,
    )
    session.add(row)
    session.flush()
    session.execute(
        insert(core_table(PublicationItemRow)),
        [
            {
                "publication_id": row.id,
                "position": position,
                "action": item["action"],
                "payload": _json_ready(item),
            }
            for position, item in enumerate(items)
        ],
    )
    return row


def _json_ready(item: dict[str, Any]) -> dict[str, Any]:
    ready: dict[str, Any] = {}
    for name, value in item.items():
        if value is None or value == []:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        ready[name] = value
    return ready


def _load(session: Session, publication_id: int) -> tuple[PublicationRow, list[dict[str, Any]]]:
    row = session.get(PublicationRow, publication_id)
    if row is None:
        raise NotFoundError("publication", publication_id)
    items = [
        item.payload
        for item in session.scalars(
            select(PublicationItemRow)
            .where(PublicationItemRow.publication_id == publication_id)
            .order_by(PublicationItemRow.position)
        )
    ]
    return row, items


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def plan_publication(
    session: Session,
    *,
    items: Sequence[dict[str, Any]],
    effective_at: datetime | None,
    now: datetime,
    currency: str,
) -> Plan:
    """Work out every change, reason per rejected item, and the impact; writes nothing."""
    at = effective_at or now
    skus = _skus_named(session, items)
    base = load_catalogue_slice(session, skus, currency=currency)
    plan = Plan(effective_at=at, base=base, result=base)
    if at < now:
        plan.refuse(None, "effective_at is in the past: the past cannot be rewritten")
        return plan
    for index, item in enumerate(items):
        try:
            _apply_item(plan, index, item, currency)
        except EslError as error:
            plan.refuse(index, error.message, code=error.code)
    if not plan.problems:
        _impact(session, plan)
    return plan


def _skus_named(session: Session, items: Sequence[dict[str, Any]]) -> set[str]:
    skus: set[str] = set()
    categories: set[str] = set()
    promotion_ids: set[str] = set()
    for item in items:
        if item.get("sku"):
            skus.add(str(item["sku"]))
        skus.update(str(s) for s in item.get("skus", ()))
        categories.update(str(c) for c in item.get("categories", ()))
        if item.get("promotion_id"):
            promotion_ids.add(str(item["promotion_id"]))
    if promotion_ids:
        # Ending or replacing a promotion touches what it targeted.
        for target in session.scalars(
            select(PromotionTargetRow).where(PromotionTargetRow.promotion_id.in_(promotion_ids))
        ):
            if target.dimension == "sku":
                skus.add(target.value)
            elif target.dimension == "category":
                categories.add(target.value)
    if categories:
        skus.update(
            session.scalars(select(ProductRow.sku).where(ProductRow.category.in_(categories)))
        )
    return skus


def _scope_rule(
    plan: Plan, item: dict[str, Any]
) -> tuple[str, Channel | None, str | None, str | None]:
    sku = item.get("sku")
    if not sku:
        raise InvalidItemError("a price item names a sku", field="sku")
    if sku not in plan.result.products:
        raise NotFoundError("product", sku)
    channel = Channel(item["channel"]) if item.get("channel") else None
    zone, store = item.get("zone"), item.get("store")
    if zone is not None and zone not in plan.result.zones:
        raise NotFoundError("zone", zone)
    if store is not None and store not in plan.result.stores:
        raise NotFoundError("store", store)
    return sku, channel, zone, store


def _rule_in_force(
    catalogue: Catalogue, scope: tuple[str, Channel | None, str | None, str | None], at: datetime
) -> PriceRule | None:
    for rule in catalogue.rules_for(scope[0]):
        if rule.scope_key == scope and window_contains(rule.valid_from, rule.valid_until, at):
            return rule
    return None


def _apply_item(plan: Plan, index: int, item: dict[str, Any], currency: str) -> None:
    at = plan.effective_at
    action = item.get("action")
    written_rules: list[PriceRule] = []
    removed_rules: list[str] = []
    written_promotions: list[Promotion] = []
    removed_promotions: list[str] = []
    if action in ("set_price", "end_price"):
        scope = _scope_rule(plan, item)
        current = _rule_in_force(plan.result, scope, at)
        if current is not None:
            if current.valid_from is not None and current.valid_from >= at:
                removed_rules.append(current.id)
            else:
                written_rules.append(dataclasses.replace(current, valid_until=at))
        if action == "end_price":
            if current is None:
                raise NotFoundError("price in force in that scope at", at.isoformat())
        else:
            if item.get("amount") is None:
                raise InvalidItemError("set_price needs an amount", field="amount")
            sku, channel, zone, store = scope
            item_currency = str(item.get("currency") or currency)
            require_minor_unit(Decimal(str(item["amount"])), item_currency)
            amount = Money.of(str(item["amount"]), item_currency)
            rule_id = price_rule_id(
                sku=sku,
                channel=channel.value if channel else None,
                zone=zone,
                store=store,
                valid_from=at,
            )
            new_rule = PriceRule(
                id=rule_id,
                sku=sku,
                amount=amount,
                channel=channel,
                zone=zone,
                store=store,
                valid_from=at,
                valid_until=_instant(item.get("valid_until")),
            )
            if rule_id in removed_rules:
                removed_rules.remove(rule_id)
            written_rules.append(new_rule)
    elif action == "upsert_promotion":
        promotion = _promotion(item, at, currency)
        existing = plan.result.promotions.get(promotion.id)
        if existing is not None and (existing.valid_from is None or existing.valid_from < at):
            raise PublicationStateError(
                f"promotion {promotion.id} has already started: end it and publish a new one",
                promotion_id=promotion.id,
            )
        written_promotions.append(promotion)
    elif action == "end_promotion":
        promotion_id = str(item.get("promotion_id") or "")
        existing = plan.result.promotions.get(promotion_id)
        if existing is None:
            raise NotFoundError("promotion", promotion_id)
        if existing.valid_until is not None and existing.valid_until <= at:
            raise PublicationStateError(
                f"promotion {promotion_id} has already ended", promotion_id=promotion_id
            )
        if existing.valid_from is not None and existing.valid_from >= at:
            removed_promotions.append(promotion_id)
        else:
            written_promotions.append(dataclasses.replace(existing, valid_until=at))
    else:
        raise InvalidItemError(f"unknown action {action!r}", field="action")

    plan.result = plan.result.with_changes(
        rules=written_rules,
        removed_rule_ids=removed_rules,
        promotions=written_promotions,
        removed_promotion_ids=removed_promotions,
    )
    for rule in written_rules:
        plan.rules_written[rule.id] = rule
        plan.rules_removed.discard(rule.id)
        plan.touched_skus.add(rule.sku)
    for rule_id in removed_rules:
        plan.rules_written.pop(rule_id, None)
        plan.rules_removed.add(rule_id)
    for promotion in written_promotions:
        plan.promotions_written[promotion.id] = promotion
        plan.promotions_removed.discard(promotion.id)
    plan.promotions_removed.update(removed_promotions)
    for promotion_id in removed_promotions:
        plan.promotions_written.pop(promotion_id, None)
    # The catalogue knows what the item touched: removed rules, promotions' categories too.
    if plan.result.lineage is not None:
        plan.touched_skus |= set(plan.result.lineage.skus)
        for category in plan.result.lineage.categories:
            plan.touched_skus |= set(plan.result.skus_in_category(category))


def _promotion(item: dict[str, Any], at: datetime, currency: str) -> Promotion:
    # Drafts stored before the API enforced each action's fields may lack these.
    if not item.get("promotion_id"):
        raise InvalidItemError("upsert_promotion needs a promotion_id", field="promotion_id")
    try:
        kind = PromotionKind(str(item.get("kind") or ""))
    except ValueError:
        kinds = ", ".join(k.value for k in PromotionKind)
        raise InvalidItemError(
            f"upsert_promotion needs a kind: one of {kinds}", field="kind"
        ) from None
    starts = _instant(item.get("valid_from"))
    amount = item.get("amount")
    if amount is not None:
        require_minor_unit(Decimal(str(amount)), str(item.get("currency") or currency))
    return Promotion(
        id=str(item.get("promotion_id") or ""),
        name=str(item.get("name") or item.get("promotion_id") or ""),
        kind=kind,
        skus=frozenset(item.get("skus", ())),
        categories=frozenset(item.get("categories", ())),
        channels=frozenset(Channel(c) for c in item.get("channels", ())),
        zones=frozenset(item.get("zones", ())),
        stores=frozenset(item.get("stores", ())),
        # A promotion cannot start before its publication takes effect.
        valid_from=max(starts, at) if starts is not None else at,
        valid_until=_instant(item.get("valid_until")),
        priority=int(item.get("priority", 0)),
        exclusive=bool(item.get("exclusive", False)),
        percent=Decimal(str(item["percent"])) if item.get("percent") is not None else None,
        amount=Money.of(str(amount), str(item.get("currency") or currency))
        if amount is not None
        else None,
        quantity=item.get("quantity"),
        free_quantity=item.get("free_quantity"),
    )


def _impact(session: Session, plan: Plan) -> None:
    """The keys whose label changes at the effective instant, and their ledger entries."""
    skus = sorted(s for s in plan.touched_skus if s in plan.result.products)
    ledger = load_ledger_for_skus(session, skus)
    recorded = LedgerPlan()
    plan_ledger(plan.base, plan.result, at=plan.effective_at, ledger=ledger, into=recorded)
    plan.changed_keys = [(k.sku, k.channel.value, k.store) for k in recorded.changed_keys]
    plan.ledger_entries = recorded.entries
    plan.problems += recorded.problems


def validate_publication(
    session: Session, publication_id: int, *, now: datetime, currency: str
) -> PublicationRow:
    """draft -> validated when every item can apply; otherwise stays draft with its problems."""
    row, items = _load(session, publication_id)
    if row.status not in ("draft", "validated"):
        raise PublicationStateError(
            f"publication {publication_id} is {row.status}", publication_id=publication_id
        )
    plan = plan_publication(
        session, items=items, effective_at=row.effective_at, now=now, currency=currency
    )
    row.problems = plan.problems
    row.status = "draft" if plan.problems else "validated"
    row.validated_at = None if plan.problems else now
    row.impact = None if plan.problems else _impact_summary(session, plan, listed=False)
    return row


def publish_publication(
    session: Session, publication_id: int, *, published_by: str, now: datetime, currency: str
) -> PublicationRow:
    """Apply a validated publication in the caller's transaction, or raise and apply nothing."""
    lock_price_writes(session)
    row, items = _load(session, publication_id)
    if row.status != "validated":
        raise PublicationStateError(
            f"publication {publication_id} is {row.status}; validate it first",
            publication_id=publication_id,
            status=row.status,
        )
    plan = plan_publication(
        session, items=items, effective_at=row.effective_at, now=now, currency=currency
    )
    if plan.problems:
        raise PublicationRejectedError(
            f"publication {publication_id} cannot be published: {len(plan.problems)} problem(s)",
            publication_id=publication_id,
            problems=plan.problems,
        )
    _write(session, plan, publication_id, now)
    # The hand-off to the pipeline, in this transaction: the shelves whose store price
    # changes, and every SKU a promotion item reaches (its validity text may change).
    queue_publication(
        session,
        publication_id,
        shelves={
            (entry.key.sku, entry.key.store)
            for entry in plan.ledger_entries
            if entry.key.channel is Channel.STORE
        },
        everywhere=promotion_item_skus(session, publication_id),
        effective_at=plan.effective_at,
        now=now,
    )
    row.status = "published"
    row.effective_at = plan.effective_at
    row.published_at = now
    row.published_by = published_by
    row.problems = []
    row.impact = _impact_summary(session, plan, listed=True)
    return row


def _impact_summary(session: Session, plan: Plan, *, listed: bool) -> dict[str, Any]:
    shelf = {(sku, store) for sku, channel, store in plan.changed_keys if channel == "store"}
    labels = labels_on_shelves(session, shelf)
    summary: dict[str, Any] = {
        "effective_at": plan.effective_at.isoformat(),
        "prices_changed": len(plan.changed_keys),
        "skus": len({sku for sku, _, _ in plan.changed_keys}),
        "ledger_entries": len(plan.ledger_entries),
        "labels_changed": len(labels),
        "labels": labels[:MAX_LISTED_LABELS],
    }
    if listed:
        summary["keys"] = [
            {"sku": sku, "channel": channel, "store": store}
            for sku, channel, store in plan.changed_keys[:MAX_LISTED_LABELS]
        ]
    return summary


def _write(session: Session, plan: Plan, publication_id: int, now: datetime) -> None:
    rule_ids = set(plan.rules_written) | plan.rules_removed
    if rule_ids:
        session.execute(delete(PriceRuleRow).where(PriceRuleRow.id.in_(rule_ids)))
    if plan.rules_written:
        session.execute(
            insert(core_table(PriceRuleRow)),
            [price_rule_values(rule, publication_id) for rule in plan.rules_written.values()],
        )
    promotion_ids = set(plan.promotions_written) | plan.promotions_removed
    if promotion_ids:
        session.execute(
            delete(PromotionTargetRow).where(PromotionTargetRow.promotion_id.in_(promotion_ids))
        )
        session.execute(delete(PromotionRow).where(PromotionRow.id.in_(promotion_ids)))
    if plan.promotions_written:
        # Complete, not trimmed: the slice holds every SKU a referenced promotion names.
        full = list(plan.promotions_written.values())
        session.execute(
            insert(core_table(PromotionRow)), [promotion_values(p, publication_id) for p in full]
        )
        targets = [t for p in full for t in promotion_target_values(p)]
        if targets:
            session.execute(insert(core_table(PromotionTargetRow)), targets)
    write_ledger_entries(
        session, plan.ledger_entries, publication_id=publication_id, source="publication", now=now
    )
