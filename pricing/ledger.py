"""The append-only ledger of applied prices, and the Omnibus prior price computed from it.

An entry says "from `effective_from` on, this (SKU, channel, store) was sold at `price`".
Entries are only ever appended, in time order per key, so a later change never rewrites
what a customer was once shown; the prior price is computed from this history alone.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple

from pricing.errors import CurrencyMismatchError, LedgerOrderError
from pricing.money import Money
from pricing.products import Channel
from pricing.windows import require_aware

if TYPE_CHECKING:
    from pricing.resolved import ResolvedPrice

__all__ = [
    "PRIOR_PRICE_LOOKBACK",
    "LedgerEntry",
    "PriceKey",
    "PriceLedger",
    "lowest_prior_price",
    "reduction_started_at",
]

# Directive 98/6/EC art. 6a: the lowest price of the 30 days before the reduction.
PRIOR_PRICE_LOOKBACK: Final = timedelta(days=30)


class PriceKey(NamedTuple):
    """One shelf (or web/app listing): a SKU in a channel of a store.

    A NamedTuple rather than a frozen dataclass: change impact builds and hashes keys by
    the hundred thousand, and tuple construction and hashing run in C.
    """

    sku: str
    channel: Channel
    store: str


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A price that applied from `effective_from` until the key's next entry."""

    key: PriceKey
    effective_from: datetime
    price: Money
    regular_price: Money
    promotion_id: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.effective_from, field="effective_from")
        if self.price.currency != self.regular_price.currency:
            raise CurrencyMismatchError(
                "a ledger entry's price and regular price share one currency",
                left=self.price.currency,
                right=self.regular_price.currency,
            )

    @property
    def is_reduced(self) -> bool:
        return self.price.amount < self.regular_price.amount


class PriceLedger:
    """Applied prices per (SKU, channel, store), appended in time order, never rewritten."""

    __slots__ = ("_entries", "_times")

    def __init__(self, entries: Iterable[LedgerEntry] = ()) -> None:
        self._entries: dict[PriceKey, list[LedgerEntry]] = {}
        self._times: dict[PriceKey, list[datetime]] = {}
        for entry in entries:
            self.append(entry)

    def append(self, entry: LedgerEntry) -> None:
        """Add `entry`; refuse one that is not strictly later than the key's last entry."""
        times = self._times.get(entry.key)
        if times is None:
            self._entries[entry.key] = [entry]
            self._times[entry.key] = [entry.effective_from]
            return
        if entry.effective_from <= times[-1]:
            raise LedgerOrderError(
                f"{entry.key}: the ledger already runs to {times[-1].isoformat()}; "
                f"an entry at {entry.effective_from.isoformat()} would rewrite the past",
                sku=entry.key.sku,
                channel=str(entry.key.channel),
                store=entry.key.store,
                last=times[-1].isoformat(),
                attempted=entry.effective_from.isoformat(),
            )
        self._entries[entry.key].append(entry)
        times.append(entry.effective_from)

    def record(self, resolved: ResolvedPrice) -> LedgerEntry | None:
        """Append what `resolved` says now applies, unless the ledger already says so.

        Returns the new entry, or None when the applied price did not change.
        """
        key = PriceKey(resolved.sku, resolved.channel, resolved.store)
        last = self.entry_at(key, resolved.at)
        if (
            last is not None
            and last.price == resolved.price
            and last.regular_price == resolved.regular_price
        ):
            return None
        entry = LedgerEntry(
            key=key,
            effective_from=resolved.at,
            price=resolved.price,
            regular_price=resolved.regular_price,
            promotion_id=resolved.promotion.id
            if resolved.promotion is not None and resolved.price != resolved.regular_price
            else None,
        )
        self.append(entry)
        return entry

    def entries(self, key: PriceKey) -> tuple[LedgerEntry, ...]:
        return tuple(self._entries.get(key, ()))

    def entry_at(self, key: PriceKey, at: datetime) -> LedgerEntry | None:
        """The entry in force at `at`, or None before the key's first entry."""
        times = self._times.get(key)
        if times is None:
            return None
        index = bisect_right(times, at) - 1
        return self._entries[key][index] if index >= 0 else None

    def keys(self) -> frozenset[PriceKey]:
        return frozenset(self._entries)

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())


def reduction_started_at(
    ledger: PriceLedger, *, key: PriceKey, price: Money, at: datetime
) -> datetime:
    """When the reduced `price` payable at `at` began to apply.

    If the ledger already shows `price` in force at `at`, the reduction began where that
    unbroken run of `price` began. Otherwise the price has not been applied yet (a label
    being prepared) and, as far as the ledger knows, the reduction starts at `at`.
    """
    times = ledger._times.get(key)
    if times is None:
        return at
    entries = ledger._entries[key]
    index = bisect_right(times, at) - 1
    if index < 0 or entries[index].price != price:
        return at
    while index > 0 and entries[index - 1].price == price:
        index -= 1
    return entries[index].effective_from


def lowest_prior_price(
    ledger: PriceLedger,
    *,
    key: PriceKey,
    reduction_started: datetime,
    on_sale_since: datetime,
    perishable: bool,
) -> Money | None:
    """The price to show next to a reduction that started at `reduction_started`.

    - The lowest price that applied in the 30 days before the reduction started;
    - for products on sale for less than that, the lowest since they went on sale;
    - for perishable or short-dated products, the price before the first reduction of
      the current run of reductions (PL art. 4 ust. 4), when the ledger knows it.
    None when the ledger holds nothing before the reduction.
    """
    times = ledger._times.get(key)
    if times is None:
        return None
    entries = ledger._entries[key]
    before = bisect_left(times, reduction_started)  # entries[:before] started earlier
    if before == 0:
        return None
    if perishable:
        index = before - 1
        while index >= 0 and entries[index].is_reduced:
            index -= 1
        if index >= 0:
            return entries[index].price
    window_start = max(reduction_started - PRIOR_PRICE_LOOKBACK, on_sale_since)
    # The entry in force when the window opened counts too, not only those inside it.
    first = min(max(bisect_right(times, window_start) - 1, 0), before - 1)
    return min((entry.price for entry in entries[first:before]), key=lambda m: m.amount)
