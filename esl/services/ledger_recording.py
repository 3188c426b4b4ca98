"""Recording applied prices: what changed between two catalogues at an instant, as entries.

Used by publications and by price imports alike, so both leave the ledger right for the
30-day prior price.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.mapping import ledger_entry_values
from esl.db.models import LedgerEntryRow, core_table
from pricing.catalogue import Catalogue
from pricing.errors import EslError, NoApplicablePriceError
from pricing.impact import change_impact
from pricing.ledger import LedgerEntry, PriceKey, PriceLedger
from pricing.resolution import resolve_key

__all__ = ["LedgerPlan", "plan_ledger", "write_ledger_entries"]

# Which keys changed is judged on their resolved labels, and resolving writes label texts
# in some locale. The ledger records amounts and promotions, which every locale shows:
# a change in them changes the label in any locale, so the answer is the same in all.
LEDGER_TEXT_LOCALE = "pl_PL"

WRITE_BATCH = 5_000


@dataclass(slots=True)
class LedgerPlan:
    changed_keys: list[PriceKey] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)


def plan_ledger(
    before: Catalogue, after: Catalogue, *, at: datetime, ledger: PriceLedger, into: LedgerPlan
) -> None:
    """Add to `into` every key whose label changes at `at`, and the entry its new price needs.

    `ledger` is appended to as entries are planned; an entry that would rewrite the past
    (the key's ledger already runs beyond `at`) becomes a problem instead.
    """
    changed = change_impact(before, after, at=at, ledger=ledger, locale=LEDGER_TEXT_LOCALE)
    for key in sorted(changed, key=lambda k: (k.sku, k.store, k.channel.value)):
        into.changed_keys.append(key)
        try:
            resolved = resolve_key(after, key, at=at, ledger=ledger, locale=LEDGER_TEXT_LOCALE)
        except NoApplicablePriceError:
            continue  # the key lost its price: nothing applies, nothing to record
        try:
            entry = ledger.record(resolved)
        except EslError as error:
            into.problems.append(
                {
                    "item": None,
                    "reason": error.message,
                    "code": error.code,
                    "sku": key.sku,
                    "channel": key.channel.value,
                    "store": key.store,
                }
            )
            continue
        if entry is not None:
            into.entries.append(entry)


def write_ledger_entries(
    session: Session,
    entries: Iterable[LedgerEntry],
    *,
    publication_id: int | None,
    source: str,
    now: datetime,
) -> int:
    rows = [
        ledger_entry_values(entry, source=source, publication_id=publication_id, recorded_at=now)
        for entry in entries
    ]
    return insert_rows(session, core_table(LedgerEntryRow), rows)
