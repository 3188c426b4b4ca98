"""The price rules' and promotions' history as recorded: a version written with every
rule or promotion created, changed or deleted, in the writer's transaction, valid from
the instant of the write (`price_rule_versions`, `promotion_versions`).

A rule is mutable: a price file row of the same identity updates it in place, and a row
may claim a start already passed. The shelf charged what the record held then, which the
ledger recorded; an audit or a quote of a past instant prices with these versions
(`esl.db.repositories.rules`), not with today's rules."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import false, literal, select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.mapping import promotion_target_values, promotion_values
from esl.db.models import PriceRuleRow, PriceRuleVersionRow, PromotionVersionRow, core_table
from esl.db.repositories.chunks import in_chunks
from esl.db.repositories.rules import PROMOTION_FACTS
from esl.db.types import UtcDateTime
from pricing.promotions import Promotion

__all__ = [
    "record_promotion_versions",
    "record_rule_versions",
    "record_stored_rule_versions",
    "skus_of_rules",
]

_RULE_FACTS = ("sku", "amount", "currency", "channel", "zone", "store", "valid_from", "valid_until")
_rules = core_table(PriceRuleRow)
_versions = core_table(PriceRuleVersionRow)
# From this many rules written on, one pass over the stored rules by publication beats
# IN lists by id (the same threshold as the price file's read of the stored rules).
WHOLE_TABLE_FROM = 10_000


def skus_of_rules(session: Session, rule_ids: Iterable[str]) -> dict[str, str]:
    """Rule id -> its SKU, of the stored rules of `rule_ids`: read before a deletion, so
    the deletion's version names the SKU a past instant looks it up by."""
    found: dict[str, str] = {}
    for chunk in in_chunks(sorted(set(rule_ids))):
        rows = session.execute(select(_rules.c.id, _rules.c.sku).where(_rules.c.id.in_(chunk)))
        found.update((rule_id, sku) for rule_id, sku in rows)
    return found


def record_rule_versions(
    session: Session,
    written: Iterable[Mapping[str, Any]],
    *,
    removed: Mapping[str, str] | None = None,
    recorded_at: datetime,
) -> None:
    """Record each of `written` (`price_rules` rows, `id` and the rule's facts) as it is
    from `recorded_at` on, and each of `removed` (rule id -> SKU) as deleted then."""
    rows = [
        {"rule_id": r["id"], "recorded_at": recorded_at, "removed": False}
        | {name: r[name] for name in _RULE_FACTS}
        for r in written
    ]
    rows += [
        {"rule_id": rule_id, "recorded_at": recorded_at, "removed": True, "sku": sku}
        | dict.fromkeys(_RULE_FACTS[1:])
        for rule_id, sku in sorted((removed or {}).items())
    ]
    insert_rows(session, _versions, rows)


def record_stored_rule_versions(
    session: Session, rule_ids: Collection[str], *, publication_id: int, recorded_at: datetime
) -> None:
    """Record the stored rules of `rule_ids`, all just written by `publication_id`, as
    they are from `recorded_at` on: copied inside the database (INSERT ... SELECT), as
    `record_rule_versions` would write them from Python.

    A 100,000-row price file spent a third of its time handing the same values to the
    driver a second time, each row a dict, each amount and instant bound again; the copy
    takes a tenth of that. The versions are then the stored values exactly."""
    if not rule_ids:
        return
    copied = select(
        _rules.c.id,
        literal(recorded_at, UtcDateTime()),
        false(),
        *(_rules.c[name] for name in _RULE_FACTS),
    )
    into = ["rule_id", "recorded_at", "removed", *_RULE_FACTS]
    if len(rule_ids) >= WHOLE_TABLE_FROM:
        # Only this write's rules carry its publication: no IN list of 100,000 ids.
        statement = copied.where(_rules.c.publication_id == publication_id)
        session.execute(_versions.insert().from_select(into, statement))
        return
    for chunk in in_chunks(sorted(rule_ids)):
        statement = copied.where(_rules.c.id.in_(chunk))
        session.execute(_versions.insert().from_select(into, statement))


def record_promotion_versions(
    session: Session,
    written: Iterable[Promotion],
    *,
    removed: Iterable[str] = (),
    recorded_at: datetime,
) -> None:
    """Record each of `written` (complete, every target) as it is from `recorded_at` on,
    and each of `removed` (promotion ids) as deleted then."""
    rows: list[dict[str, Any]] = []
    for promotion in written:
        values = promotion_values(promotion, None)
        del values["publication_id"]
        values["promotion_id"] = values.pop("id")
        targets = [[t["dimension"], t["value"]] for t in promotion_target_values(promotion)]
        rows.append(values | {"recorded_at": recorded_at, "removed": False, "targets": targets})
    empty = dict.fromkeys((*PROMOTION_FACTS, "targets"))
    rows += [
        empty | {"promotion_id": promotion_id, "recorded_at": recorded_at, "removed": True}
        for promotion_id in sorted(set(removed))
    ]
    insert_rows(session, core_table(PromotionVersionRow), rows)
