"""Filling a ledger from a catalogue's own history, as if labels had been updated on time."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime

from pricing.catalogue import Catalogue
from pricing.errors import NoApplicablePriceError
from pricing.ledger import PriceKey, PriceLedger
from pricing.products import Channel
from pricing.resolution import resolve_key
from pricing.windows import in_utc

__all__ = ["all_price_keys", "replay_history"]


def all_price_keys(catalogue: Catalogue) -> list[PriceKey]:
    """Every (SKU, channel, store) of the catalogue, in a stable order."""
    return [
        PriceKey(sku, channel, store)
        for sku in sorted(catalogue.products)
        for channel in Channel
        for store in sorted(catalogue.stores)
    ]


def replay_history(
    catalogue: Catalogue,
    *,
    ledger: PriceLedger,
    since: datetime,
    until: datetime,
    keys: Iterable[PriceKey] | None = None,
    locale: str,
) -> int:
    """Record into `ledger` what applied at `since` and at every boundary up to `until`.

    This is what a controller that updated every label on time would have appended, so
    a fresh installation (or a demo) gets a truthful 30-day history. A key that loses its
    price at an instant gets a withdrawn entry (nothing was charged from then on).
    Returns the number of entries appended.
    """
    since = in_utc(since, field="since")
    until = in_utc(until, field="until")
    boundaries = catalogue.boundaries()
    instants = [since]
    instants += [b for b in boundaries[bisect_right(boundaries, since) :] if b <= until]
    chosen = list(keys) if keys is not None else all_price_keys(catalogue)
    appended = 0
    for at in instants:
        for key in chosen:
            if (last := ledger.entry_at(key, at)) is not None and last.effective_from == at:
                continue
            try:
                resolved = resolve_key(catalogue, key, at=at, ledger=ledger, locale=locale)
            except NoApplicablePriceError:
                if ledger.withdraw(key, at=at) is not None:
                    appended += 1
                continue
            if ledger.record(resolved) is not None:
                appended += 1
    return appended
