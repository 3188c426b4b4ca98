"""The ledger's refusals in a pricing manager's words, one per SKU.

The ledger takes one entry per (SKU, channel, store) and instant: a change whose entry
would land where another change already recorded one (a price file and a publication at
the same instant, two publications racing) is refused. `plan_ledger` notes one refusal
per key, a national price of two SKUs in six stores and three channels eighteen of
them; what the person who made the change can act on is which SKUs, where, recorded by
which change, and what to do: that is one sentence per SKU here, which a publication
gives each item that changed the SKU and a price or promotion file the SKU's first line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import LedgerEntryRow, PublicationRow
from pricing.products import Channel

__all__ = [
    "LEDGER_ORDER",
    "SkuRefusal",
    "ledger_refusals_by_sku",
    "refusal_reason",
    "refusals_in_words",
]

LEDGER_ORDER = "ledger_order"
# Stores named in a reason; the rest are counted ("and 40 more stores").
MAX_NAMED_STORES = 5
# What the entry's source says when no publication recorded it.
_SOURCE_WORDS = {
    "history": "a history file",
    "scheduled": "an instant that arrived by itself",
    "store": "a store's zone move",
    "product": "a product's category move",
}
_CHANNEL_ORDER = [channel.value for channel in Channel]


@dataclass(slots=True)
class SkuRefusal:
    """The ledger's refusals of one SKU's entries: where, at which instants the ledger
    already held an entry, and which changes recorded those."""

    sku: str
    stores: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    held_at: set[datetime] = field(default_factory=set)
    recorded_by: set[str] = field(default_factory=set)

    def problem_fields(self) -> dict[str, Any]:
        return {"sku": self.sku, "stores": sorted(self.stores)}


def ledger_refusals_by_sku(
    session: Session, problems: Iterable[Mapping[str, Any]]
) -> tuple[dict[str, SkuRefusal], list[dict[str, Any]]]:
    """The `ledger_order` problems of `problems` (as `plan_ledger` notes them, one per
    key) by SKU, with the changes that recorded the entries they collide with; and the
    other problems as they were."""
    refusals: dict[str, SkuRefusal] = {}
    others: list[dict[str, Any]] = []
    keys: set[tuple[str, str, str, datetime]] = set()
    for problem in problems:
        if problem.get("code") != LEDGER_ORDER or "held_at" not in problem:
            others.append(dict(problem))
            continue
        sku, channel, store = str(problem["sku"]), str(problem["channel"]), str(problem["store"])
        held_at = datetime.fromisoformat(str(problem["held_at"]))
        refusal = refusals.setdefault(sku, SkuRefusal(sku))
        refusal.stores.add(store)
        refusal.channels.add(channel)
        refusal.held_at.add(held_at)
        keys.add((sku, channel, store, held_at))
    recorders = _recorders(session, keys)
    for sku, channel, store, held_at in keys:
        refusals[sku].recorded_by.add(recorders.get((sku, channel, store, held_at), ""))
    return refusals, others


def refusals_in_words(
    session: Session, problems: Iterable[Mapping[str, Any]], *, then: str
) -> list[dict[str, Any]]:
    """`problems` with the ledger's refusals one per SKU, in words ending with `then`
    (what a price or promotion file's author does: its lines name SKUs, not items)."""
    refusals, others = ledger_refusals_by_sku(session, problems)
    in_words = [
        {"sku": sku, "reason": refusal_reason([refusal], then=then), "code": LEDGER_ORDER}
        for sku, refusal in sorted(refusals.items())
    ]
    return in_words + others


def refusal_reason(refusals: Sequence[SkuRefusal], *, then: str) -> str:
    """One sentence for the refusals of one item or line, ending with what to do, `then`."""
    parts = [_sku_words(refusal) for refusal in sorted(refusals, key=lambda r: r.sku)]
    return "; ".join(parts) + f": {then}"


def _sku_words(refusal: SkuRefusal) -> str:
    instants = ", ".join(at.isoformat() for at in sorted(refusal.held_at))
    stores = sorted(refusal.stores)
    named = ", ".join(stores[:MAX_NAMED_STORES])
    if len(stores) > MAX_NAMED_STORES:
        named += f" and {len(stores) - MAX_NAMED_STORES} more"
    where = f"store{'s' if len(stores) > 1 else ''} {named}"
    channels = [c for c in _CHANNEL_ORDER if c in refusal.channels]
    channel_words = (
        f"{channels[0]} channel"
        if len(channels) == 1
        else f"{', '.join(channels[:-1])} and {channels[-1]} channels"
    )
    recorders = sorted(by for by in refusal.recorded_by if by)
    by = "another change" + (f" ({'; '.join(recorders)})" if recorders else "")
    return (
        f"{refusal.sku} already has a price recorded at {instants} in {where} "
        f"({channel_words}) by {by}, and the ledger takes one per instant"
    )


def _recorders(
    session: Session, keys: set[tuple[str, str, str, datetime]]
) -> dict[tuple[str, str, str, datetime], str]:
    """Which change recorded the stored entry at each of `keys`, in words; a key whose
    entry is not stored (one planned in the same change) is left out."""
    if not keys:
        return {}
    rows = session.execute(
        select(
            LedgerEntryRow.sku,
            LedgerEntryRow.channel,
            LedgerEntryRow.store,
            LedgerEntryRow.effective_at,
            LedgerEntryRow.source,
            LedgerEntryRow.publication_id,
        ).where(
            LedgerEntryRow.sku.in_({sku for sku, _, _, _ in keys}),
            LedgerEntryRow.effective_at.in_({at for _, _, _, at in keys}),
        )
    ).all()
    publication_ids = {row.publication_id for row in rows if row.publication_id is not None}
    titles: dict[int, str] = {}
    if publication_ids:
        for publication_id, title in session.execute(
            select(PublicationRow.id, PublicationRow.title).where(
                PublicationRow.id.in_(publication_ids)
            )
        ):
            titles[publication_id] = title
    found: dict[tuple[str, str, str, datetime], str] = {}
    for row in rows:
        key = (row.sku, row.channel, row.store, row.effective_at)
        if key not in keys:
            continue
        if row.publication_id is not None:
            title = titles.get(row.publication_id, "")
            found[key] = f'publication {row.publication_id}, "{title}"'
        else:
            found[key] = _SOURCE_WORDS.get(row.source, row.source)
    return found
