"""The append-only ledger of applied prices, and the Omnibus prior price computed from it.

An entry says "from `effective_from` on, this (SKU, channel, store) was sold at `price`"
(and, with a `card_price`, "at `card_price` to loyalty-card holders"), or, withdrawn (no
price), "from then on it was not sold": a product delisted, a price that ended without a
successor. A withdrawn span charged nothing, so it never gives a prior
price, and a key relisted within the 30 days is compared only with its prices since.
Entries are only ever appended, in time order per key, so a later change never rewrites
what a customer was once shown; the prior price is computed from this history alone.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final, NamedTuple

from pricing.errors import CurrencyMismatchError, LedgerOrderError
from pricing.money import Money
from pricing.products import Channel
from pricing.windows import in_utc

if TYPE_CHECKING:
    from pricing.products import Product, Store
    from pricing.resolved import ResolvedPrice

__all__ = [
    "LONGEST_CLOCK_CHANGE",
    "PRIOR_PRICE_LOOKBACK",
    "LedgerEntry",
    "PriceKey",
    "PriceLedger",
    "PriorPrice",
    "PriorPriceBasis",
    "card_holder_ledger",
    "card_price_of",
    "due_card_prior_price",
    "due_prior_price",
    "key_on_sale_since",
    "key_recorded_since",
    "omnibus_prior_price",
    "reduction_started_at",
    "sold_before_its_ledger",
]

# Directive 98/6/EC art. 6a: the lowest price of the 30 days before the reduction.
PRIOR_PRICE_LOOKBACK: Final = timedelta(days=30)
# The law's period is "not shorter than 30 days", and 30 days on a store's wall clock are
# 721 hours when they span an autumn clock change (Warsaw's 25 October has 25 hours). The
# window opens this much earlier, so it is never shorter than 30 calendar days in any zone
# (no inhabited zone shifts its clocks by more than an hour) and is still one window per
# instant, whatever zone the instant is written in.
LONGEST_CLOCK_CHANGE: Final = timedelta(hours=1)


class PriorPriceBasis(StrEnum):
    """Which rule gave a prior price, and so what a label may call it."""

    # The lowest price of the 30 days before the reduction started (98/6/EC art. 6a (2)).
    LOWEST_30_DAYS = "lowest_30_days"
    # A product on sale for less than 30 days when the reduction started: the lowest price
    # since it went on sale (art. 6a (4); PL art. 4 ust. 3). Those days are fewer than 30,
    # so a label must not call it a 30-day low.
    LOWEST_SINCE_ON_SALE = "lowest_since_on_sale"
    # A perishable or short-dated product's price before the first of its current run of
    # reductions (98/6/EC art. 6a (3); PL art. 4 ust. 4): not a 30-day low, and a label
    # must not call it one (3.20 charged last week is lower than the 4.00 it shows).
    BEFORE_FIRST_REDUCTION = "before_first_reduction"


class PriorPrice(NamedTuple):
    """A prior price and the rule that gave it."""

    price: Money
    basis: PriorPriceBasis


class PriceKey(NamedTuple):
    """One shelf (or web/app listing): a SKU in a channel of a store.

    A NamedTuple rather than a frozen dataclass: change impact builds and hashes keys by
    the hundred thousand, and tuple construction and hashing run in C.
    """

    sku: str
    channel: Channel
    store: str

    def in_words(self) -> str:
        """The key as a message names it: `CHS-1 in store S03 (app channel)`."""
        return f"{self.sku} in store {self.store} ({self.channel.value} channel)"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A price that applied from `effective_from` until the key's next entry; withdrawn
    (`price` and `regular_price` None): no price applied from then on.

    `card_price`: the lower price loyalty-card holders paid meanwhile (a loyalty price,
    `card_price_of`), None when they paid `price` like everybody (or, for entries written
    before it was recorded, when it is not known). A card price is a reduction for the
    card's members, so its prior price is the lowest any card holder paid: read from
    `card_holder_ledger`.
    """

    key: PriceKey
    effective_from: datetime
    price: Money | None
    regular_price: Money | None
    promotion_id: str | None = None
    card_price: Money | None = None

    @classmethod
    def withdrawn(cls, key: PriceKey, *, effective_from: datetime) -> LedgerEntry:
        """From `effective_from` on, `key` had no price: nothing was charged."""
        return cls(key=key, effective_from=effective_from, price=None, regular_price=None)

    def __post_init__(self) -> None:
        effective_from = in_utc(self.effective_from, field="effective_from")
        if effective_from is not self.effective_from:
            object.__setattr__(self, "effective_from", effective_from)
        if self.price is None or self.regular_price is None:
            if self.price is not None or self.regular_price is not None:
                raise ValueError("a withdrawn ledger entry has neither price nor regular price")
            if self.card_price is not None:
                raise ValueError("a withdrawn ledger entry has no card price")
            return
        if self.price.currency != self.regular_price.currency:
            raise CurrencyMismatchError(
                "a ledger entry's price and regular price share one currency",
                left=self.price.currency,
                right=self.regular_price.currency,
            )
        if self.card_price is not None and self.card_price.currency != self.price.currency:
            raise CurrencyMismatchError(
                "a ledger entry's price and card price share one currency",
                left=self.price.currency,
                right=self.card_price.currency,
            )

    @property
    def is_withdrawn(self) -> bool:
        return self.price is None

    @property
    def is_reduced(self) -> bool:
        return (
            self.price is not None
            and self.regular_price is not None
            and self.price.amount < self.regular_price.amount
        )


class PriceLedger:
    """Applied prices per (SKU, channel, store), appended in time order, never rewritten."""

    __slots__ = ("_card_holders", "_entries", "_times")

    def __init__(self, entries: Iterable[LedgerEntry] = ()) -> None:
        self._entries: dict[PriceKey, list[LedgerEntry]] = {}
        self._times: dict[PriceKey, list[datetime]] = {}
        # `card_holder_ledger`'s view of a key, kept until the key's next entry.
        self._card_holders: dict[PriceKey, PriceLedger] = {}
        for entry in entries:
            self.append(entry)

    def append(self, entry: LedgerEntry) -> None:
        """Add `entry`; refuse one that is not strictly later than the key's last entry."""
        times = self._times.get(entry.key)
        self._card_holders.pop(entry.key, None)
        if times is None:
            self._entries[entry.key] = [entry]
            self._times[entry.key] = [entry.effective_from]
            return
        if entry.effective_from <= times[-1]:
            raise LedgerOrderError(
                f"{entry.key.in_words()}: the ledger already runs to {times[-1].isoformat()}; "
                f"an entry at {entry.effective_from.isoformat()} would rewrite the past",
                sku=entry.key.sku,
                channel=entry.key.channel.value,
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
        card_price = card_price_of(resolved)
        if (
            last is not None
            and last.price == resolved.price
            and last.regular_price == resolved.regular_price
            and last.card_price == card_price
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
            card_price=card_price,
        )
        self.append(entry)
        return entry

    def withdraw(self, key: PriceKey, *, at: datetime) -> LedgerEntry | None:
        """Append that `key` has no price from `at` on, unless the ledger already says so
        (or never priced it). Returns the new entry, or None."""
        last = self.entry_at(key, at)
        if last is None or last.is_withdrawn:
            return None
        entry = LedgerEntry.withdrawn(key, effective_from=at)
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


def card_price_of(resolved: ResolvedPrice) -> Money | None:
    """The price loyalty-card holders pay under `resolved`'s card price (a loyalty price
    below its price), or None: they pay its price, as everybody does. What a ledger
    entry records as its `card_price`."""
    promotion = resolved.promotion
    if promotion is None or not promotion.loyalty_only:
        return None
    card = promotion.effective_unit_price
    return card if card.amount < resolved.price.amount else None


def card_holder_ledger(ledger: PriceLedger, key: PriceKey) -> PriceLedger:
    """`key`'s entries as loyalty-card holders paid them: an entry's card price, where it
    has one, in the place of its price (a reduction of its regular price).

    A card price is a price reduction for the card's members (UOKiK on art. 4 of the PL
    act of 9 May 2014): its prior price is the lowest they paid in the 30 days before it,
    the shelf prices everybody paid and the earlier card prices alike, under the same
    window rules as a shelf reduction. So `omnibus_prior_price` reads it from this view.
    """
    # Kept per key until it changes: a planner or an audit prices each card-price label
    # of a key from it, and a year of daily prices copied for each would cost more than
    # the resolution itself.
    held = ledger._card_holders.get(key)
    if held is not None:
        return held
    holder = PriceLedger()
    ledger._card_holders[key] = holder
    entries = ledger._entries.get(key)
    if entries is None:
        return holder
    holder._entries[key] = [
        entry
        if entry.card_price is None
        else replace(entry, price=entry.card_price, card_price=None)
        for entry in entries
    ]
    holder._times[key] = list(ledger._times[key])
    return holder


def reduction_started_at(
    ledger: PriceLedger, *, key: PriceKey, price: Money, at: datetime
) -> datetime:
    """When the reduced `price` payable at `at` began to apply.

    If the ledger already shows `price` in force at `at` as a reduction, the reduction
    began where that unbroken run of `price` below its regular price began. Otherwise the
    reduction has not been applied yet (a label being prepared) and, as far as the ledger
    knows, it starts at `at`. The same amount charged earlier as the regular price is not
    part of the reduction: it is what the customer paid before it, so a "promotion" at the
    old regular price announces nothing.
    """
    times = ledger._times.get(key)
    if times is None:
        return at
    entries = ledger._entries[key]
    index = bisect_right(times, at) - 1
    if index < 0 or entries[index].price != price or not entries[index].is_reduced:
        return at
    while index > 0 and entries[index - 1].price == price and entries[index - 1].is_reduced:
        index -= 1
    return entries[index].effective_from


def omnibus_prior_price(
    ledger: PriceLedger,
    *,
    key: PriceKey,
    reduction_started: datetime,
    on_sale_since: datetime,
    perishable: bool,
    currency: str,
    ledger_since: datetime | None = None,
    price: Money | None = None,
    sold_before_its_ledger: bool = False,
) -> PriorPrice | None:
    """The price to show next to a reduction that started at `reduction_started`.

    - The lowest price that applied in the 30 days before the reduction started;
    - for products on sale for less than that, the lowest since they went on sale;
    - for perishable or short-dated products, the price before the first reduction of
      the current run of reductions (PL art. 4 ust. 4), when the ledger knows it. A rise
      ends a run: a price above the one charged just before it (2.00, then 3.00) is in no
      run, and gets the 30-day low; a reduction after a rise starts a new run.
    With the rule that gave it (`PriorPriceBasis`), which the label's caption states.
    `ledger_since`: the key's entries before it are another product's (a re-used SKU,
    `Product.ledger_since`), never this one's prices. The one in force then, inherited,
    is what this product's label showed until its own first entry: it alone never gives
    a prior price (an introductory price announces nothing), but where this product's own
    prices give one, it counts in the lowest for the time it applied within the window
    (`_inherited`), so it can only lower that prior price, never raise it.
    `price`: the price announced from `reduction_started`, which tells a rise from a
    reduction; None, the one the ledger records from then, if it does.
    `sold_before_its_ledger`: the key sold before its first entry at prices its ledger does
    not hold (`sold_before_its_ledger`): a low is known only where its first entry
    is at or before the window's start (for the option of a run, that run's window).
    None when the ledger holds nothing charged before the reduction (or in its window), or
    what the key charged in its window is unknown (as above). Raises
    `CurrencyMismatchError` when an entry it reads is not in `currency`.
    """
    times = ledger._times.get(key)
    if times is None:
        return None
    entries = ledger._entries[key]
    before = bisect_left(times, reduction_started)  # entries[:before] started earlier
    # entries[own:] are this product's: those of a re-used SKU before are another's.
    own = bisect_left(times, ledger_since) if ledger_since is not None else 0
    if before <= own or on_sale_since >= reduction_started:
        return None  # nothing was charged before the reduction (an introductory price)
    if perishable:
        if price is None and before < len(entries) and times[before] == reduction_started:
            price = entries[before].price
        index = _before_the_run(entries, price, before=before, own=own, currency=currency)
        # A price that ended before the product went on sale was never charged, and a
        # withdrawal ended the run: the product was relisted at a reduced price.
        regular = entries[index].price if index is not None and index >= own else None
        if (
            index is not None
            and regular is not None
            and (index + 1 == before or times[index + 1] > on_sale_since)
        ):
            # The option is for a run of reductions announced against the regular price
            # before it, not a way round the 30 days. A run whose price before it was
            # itself reduced (2.00, raised to 3.00, then 1.50) or a regular price raised
            # within the 30 days before the run began (3.50, 4.00 from day -10, a run
            # from day -3) is announced against the 30-day low of now, the general rule.
            # Earlier runs of markdowns in those 30 days (last week's evening markdown of
            # bread) do not count: each run is announced against the price before it.
            run_began = times[index + 1] if index + 1 < before else reduction_started
            regular = _in_currency(regular, currency)
            run_window_start = max(
                run_began - PRIOR_PRICE_LOOKBACK - LONGEST_CLOCK_CHANGE, on_sale_since
            )
            if (
                not entries[index].is_reduced
                and not (sold_before_its_ledger and times[0] > run_window_start)
                and not _regular_price_below(
                    entries,
                    times,
                    regular,
                    since=run_window_start,
                    until=run_began,
                    own=own,
                    ledger_since=ledger_since,
                    currency=currency,
                )
            ):
                return PriorPrice(regular, PriorPriceBasis.BEFORE_FIRST_REDUCTION)
    # Elapsed time, whatever zone the instant is written in: wall-clock arithmetic would
    # give the same instant two windows and two prior prices.
    thirty_days_before = reduction_started.astimezone(UTC) - PRIOR_PRICE_LOOKBACK
    window_start = max(thirty_days_before - LONGEST_CLOCK_CHANGE, on_sale_since)
    if sold_before_its_ledger and times[0] > window_start:
        return None  # what it charged in the window before its first entry is unknown
    # The entry in force when the window opened counts too, not only those inside it;
    # a withdrawn span charged nothing (a key relisted within the window is compared
    # with its prices since, as a product on sale for less than 30 days).
    first = max(bisect_right(times, window_start) - 1, own)
    charged = [
        _in_currency(entry.price, currency)
        for entry in entries[first:before]
        if entry.price is not None
    ]
    if not charged:
        return None
    # A re-used SKU: the price inherited at `ledger_since` alone gives no prior price, but
    # where the product's own prices give one, its label showed the product at that price
    # too, so it counts for the time it applied in the window: it can only lower the low.
    inherited = _inherited(
        entries,
        times,
        own=own,
        ledger_since=ledger_since,
        since=window_start,
        until=reduction_started,
    )
    if inherited is not None:
        charged.append(_in_currency(inherited, currency))
    basis = (
        PriorPriceBasis.LOWEST_SINCE_ON_SALE
        if on_sale_since > thirty_days_before
        else PriorPriceBasis.LOWEST_30_DAYS
    )
    return PriorPrice(min(charged, key=lambda m: m.amount), basis)


def _before_the_run(
    entries: list[LedgerEntry], price: Money | None, *, before: int, own: int, currency: str
) -> int | None:
    """The index of the entry in force before the first reduction of the run that the
    reduction to `price`, starting at `entries[before]`, belongs to; below `own` when the
    ledger does not know it; None when that reduction belongs to no run.

    A run of reductions is reductions one after another, each lowering the price: a price
    that rose (2.00, then 3.00, still below the regular 4.00) ended the run, so from the
    rise on nothing is "the price before the first reduction" (PL art. 4 ust. 4) but the
    30-day low, and a later reduction starts a new run from the raised price (3.00)."""
    index = before - 1
    previous = entries[index].price
    if price is not None and previous is not None and _rose(previous, price, currency=currency):
        return None
    while index >= own and entries[index].is_reduced:
        earlier = entries[index - 1].price if index > own else None
        current = entries[index].price
        if (
            earlier is not None
            and current is not None
            and _rose(earlier, current, currency=currency)
        ):
            break  # entries[index] raised the price: the run began with the next one
        index -= 1
    return index


def _regular_price_below(
    entries: list[LedgerEntry],
    times: list[datetime],
    amount: Money,
    *,
    since: datetime,
    until: datetime,
    own: int,
    ledger_since: datetime | None,
    currency: str,
) -> bool:
    """Whether a regular (not reduced) price below `amount` applied in `[since, until)`,
    counting the entry in force at `since`, among the key's own entries (`own` on) and the
    price a re-used SKU's product inherited at `ledger_since` for the time it applied
    (`_inherited`): the product's label showed it then, so a run of reductions after it
    is announced against the 30-day low, as after a rise of the product's own price."""
    first = max(bisect_right(times, since) - 1, own)
    last = bisect_left(times, until)
    considered = entries[first:last]
    inherited = _inherited(
        entries, times, own=own, ledger_since=ledger_since, since=since, until=until
    )
    if inherited is not None:
        considered.append(entries[own - 1])
    return any(
        entry.price is not None
        and not entry.is_reduced
        and _in_currency(entry.price, currency).amount < amount.amount
        for entry in considered
    )


def _inherited(
    entries: list[LedgerEntry],
    times: list[datetime],
    *,
    own: int,
    ledger_since: datetime | None,
    since: datetime,
    until: datetime,
) -> Money | None:
    """The price a re-used SKU's product inherited: the entry in force at `ledger_since`
    (the old product's), which its label showed from then until its own first entry
    (`entries[own]`), when that span meets `[since, until)`; None without a re-use, with
    nothing in force then or its own entry at `ledger_since` (nothing inherited), a
    withdrawal (nothing charged), or no own entry yet (it alone gives no prior price)."""
    if ledger_since is None or own == 0 or own >= len(entries):
        return None
    price = entries[own - 1].price
    if price is None or max(since, ledger_since) >= min(times[own], until):
        return None
    return price


def _rose(earlier: Money, later: Money, *, currency: str) -> bool:
    return _in_currency(later, currency).amount > _in_currency(earlier, currency).amount


def key_on_sale_since(key: PriceKey, *, product: Product, store: Store | None) -> datetime:
    """Since when `key` has been on sale: the product's `on_sale_since`, or, on the shelf
    of a store opened later (`Store.opened`), the store's opening. Its shelf sold the
    product those days only, so a reduction within 30 of them is compared with the lowest
    price since (PL art. 4 ust. 3; 98/6/EC art. 6a (4)), and is no 30-day low. The web and
    app listings sell chain-wide from the product's own date, whatever store they are
    keyed by. Known from the store (whose opening imported history moves back), never
    guessed from the key's first ledger entry: an installation without imported history
    would call every shelf new."""
    opened = store.opened if store is not None and key.channel is Channel.STORE else None
    if opened is None or opened <= product.on_sale_since:
        return product.on_sale_since
    return opened


def due_prior_price(
    ledger: PriceLedger,
    *,
    key: PriceKey,
    product: Product,
    store: Store | None,
    price: Money,
    at: datetime,
) -> PriorPrice | None:
    """The prior price a label announcing the reduced `price` at `at` must show, with the
    rule that gave it, which the label's caption states: the engine prints it, the audit
    checks labels against it, so both ask here (`store`: the key's store, whose opening
    may be later than the product's on-sale date)."""
    started = reduction_started_at(ledger, key=key, price=price, at=at)
    return omnibus_prior_price(
        ledger,
        key=key,
        reduction_started=started,
        on_sale_since=key_on_sale_since(key, product=product, store=store),
        perishable=product.perishable,
        currency=price.currency,
        ledger_since=product.ledger_since,
        price=price,
        sold_before_its_ledger=sold_before_its_ledger(key, product=product, store=store),
    )


def key_recorded_since(key: PriceKey, *, product: Product, store: Store | None) -> datetime | None:
    """Since when this installation has recorded `key`'s prices: the later of its
    product's and its store's creation here (`recorded_since`); None: as far back as the
    key sold (rows stored before either was kept, a sample whose history is complete)."""
    known = [
        since
        for since in (product.recorded_since, store.recorded_since if store else None)
        if since is not None
    ]
    return max(known) if known else None


def sold_before_its_ledger(key: PriceKey, *, product: Product, store: Store | None) -> bool:
    """Whether `key` may have sold before its ledger's first entry at prices the ledger
    does not hold. Its low is then known only once its entries (its own or imported
    history) cover the 30 days; until then no reduction is announced through it, rather
    than one against a low it cannot know. Two ways:

    - it was on sale (`key_on_sale_since`) before this installation recorded it
      (`key_recorded_since`): a chain installed without imported history, a store given
      an opening before its creation here, a product loaded with an `on_sale_since` in
      the past. What its shelf charged before is unknown; from the ledger alone a shelf
      sold before its first entry cannot be told from one that had no price before.
    - it is a web or app listing keyed by a store opened after its product went on sale.
      The listing sold chain-wide from the product's own date, but this key's ledger
      begins at the store's opening: a lower web price charged before (through the other
      stores' keys) is not in it. (The other stores' keys are not read instead: a web
      price may be set per store, so they need not be this listing's prices.)"""
    recorded = key_recorded_since(key, product=product, store=store)
    if recorded is not None and key_on_sale_since(key, product=product, store=store) < recorded:
        return True
    return (
        key.channel is not Channel.STORE
        and store is not None
        and store.opened is not None
        and store.opened > product.on_sale_since
    )


def due_card_prior_price(
    ledger: PriceLedger,
    *,
    key: PriceKey,
    product: Product,
    store: Store | None,
    card_price: Money,
    at: datetime,
) -> PriorPrice | None:
    """The prior price a label announcing the loyalty-card price `card_price` at `at`
    must show beside it: `due_prior_price` over what card holders paid
    (`card_holder_ledger`), from when that card price began for them."""
    return due_prior_price(
        card_holder_ledger(ledger, key),
        key=key,
        product=product,
        store=store,
        price=card_price,
        at=at,
    )


def _in_currency(price: Money, currency: str) -> Money:
    """`price`, refused when the ledger recorded it in another currency than the label's
    (a changed ESL_CURRENCY): amounts of two currencies are not comparable."""
    if price.currency != currency:
        raise CurrencyMismatchError(
            f"the ledger holds a price of {price} where the label's currency is {currency}",
            left=price.currency,
            right=currency,
        )
    return price
