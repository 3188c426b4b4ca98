"""Publications: the pricing team's unit of work, draft -> validated -> published.

A publication is a list of items (set or end a price in a scope, add/replace or end a
promotion) that take effect together at one instant: now, or later (a promotion that
starts at midnight). Planning applies the items one by one to an engine `Catalogue`
slice, so each rejected item gets its own reason; publishing writes the plan and the
ledger entries in the caller's transaction, so all of it applies or none does.

The past cannot be rewritten: the effective instant may not lie before "now", rules are
ended at that instant rather than edited, a promotion already running cannot be
replaced, and the ledger refuses an entry earlier than one it already holds for an
instant passed. Entries written ahead for an instant still to come (by a publication
effective later) are plans: a publication that changes what applies then plans them
again (`plan_ledger`), so a price published ahead can be corrected or cancelled.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

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
from esl.db.repositories import load_catalogue_slice
from esl.db.repositories.rows import row_or_not_found
from esl.errors import (
    InvalidItemError,
    NotFoundError,
    PublicationRejectedError,
    PublicationStateError,
)
from esl.imports.prices import price_rule_id
from esl.imports.references import ImportReferences, ReferenceKind
from esl.planning_queue import (
    instants_published_ahead,
    labels_on_shelves_with_stores,
    later_instants,
    promotion_item_skus,
    queue_later_instants,
    queue_publication,
)
from esl.services.amounts import require_minor_unit
from esl.services.ledger_instants import WriteClock, begin_price_write
from esl.services.ledger_recording import (
    LedgerPlan,
    plan_change_ledger,
    write_ledger_plan,
)
from esl.services.ledger_refusals import (
    LEDGER_ORDER,
    SkuRefusal,
    ledger_refusals_by_sku,
    refusal_reason,
)
from esl.services.publication_commands import (
    ACTIONS,
    EndPrice,
    EndPromotion,
    PublicationCommand,
    SetPrice,
    UpsertPromotion,
    command_from_payload,
    command_payload,
)
from esl.services.publication_scope import LABELS_PER_STORE
from esl.services.rule_versions import (
    record_promotion_versions,
    record_rule_versions,
    skus_of_rules,
)
from pricing.catalogue import Catalogue
from pricing.errors import EslError, InvalidPromotionError
from pricing.money import Money
from pricing.products import Channel
from pricing.promotions import Promotion, refuse_no_target, refuse_unused_terms
from pricing.rules import PriceRule
from pricing.windows import window_contains

__all__ = [
    "ACTIONS",
    "Plan",
    "StoredItem",
    "create_publication",
    "plan_publication",
    "publish_publication",
    "refuse_unknown_references",
    "require_storable_draft",
    "validate_publication",
]

# Label ids listed in an impact report; the count is always exact.
MAX_LISTED_LABELS = 1_000


_Scope = tuple[str, Channel | None, str | None, str | None]
_Item = TypeVar("_Item", PriceRule, Promotion)


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
    # The SKUs each item (by index) changed: a ledger refusal of a SKU is its items'.
    item_skus: dict[int, set[str]] = field(default_factory=dict)
    ledger: LedgerPlan = field(default_factory=LedgerPlan)
    changed_keys: list[tuple[str, str, str]] = field(default_factory=list)

    def refuse(self, item: int | None, reason: str, **fields: Any) -> None:
        self.problems.append({"item": item, "reason": reason, **fields})


def require_storable_draft(
    session: Session,
    *,
    effective_at: datetime | None,
    items: Sequence[PublicationCommand],
    now: datetime,
    currency: str,
) -> None:
    """InvalidItemError for a draft refused before it is stored: an effective instant in
    the past, an amount finer than its currency's minor unit, a promotion that targets
    no SKU and no category (field `skus`, the promotion file's reason: `refuse_no_target`),
    an item naming a SKU, category, zone, store or promotion that nothing stored has (a
    promotion: nor an earlier item adds), or a zone no store belongs to, or a promotion
    given a term its kind does not read (a quantity on a fixed_price: `field` the term,
    `reason` the kind that reads it; the promotion's own `InvalidPromotionError` answered
    as an item's fault, as its missing target is). POST /publications and `esl publish`
    both ask here, so a draft one refuses the other never stores. The items' own faults
    are looked for first, then what they name (the names they give read from the
    database at once, only for a draft with none)."""
    if effective_at is not None and effective_at < now:
        raise InvalidItemError(
            "effective_at lies in the past: the past cannot be rewritten",
            field="effective_at",
        )
    for index, command in enumerate(items):
        if isinstance(command, UpsertPromotion):
            # Not left to validation: a draft holding such an item would be stored. The
            # target first, as the promotion file's line is checked (`Promotion`).
            try:
                refuse_no_target(command.promotion_id, command.skus, command.categories)
            except InvalidPromotionError as error:
                # Refused as an item naming what cannot be promoted is: invalid_item.
                raise InvalidItemError(error.message, field="skus", item=index) from error
            try:
                refuse_unused_terms(command.promotion_id, command.kind, command)
            except InvalidPromotionError as error:
                # An item's own fault too, answered as the others are (invalid_item, the
                # item and its field); `reason` names the kind that reads the term.
                raise InvalidItemError(
                    error.message,
                    field=str(error.fields["field"]),
                    item=index,
                    promotion_id=command.promotion_id,
                    reason=error.fields["reason"],
                ) from error
        amount = getattr(command, "amount", None)
        item_currency = getattr(command, "currency", None)
        if amount is not None:
            require_minor_unit(amount, item_currency or currency, item=index)
        if item_currency is not None and item_currency != currency:
            # The catalogue has one currency: validation would refuse it (currency_mismatch),
            # a stored draft that could never be published; refused here as the files refuse
            # their line.
            raise InvalidItemError(
                f"currency {item_currency} differs from this system's currency {currency}",
                field="currency",
                currency=item_currency,
                item=index,
            )
    named_by_item = _references_named(items)
    named: dict[ReferenceKind, set[str]] = defaultdict(set)
    for references_of_item in named_by_item:
        for kind, _, names in references_of_item:
            named[kind].update(names)
    # Only the names the items give are read, not a chain's every SKU for one price.
    references = ImportReferences(session, among=named)
    for index, references_of_item in enumerate(named_by_item):
        refuse_unknown_references(references, references_of_item, item=index)


def create_publication(
    session: Session,
    *,
    title: str,
    effective_at: datetime | None,
    items: Sequence[PublicationCommand],
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
                "action": command.action,
                "payload": command_payload(command),
            }
            for position, command in enumerate(items)
        ],
    )
    return row


# (kind, the item's field, the names): what one item names that must be stored.
NamedReferences = tuple[tuple[ReferenceKind, str, tuple[str, ...]], ...]


def _references_named(items: Sequence[PublicationCommand]) -> list[NamedReferences]:
    """What each of `items` names that must be stored, in the promotion file's order: the
    SKUs, zones and stores the price and promotion files check at import, a promotion's
    categories, and the promotion an `end_promotion` ends, unless an earlier item of the
    draft adds it (the items are applied in order when the draft is validated: one a
    later item adds, or another draft not yet published, is not there to end)."""
    added: set[str] = set()
    named: list[NamedReferences] = []
    for command in items:
        if isinstance(command, SetPrice | EndPrice):
            named.append(
                (
                    ("sku", "sku", (command.sku,)),
                    ("zone", "zone", () if command.zone is None else (command.zone,)),
                    ("store", "store", () if command.store is None else (command.store,)),
                )
            )
        elif isinstance(command, UpsertPromotion):
            named.append(
                (
                    ("sku", "skus", command.skus),
                    ("category", "categories", command.categories),
                    ("zone", "zones", command.zones),
                    ("store", "stores", command.stores),
                )
            )
            added.add(command.promotion_id)
        else:
            ended = () if command.promotion_id in added else (command.promotion_id,)
            named.append((("promotion", "promotion_id", ended),))
    return named


def refuse_unknown_references(
    references: ImportReferences, named: NamedReferences, *, item: int
) -> None:
    """InvalidItemError (`field` the item's field, the `item`, under the field's name the
    names refused) for an item naming a SKU, zone, store or promotion not stored, a zone
    no store belongs to, or a category no product has, with the files' reason for it
    (`ImportReferences.unknown`: "unknown store(s): S99", "zone(s) with no store: west"):
    the price and promotion files refuse such a line, and the item could never be
    published (a promotion of a category no product has would reach nothing). `named`:
    what the item names (`_references_named`). Channels are the API's enum, which the
    channels table holds, so are not read."""
    for kind, field_name, names in named:
        unknown = references.unknown(kind, names)
        if unknown is not None:
            raise InvalidItemError(
                unknown.reason, field=field_name, item=item, **{field_name: unknown.names}
            )


# A stored item reads back as its command, or as the reason it cannot be read.
StoredItem = PublicationCommand | InvalidItemError


def _load(session: Session, publication_id: int) -> tuple[PublicationRow, list[StoredItem]]:
    row = row_or_not_found(session, PublicationRow, publication_id, "publication")
    items: list[StoredItem] = []
    for item in session.scalars(
        select(PublicationItemRow)
        .where(PublicationItemRow.publication_id == publication_id)
        .order_by(PublicationItemRow.position)
    ):
        try:
            items.append(command_from_payload(item.payload))
        except InvalidItemError as error:
            items.append(error)
    return row, items


def plan_publication(
    session: Session,
    *,
    items: Sequence[StoredItem],
    effective_at: datetime | None,
    now: datetime,
    currency: str,
) -> Plan:
    """Work out every change, reason per rejected item, and the impact; writes nothing."""
    at = effective_at or now
    commands = [item for item in items if not isinstance(item, InvalidItemError)]
    skus = _skus_named(session, commands)
    base = load_catalogue_slice(session, skus, currency=currency)
    plan = Plan(effective_at=at, base=base, result=base)
    if at < now:
        plan.refuse(None, "effective_at is in the past: the past cannot be rewritten")
        return plan
    for index, item in enumerate(items):
        try:
            if isinstance(item, InvalidItemError):
                raise item
            _apply_item(plan, index, item, currency)
        except EslError as error:
            plan.refuse(index, error.message, code=error.code)
    if not plan.problems:
        _impact(session, plan, now)
    return plan


def _skus_named(session: Session, commands: Sequence[PublicationCommand]) -> set[str]:
    skus: set[str] = set()
    categories: set[str] = set()
    promotion_ids: set[str] = set()
    for command in commands:
        if isinstance(command, SetPrice | EndPrice):
            skus.add(command.sku)
        elif isinstance(command, UpsertPromotion):
            skus.update(command.skus)
            categories.update(command.categories)
            promotion_ids.add(command.promotion_id)
        else:
            promotion_ids.add(command.promotion_id)
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


def _scope_rule(plan: Plan, command: SetPrice | EndPrice) -> _Scope:
    if command.sku not in plan.result.products:
        raise NotFoundError("product", command.sku)
    if command.zone is not None and command.zone not in plan.result.zones:
        raise NotFoundError("zone", command.zone)
    if command.store is not None and command.store not in plan.result.stores:
        raise NotFoundError("store", command.store)
    return (command.sku, command.channel, command.zone, command.store)


def _rule_in_force(catalogue: Catalogue, scope: _Scope, at: datetime) -> PriceRule | None:
    for rule in catalogue.rules_for(scope[0]):
        if rule.scope_key == scope and window_contains(rule.valid_from, rule.valid_until, at):
            return rule
    return None


@dataclass(slots=True)
class _Changes:
    """What one item changes in the catalogue."""

    written_rules: list[PriceRule] = field(default_factory=list)
    removed_rules: list[str] = field(default_factory=list)
    written_promotions: list[Promotion] = field(default_factory=list)
    removed_promotions: list[str] = field(default_factory=list)


def _end_rule_in_force(plan: Plan, scope: _Scope, changes: _Changes) -> PriceRule | None:
    """End the rule in force in `scope` at the effective instant (or drop one that has not
    started); the rule, or None when there is none."""
    at = plan.effective_at
    current = _rule_in_force(plan.result, scope, at)
    if current is not None:
        if current.valid_from is not None and current.valid_from >= at:
            changes.removed_rules.append(current.id)
        else:
            changes.written_rules.append(dataclasses.replace(current, valid_until=at))
    return current


def _set_price(plan: Plan, command: SetPrice, currency: str) -> _Changes:
    at = plan.effective_at
    changes = _Changes()
    sku, channel, zone, store = scope = _scope_rule(plan, command)
    _end_rule_in_force(plan, scope, changes)
    item_currency = command.currency or currency
    require_minor_unit(command.amount, item_currency)
    rule_id = price_rule_id(
        sku=sku,
        channel=channel.value if channel else None,
        zone=zone,
        store=store,
        valid_from=at,
    )
    if rule_id in changes.removed_rules:
        changes.removed_rules.remove(rule_id)
    changes.written_rules.append(
        PriceRule(
            id=rule_id,
            sku=sku,
            amount=Money.of(command.amount, item_currency),
            channel=channel,
            zone=zone,
            store=store,
            valid_from=at,
            valid_until=command.valid_until,
        )
    )
    return changes


def _end_price(plan: Plan, command: EndPrice, currency: str) -> _Changes:
    changes = _Changes()
    if _end_rule_in_force(plan, _scope_rule(plan, command), changes) is None:
        raise NotFoundError("price in force in that scope at", plan.effective_at.isoformat())
    return changes


def _upsert_promotion(plan: Plan, command: UpsertPromotion, currency: str) -> _Changes:
    at = plan.effective_at
    promotion = _promotion(command, at, currency)
    existing = plan.result.promotions.get(promotion.id)
    if existing is not None and existing.valid_until is not None and existing.valid_until <= at:
        # What customers were shown under this id stays as it was: the id is spent.
        raise PublicationStateError(
            f"promotion {promotion.id} ended at {existing.valid_until.isoformat()}: "
            "publish the new one under a new promotion_id",
            promotion_id=promotion.id,
        )
    if existing is not None and (existing.valid_from is None or existing.valid_from < at):
        raise PublicationStateError(
            f"promotion {promotion.id} has already started: end it (end_promotion) and "
            "publish the new terms under a new promotion_id",
            promotion_id=promotion.id,
        )
    return _Changes(written_promotions=[promotion])


def _end_promotion(plan: Plan, command: EndPromotion, currency: str) -> _Changes:
    at = plan.effective_at
    promotion_id = command.promotion_id
    existing = plan.result.promotions.get(promotion_id)
    if existing is None:
        raise NotFoundError("promotion", promotion_id)
    if existing.valid_until is not None and existing.valid_until <= at:
        raise PublicationStateError(
            f"promotion {promotion_id} has already ended", promotion_id=promotion_id
        )
    if existing.valid_from is not None and existing.valid_from >= at:
        return _Changes(removed_promotions=[promotion_id])
    return _Changes(written_promotions=[dataclasses.replace(existing, valid_until=at)])


_Handler = Callable[[Plan, Any, str], _Changes]
# One handler per command class; the API schema and `command_from_payload` decide which
# fields each command has, so a handler only checks the command against the catalogue.
_HANDLERS: Mapping[type[PublicationCommand], _Handler] = {
    SetPrice: _set_price,
    EndPrice: _end_price,
    UpsertPromotion: _upsert_promotion,
    EndPromotion: _end_promotion,
}


def _note_writes(
    written: dict[str, _Item], removed: set[str], writes: Iterable[_Item], removals: Iterable[str]
) -> None:
    """Carry one item's writes and removals into the plan's: the last word on an id wins."""
    for item in writes:
        written[item.id] = item
        removed.discard(item.id)
    for item_id in removals:
        written.pop(item_id, None)
        removed.add(item_id)


def _apply_item(plan: Plan, index: int, command: PublicationCommand, currency: str) -> None:
    changes = _HANDLERS[type(command)](plan, command, currency)
    plan.result = plan.result.with_changes(
        rules=changes.written_rules,
        removed_rule_ids=changes.removed_rules,
        promotions=changes.written_promotions,
        removed_promotion_ids=changes.removed_promotions,
    )
    _note_writes(
        plan.rules_written, plan.rules_removed, changes.written_rules, changes.removed_rules
    )
    touched = {rule.sku for rule in changes.written_rules}
    _note_writes(
        plan.promotions_written,
        plan.promotions_removed,
        changes.written_promotions,
        changes.removed_promotions,
    )
    # The catalogue knows what the item touched: removed rules, promotions' categories too.
    if plan.result.lineage is not None:
        touched |= plan.result.lineage.skus
        for category in plan.result.lineage.categories:
            touched |= set(plan.result.skus_in_category(category))
    plan.touched_skus |= touched
    plan.item_skus[index] = touched


def _promotion(command: UpsertPromotion, at: datetime, currency: str) -> Promotion:
    item_currency = command.currency or currency
    if command.amount is not None:
        require_minor_unit(command.amount, item_currency)
    starts = command.valid_from
    return Promotion(
        id=command.promotion_id,
        name=command.name or command.promotion_id,
        kind=command.kind,
        skus=frozenset(command.skus),
        categories=frozenset(command.categories),
        channels=frozenset(command.channels),
        zones=frozenset(command.zones),
        stores=frozenset(command.stores),
        # A promotion cannot start before its publication takes effect.
        valid_from=max(starts, at) if starts is not None else at,
        valid_until=command.valid_until,
        priority=command.priority,
        exclusive=command.exclusive,
        percent=command.percent,
        amount=Money.of(command.amount, item_currency) if command.amount is not None else None,
        quantity=command.quantity,
        free_quantity=command.free_quantity,
    )


def _impact(session: Session, plan: Plan, now: datetime) -> None:
    """The keys whose label changes at the effective instant, and their ledger entries
    (with those written ahead for later instants that the change replaces or removes)."""
    skus = sorted(s for s in plan.touched_skus if s in plan.result.products)
    recorded = LedgerPlan()
    plan_change_ledger(
        session,
        plan.base,
        plan.result,
        skus,
        at=plan.effective_at,
        now=now,
        into=recorded,
        instants_ahead=instants_published_ahead(session, after=plan.effective_at),
    )
    plan.changed_keys = [(k.sku, k.channel.value, k.store) for k in recorded.changed_keys]
    plan.ledger = recorded
    plan.problems += _ledger_problems(session, plan, recorded.problems)


def _ledger_problems(
    session: Session, plan: Plan, problems: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The ledger's refusals (one per key) as the items' problems: each item that changed
    a refused SKU gets one naming its refused SKUs, where and by which change; one no
    item changed stays the publication's (item None)."""
    refusals, others = ledger_refusals_by_sku(session, problems)
    found: list[dict[str, Any]] = []
    claimed: set[str] = set()
    for index in sorted(plan.item_skus):
        mine = [refusals[sku] for sku in sorted(plan.item_skus[index] & refusals.keys())]
        if mine:
            claimed.update(refusal.sku for refusal in mine)
            found.append(_ledger_problem(index, mine))
    unclaimed = [refusal for sku, refusal in refusals.items() if sku not in claimed]
    if unclaimed:
        found.append(_ledger_problem(None, unclaimed))
    for other in others:
        items: list[int | None] = [
            i for i, skus in sorted(plan.item_skus.items()) if other.get("sku") in skus
        ]
        found += [{**other, "item": item} for item in items or [None]]
    return found


def _ledger_problem(item: int | None, refusals: Sequence[SkuRefusal]) -> dict[str, Any]:
    return {
        "item": item,
        "reason": refusal_reason(refusals, then="validate and publish again"),
        "code": LEDGER_ORDER,
        "skus": sorted(refusal.sku for refusal in refusals),
        "stores": sorted(set().union(*(refusal.stores for refusal in refusals))),
    }


def validate_publication(
    session: Session, publication_id: int, *, now: datetime, currency: str
) -> PublicationRow:
    """draft -> validated when every item can apply; otherwise stays draft with its problems."""
    row, items = _load(session, publication_id)
    if row.status not in ("draft", "validated"):
        raise _state_refusal(row, "validated")
    plan = plan_publication(
        session, items=items, effective_at=row.effective_at, now=now, currency=currency
    )
    row.problems = plan.problems
    row.status = "draft" if plan.problems else "validated"
    row.validated_at = None if plan.problems else now
    row.impact = None if plan.problems else _impact_summary(session, plan, listed=False)
    return row


def publish_publication(
    session: Session, publication_id: int, *, published_by: str, now: WriteClock, currency: str
) -> PublicationRow:
    """Apply a validated publication in the caller's transaction, or raise and apply nothing;
    `now` (a clock) is read once the price writers' lock is held (`begin_price_write`)."""
    now = begin_price_write(session, now=now, currency=currency)
    row, items = _load(session, publication_id)
    if row.status != "validated":
        raise _state_refusal(row, "published")
    plan = plan_publication(
        session, items=items, effective_at=row.effective_at, now=now, currency=currency
    )
    if plan.problems:
        raise PublicationRejectedError(
            f"publication {publication_id} cannot be published: {len(plan.problems)} problem(s)",
            publication_id=publication_id,
            problems=plan.problems,
        )
    # Read before `_write` deletes or rewrites the targets of the promotions it ends or
    # replaces: the SKUs they reached keep labels that show them, or hold the flip to
    # one not started yet, and must go back.
    reached = promotion_item_skus(session, publication_id)
    _write(session, plan, publication_id, now)
    # The hand-off to the pipeline, in this transaction: the shelves whose store price
    # changes (then, or at a later instant written ahead: a label may hold a flip to a
    # price that will not be charged), and every SKU a promotion item reaches (its
    # validity text may change), before or after the publication.
    queue_publication(
        session,
        publication_id,
        shelves=plan.ledger.shelves(),
        everywhere=reached,
        effective_at=plan.effective_at,
        now=now,
    )
    # And the later instants at which what it wrote changes labels again: a promotion or
    # price that starts or ends after the publication's own instant.
    queue_later_instants(
        session,
        publication_id,
        instants=later_instants(
            session,
            promotions=plan.promotions_written.values(),
            rules=plan.rules_written.values(),
            after=plan.effective_at,
        ),
        after=plan.effective_at,
        now=now,
    )
    row.status = "published"
    row.effective_at = plan.effective_at
    row.published_at = now
    row.published_by = published_by
    row.problems = []
    row.impact = _impact_summary(session, plan, listed=True)
    return row


def _state_refusal(row: PublicationRow, step: str) -> PublicationStateError:
    """Why `row` cannot be `step` (validated or published) in its state, and what to do."""
    if row.status == "published":
        when = row.published_at.isoformat() if row.published_at is not None else None
        return PublicationStateError(
            f"publication {row.id} was already published at {when} by {row.published_by}: "
            f"it cannot be {step} again; a further change is a new publication",
            publication_id=row.id,
            status=row.status,
            published_at=when,
            published_by=row.published_by,
        )
    then = "; validate it first" if step == "published" else ""
    return PublicationStateError(
        f"publication {row.id} is {row.status}{then}", publication_id=row.id, status=row.status
    )


def _impact_summary(session: Session, plan: Plan, *, listed: bool) -> dict[str, Any]:
    shelf = {(sku, store) for sku, channel, store in plan.changed_keys if channel == "store"}
    labels = labels_on_shelves_with_stores(session, shelf)
    summary: dict[str, Any] = {
        "effective_at": plan.effective_at.isoformat(),
        "prices_changed": len(plan.changed_keys),
        "skus": len({sku for sku, _, _ in plan.changed_keys}),
        "ledger_entries": len(plan.ledger.entries),
        "ledger_entries_ahead_replaced": len(plan.ledger.withdrawn_ahead),
        "labels_changed": len(labels),
        # Exact per store, while `labels` lists only the first ones: a store key is
        # shown its own store's count (esl.services.publication_scope).
        LABELS_PER_STORE: dict(sorted(Counter(store for _, store in labels).items())),
        "labels": [label for label, _ in labels[:MAX_LISTED_LABELS]],
    }
    if listed:
        summary["keys"] = [
            {"sku": sku, "channel": channel, "store": store}
            for sku, channel, store in plan.changed_keys[:MAX_LISTED_LABELS]
        ]
    return summary


def _write(session: Session, plan: Plan, publication_id: int, now: datetime) -> None:
    rule_ids = set(plan.rules_written) | plan.rules_removed
    # Recorded as from now (`price_rule_versions`, `promotion_versions`): a past instant
    # is priced with the rules and promotions the record held then.
    removed_rules = skus_of_rules(session, plan.rules_removed - set(plan.rules_written))
    if rule_ids:
        session.execute(delete(PriceRuleRow).where(PriceRuleRow.id.in_(rule_ids)))
    if plan.rules_written:
        session.execute(
            insert(core_table(PriceRuleRow)),
            [price_rule_values(rule, publication_id) for rule in plan.rules_written.values()],
        )
    record_rule_versions(
        session,
        [price_rule_values(rule, publication_id) for rule in plan.rules_written.values()],
        removed=removed_rules,
        recorded_at=now,
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
    record_promotion_versions(
        session,
        plan.promotions_written.values(),
        removed=plan.promotions_removed - set(plan.promotions_written),
        recorded_at=now,
    )
    write_ledger_plan(
        session, plan.ledger, publication_id=publication_id, source="publication", now=now
    )
