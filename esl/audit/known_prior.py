"""Since when a label has printed a wrong prior price, as far as the record can tell, and
the prior price its reduction's line is checked against (`reduction_shown_since`,
`card_price_shown`: where `due_prior_price` walks back from).

A label at the due price with another prior price than the due one keeps its image while
the record changes under it: imported history lowers the 30-day low of a reduction long
on the shelf, a product file puts the product on sale earlier or makes it perishable,
and the controller sends the corrected image within seconds. Such a label is wrong since
that change, not since its image. But only a change that found it right: a label drawn
wrong (or altered) was wrong from its image, and a change since (a year-old price
imported for its shelf) that leaves its due prior price as it was must not restart its
clock, else each such change keeps an unlawful shelf out of `--fail-after` for
another DURATION.

So the due prior price is worked out as the record knew it at each instant from the one
the label is known right from on (its first report of the image, or its due price's
start) and at each change after it: its shelf's ledger entries known by then (the later
of an entry's instant and when it was recorded, `store_ledger_known`), its product's
on-sale date, perishability and start of its own ledger as its version then gave them
(`product_versions`), and its store's opening as its version then kept (`store_versions`,
migration 0049; an opening moved back by a history import from before kept none, and is
told by that import's publication). The label is wrong since the first of these instants
at which that is not the prior price (and caption) it prints. None found: what made
another one due is none of these, and the caller dates it by the instant it started
from. Read for the few labels printing a wrong prior price.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.audit.classify import ShownContent
from esl.db.models import ProductVersionRow, PublicationRow, StoreVersionRow, core_table
from esl.db.repositories.chunks import in_chunks
from esl.db.repositories.ledger import store_ledger_known
from pricing import (
    Channel,
    LedgerEntry,
    Money,
    PriceKey,
    PriceLedger,
    PriorPrice,
    ResolvedPrice,
    due_card_prior_price,
    due_prior_price,
)
from pricing.errors import CurrencyMismatchError
from pricing.products import Product, Store

__all__ = ["KnownPriorPrices", "card_price_shown", "reduction_shown_since"]

_products = core_table(ProductVersionRow)
_publications = core_table(PublicationRow)
_stores = core_table(StoreVersionRow)
# A product's facts the due prior price reads (`pricing.ledger.due_prior_price`): when it
# went on sale, whether it is perishable, since when its SKU's ledger is its own.
_PRIOR_PRICE_FACTS = ("on_sale_since", "perishable", "ledger_since")


class KnownPriorPrices:
    """The record of the shelves (SKU, store code) of some labels printing a wrong prior
    price, by `at`, as it stood at each instant: in one query a chunk for their ledgers
    and one for their products' versions."""

    def __init__(
        self, session: Session, shelves: Collection[tuple[str, str]], *, at: datetime
    ) -> None:
        self._at = at
        self._ledger = store_ledger_known(session, shelves, at=at) if shelves else {}
        self._facts = _fact_versions(session, {sku for sku, _ in shelves}, at=at)
        stores = {store for _, store in shelves}
        self._openings = _opening_versions(session, stores, at=at)
        self._moved = _openings_moved(session, stores, self._openings, at=at)

    def wrong_since(
        self,
        shown: ShownContent,
        *,
        store: str,
        product: Product | None,
        known_store: Store | None,
        since: datetime,
    ) -> datetime | None:
        """The first instant, `since` or a change after it by `at` of what the due prior
        price of `shown`'s shelf in `store` is computed from, at which the prior price
        due as the record knew it then was not the one `shown` prints; None when it was
        at each. `product`, `known_store`: as they are now (their other facts)."""
        shelf = (shown.sku, store)
        openings = self._openings.get(store, [])
        for instant in [since, *self._changes(shelf, after=since)]:
            kept = _opening_at(known_store, openings, at=instant)
            then = _opened_then(kept, self._moved.get(store, ()), at=instant)
            if not self._printed_right(shown, shelf, product, then, at=instant):
                return instant
        return None

    def _changes(self, shelf: tuple[str, str], *, after: datetime) -> list[datetime]:
        """The instants after `after` and by `at` at which an entry of the shelf's ledger
        took effect as far as the record knew, or a version of its product gave another
        on-sale date, perishability or start of its own ledger (not its first: a product
        is as far as anyone knows as its first version says before it too), or a version
        of its store another opening (`PUT`, the store file, a history import), or a
        history import before store versions kept the opening moved it back
        (`_openings_moved`)."""
        entries = (known.known for known in self._ledger.get(shelf, ()))
        changed = _changed(self._facts.get(shelf[0], []))
        reopened = _changed(self._openings.get(shelf[1], []))
        moved = self._moved.get(shelf[1], ())
        instants = (*entries, *changed, *reopened, *moved)
        return sorted({t for t in instants if after < t <= self._at})

    def _printed_right(
        self,
        shown: ShownContent,
        shelf: tuple[str, str],
        product: Product | None,
        store: Store | None,
        *,
        at: datetime,
    ) -> bool:
        """Whether `shown` prints the prior price due to its reduction as the record knew
        it at `at`, as the audit checks it (`esl.audit.gather`): one that cannot be worked
        out (no card price known, a ledger in another currency) is no wrong one."""
        ledger = PriceLedger(
            known.entry for known in self._ledger.get(shelf, ()) if known.known <= at
        )
        key = PriceKey(shown.sku, Channel.STORE, shelf[1])
        then = self._product_at(product, shown.sku, at=at)
        try:
            if shown.announces_reduction:
                expected = (
                    due_prior_price(
                        ledger,
                        key=key,
                        product=then,
                        store=store,
                        price=Money(shown.price, shown.currency),
                        at=reduction_shown_since(ledger, key, shown, None, draws_due=False, at=at),
                    )
                    if then is not None
                    else None
                )
            else:
                card = card_price_shown(ledger, key, shown, None, draws_due=False, at=at)
                if card is None or then is None:
                    return True
                expected = due_card_prior_price(
                    ledger, key=key, product=then, store=store, card_price=card[0], at=card[1]
                )
        except CurrencyMismatchError:
            return True
        return _prints(shown, expected)

    def _product_at(self, product: Product | None, sku: str, *, at: datetime) -> Product | None:
        """`product` with the facts its prior price reads as its version at `at` gave
        them (its first version's before that; as it is without versions)."""
        versions = self._facts.get(sku)
        if product is None or not versions:
            return product
        facts = versions[0][1]
        for started, then in versions:
            if started > at:
                break
            facts = then
        return replace(product, **dict(zip(_PRIOR_PRICE_FACTS, facts, strict=True)))


def _prints(shown: ShownContent, expected: PriorPrice | None) -> bool:
    """Whether `shown` prints `expected` under its caption (`check_prior_price`)."""
    shown_basis = shown.prior_price_basis if shown.prior_price is not None else None
    if expected is None:
        return shown.prior_price is None and shown_basis is None
    return shown.prior_price == expected.price.amount and shown_basis == expected.basis


def _changed(versions: Sequence[tuple[datetime, Any]]) -> Iterator[datetime]:
    """The starts of the versions (oldest first: start, what the due prior price reads)
    that changed what it reads, not the first."""
    for (started, facts), (_, before) in zip(versions[1:], versions, strict=False):
        if facts != before:
            yield started


def _opening_at(
    store: Store | None, openings: Sequence[tuple[datetime, datetime | None]], *, at: datetime
) -> Store | None:
    """`store` with the opening its version at `at` kept (its first version's before
    that: as far as anyone knows it was so before too; as it is without versions)."""
    if store is None or not openings:
        return store
    opened = openings[0][1]
    for started, then in openings:
        if started > at:
            break
        opened = then
    return store if opened == store.opened else replace(store, opened=opened)


def _opened_then(store: Store | None, moved: Collection[datetime], *, at: datetime) -> Store | None:
    """`store` as the record knew it at `at`: before a history import moved its opening
    back and kept no store version of it (`moved`: when each did, before migration 0049),
    its opening was later than it is, and is not kept; it is taken as the store's
    creation here, the opening a store is given by default."""
    if store is None or store.recorded_since is None or not any(at < t for t in moved):
        return store
    if store.opened is not None and store.opened >= store.recorded_since:
        return store
    return replace(store, opened=store.recorded_since)


def _openings_moved(
    session: Session,
    stores: Collection[str],
    openings: Mapping[str, Sequence[tuple[datetime, datetime | None]]],
    *,
    at: datetime,
) -> dict[str, list[datetime]]:
    """Store code -> when, by `at`, imported history moved its opening back and kept no
    store version of it (an import before migration 0049; `openings`: the stores' kept
    openings by version): the publication each such import recorded names it
    (`stores_opened_earlier`), the one record of that move."""
    found: dict[str, list[datetime]] = defaultdict(list)
    if not stores:
        return found
    rows = session.execute(
        select(_publications.c.published_at, _publications.c.impact).where(
            _publications.c.kind == "import",
            _publications.c.published_at <= at,
        )
    )
    for published_at, impact in rows:
        moved = impact.get("stores_opened_earlier") if isinstance(impact, dict) else None
        for code in moved if isinstance(moved, list) else ():
            kept = any(started == published_at for started, _ in openings.get(code, ()))
            if code in stores and not kept:
                found[code].append(published_at)
    return found


def _opening_versions(
    session: Session, stores: Collection[str], *, at: datetime
) -> Mapping[str, list[tuple[datetime, datetime | None]]]:
    """Store code -> its versions by `at`, oldest first: when each began, and the opening
    it kept (migration 0049 gave the versions before it the store's opening then)."""
    found: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for chunk in in_chunks(sorted(stores)):
        rows = session.execute(
            select(_stores.c.store, _stores.c.valid_from, _stores.c.opened)
            .where(_stores.c.store.in_(chunk), _stores.c.valid_from <= at)
            .order_by(_stores.c.store, _stores.c.valid_from)
        )
        for code, valid_from, opened in rows:
            found[code].append((valid_from, opened))
    return found


def _fact_versions(
    session: Session, skus: Collection[str], *, at: datetime
) -> Mapping[str, list[tuple[datetime, tuple[Any, ...]]]]:
    """SKU -> its product's versions by `at`, oldest first: when each began, and the
    facts its prior price reads (`_PRIOR_PRICE_FACTS`)."""
    found: dict[str, list[tuple[datetime, tuple[Any, ...]]]] = defaultdict(list)
    facts = [_products.c[name] for name in _PRIOR_PRICE_FACTS]
    for chunk in in_chunks(sorted(skus)):
        rows = session.execute(
            select(_products.c.sku, _products.c.valid_from, *facts)
            .where(_products.c.sku.in_(chunk), _products.c.valid_from <= at)
            .order_by(_products.c.sku, _products.c.valid_from)
        )
        for sku, valid_from, *values in rows:
            found[sku].append((valid_from, tuple(values)))
    return found


def reduction_shown_since(
    ledger: PriceLedger,
    key: PriceKey,
    shown: ShownContent,
    due: ResolvedPrice | None,
    *,
    draws_due: bool,
    at: datetime,
) -> datetime:
    """When `key`'s store began charging the reduction `shown` announces (its price under
    its regular price), at or before `at`: the instant `due_prior_price` walks back from,
    dated by the label's own store's ledger, as `card_price_shown` dates a card price.

    The run due at `at` when the label shows the due reduction (its amounts, for the due
    promotion or drawing just what the due label draws: `draws_due`, its pixels are the
    due label's whichever run it was drawn for); the ledger may not have recorded it yet
    (a scheduled instant just arrived), and is then dated at `at`, as the engine priced
    it, not by an earlier run of the same reduction. Else (a label left on an ended
    reduction, or on an earlier run of the same one) the run in force when the label's
    price was resolved (`ShownContent.priced_at`), in this store's ledger: labels of
    several stores may share one contents row (a template that draws no store name),
    priced for the first store's reduction, so only the instant is taken from it.
    Failing that, the newest run at or before `at`; a reduction the ledger never charged
    is dated at `at`.

    Only an entry charging the shown price as a reduction of the shown regular price is
    that reduction: the same amount charged since as the list price (a promotion ended by
    bringing the list price down to it) or charged before as a regular price is not."""
    current = ledger.entry_at(key, at)
    promotion = due.promotion if due is not None else None
    if (
        due is not None
        and due.price.amount == shown.price
        and due.regular_price.amount == shown.regular_price
        and ((promotion.id if promotion else None) == shown.promotion_id or draws_due)
    ):
        return current.effective_from if current is not None and _charges(current, shown) else at
    if shown.priced_at is not None and shown.priced_at <= at:
        drawn = ledger.entry_at(key, shown.priced_at)
        if drawn is not None and _charges(drawn, shown):
            return drawn.effective_from
    for entry in reversed(ledger.entries(key)):
        if entry.effective_from <= at and _charges(entry, shown):
            return entry.effective_from
    return at


def card_price_shown(
    ledger: PriceLedger,
    key: PriceKey,
    shown: ShownContent,
    due: ResolvedPrice | None,
    *,
    draws_due: bool,
    at: datetime,
) -> tuple[Money, datetime] | None:
    """The loyalty-card price the card badge of `shown` states, and an instant it applied
    at, at or before `at`: where `due_card_prior_price` walks back from.

    The due card price when the label shows it beside the due shelf price, for the due
    promotion or drawing just what the due label draws (`draws_due`: its pixels are the
    due label's, whatever promotion it was drawn for); the ledger may not have recorded
    it yet (a scheduled instant just arrived, as the engine priced it). Else the card
    price the badge states as `key`'s store charged it (a label left on an ended or
    changed card price): the run of it in force when the label's price was resolved, or
    else the newest run of that card price, whatever card price was charged since. None
    when the badge states none that can be read, or the ledger knows none: nothing to
    check against."""
    stated = shown.card_price
    if stated is None:
        return None
    promotion = due.promotion if due is not None else None
    if (
        due is not None
        and promotion is not None
        and promotion.loyalty_only
        and (promotion.id == shown.promotion_id or draws_due)
        and promotion.effective_unit_price.amount == stated
        and due.price.amount == shown.price
    ):
        return promotion.effective_unit_price, at

    def charged(entry: LedgerEntry | None) -> Money | None:
        """`entry`'s card price when it is the one stated."""
        card = entry.card_price if entry is not None else None
        return card if card is not None and card.amount == stated else None

    if shown.priced_at is not None and shown.priced_at <= at:
        drawn = ledger.entry_at(key, shown.priced_at)
        card = charged(drawn)
        if drawn is not None and card is not None:
            return card, drawn.effective_from
    for entry in reversed(ledger.entries(key)):
        card = charged(entry)
        if entry.effective_from <= at and card is not None:
            return card, entry.effective_from
    return None


def _charges(entry: LedgerEntry, shown: ShownContent) -> bool:
    """Whether `entry` charged the reduction `shown` announces."""
    return (
        entry.is_reduced
        and entry.price is not None
        and entry.regular_price is not None
        and entry.price.amount == shown.price
        and entry.regular_price.amount == shown.regular_price
    )
