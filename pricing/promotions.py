"""Promotions: what they target, what they do to a regular price, what the label says."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pricing.errors import InvalidPromotionError, PercentOutOfRangeError
from pricing.label_text import LABEL_TEXTS, format_label_money, format_percent, label_language
from pricing.money import Money, UnitMoney
from pricing.products import Channel
from pricing.windows import keep_window_in_utc

__all__ = [
    "KIND_FIELDS",
    "SHELF_PRICE_KINDS",
    "Promotion",
    "PromotionKind",
    "PromotionSummary",
    "amount_off_short_text",
    "amount_off_text",
    "announced_reduction_text",
    "promotion_text",
    "promotional_unit_price",
    "refuse_no_target",
    "refuse_unused_terms",
    "unused_terms",
]


class PromotionKind(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    FIXED_PRICE = "fixed_price"
    MULTI_BUY = "multi_buy"  # "N for X"
    BUY_N_GET_M = "buy_n_get_m"  # "N+M free"
    LOYALTY_PRICE = "loyalty_price"


# Kinds that change what one unit costs at the till for everybody. The others are
# conditional (buy several, show a card): the shelf price stays, the label adds a text
# and an effective unit price (a card price with its own prior price: `has_prior_price`).
SHELF_PRICE_KINDS = frozenset(
    {PromotionKind.PERCENT_OFF, PromotionKind.AMOUNT_OFF, PromotionKind.FIXED_PRICE}
)
_HUNDRED = Decimal(100)

# The terms each kind reads. A term its kind does not read is refused, not stored and
# ignored: "-10 % at 3" written as a percent_off with quantity 3 would be labelled -10 %
# on one carton while the till, reading the condition, charges the regular price.
KIND_FIELDS: Mapping[PromotionKind, frozenset[str]] = {
    PromotionKind.PERCENT_OFF: frozenset({"percent"}),
    PromotionKind.AMOUNT_OFF: frozenset({"amount"}),
    PromotionKind.FIXED_PRICE: frozenset({"amount"}),
    PromotionKind.MULTI_BUY: frozenset({"amount", "quantity"}),
    PromotionKind.BUY_N_GET_M: frozenset({"quantity", "free_quantity"}),
    PromotionKind.LOYALTY_PRICE: frozenset({"amount"}),
}
# Which kind a term belongs to, told with the refusal of a kind that does not read it.
_KIND_OF_TERM = {
    "percent": "a percentage off is a percent_off",
    "amount": (
        "an amount off is an amount_off, a promotional price a fixed_price or "
        "loyalty_price, a bundle price a multi_buy"
    ),
    "quantity": "an offer conditional on quantity is a multi_buy or buy_n_get_m",
    "free_quantity": "units given free are a buy_n_get_m",
}


@dataclass(frozen=True, slots=True)
class Promotion:
    """A promotion over SKUs and/or categories, optionally limited to channels and stores.

    Empty `channels` means every channel; empty `zones` and `stores` mean every store,
    otherwise a store qualifies when it is listed or its zone is. What `amount` means
    depends on `kind`: the reduction (amount_off), the promotional price (fixed_price,
    loyalty_price) or the price of the bundle (multi_buy, "`quantity` for `amount`").
    buy_n_get_m reads "buy `quantity`, get `free_quantity` free".
    """

    id: str
    name: str
    kind: PromotionKind
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    channels: frozenset[Channel] = frozenset()
    zones: frozenset[str] = frozenset()
    stores: frozenset[str] = frozenset()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    priority: int = 0
    exclusive: bool = False
    percent: Decimal | None = None
    amount: Money | None = None
    quantity: int | None = None
    free_quantity: int | None = None

    def __post_init__(self) -> None:
        for name in ("skus", "categories", "channels", "zones", "stores"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))
        if not isinstance(self.kind, PromotionKind):
            object.__setattr__(self, "kind", PromotionKind(self.kind))
        try:
            object.__setattr__(self, "channels", frozenset(Channel(c) for c in self.channels))
        except ValueError:
            self._refuse(f"unknown channel in {sorted(self.channels)}", field="channels")
        refuse_no_target(self.id, self.skus, self.categories)
        keep_window_in_utc(self)
        self._check_kind_fields()

    def _refuse(self, reason: str, *, field: str) -> None:
        raise InvalidPromotionError(
            f"promotion {self.id}: {reason}", promotion_id=self.id, field=field, reason=reason
        )

    def _check_kind_fields(self) -> None:
        kind = self.kind
        refuse_unused_terms(self.id, kind, self)
        if kind is PromotionKind.PERCENT_OFF:
            if self.percent is None or not isinstance(self.percent, Decimal):
                self._refuse("percent_off needs a percent", field="percent")
            assert self.percent is not None
            if not (0 < self.percent <= _HUNDRED) or not self.percent.is_finite():
                raise PercentOutOfRangeError(
                    f"promotion {self.id}: percent must be in (0, 100], got {self.percent}",
                    promotion_id=self.id,
                    percent=str(self.percent),
                )
            return
        if kind is PromotionKind.BUY_N_GET_M:
            if self.quantity is None or self.quantity < 1:
                self._refuse("buy_n_get_m needs quantity >= 1", field="quantity")
            if self.free_quantity is None or self.free_quantity < 1:
                self._refuse("buy_n_get_m needs free_quantity >= 1", field="free_quantity")
            return
        if self.amount is None:
            self._refuse(f"{kind} needs an amount", field="amount")
        assert self.amount is not None
        if self.amount.amount <= 0:
            self._refuse(f"{kind} needs an amount above zero", field="amount")
        if kind is PromotionKind.MULTI_BUY and (self.quantity is None or self.quantity < 2):
            self._refuse("multi_buy needs a quantity of at least 2", field="quantity")

    @property
    def changes_shelf_price(self) -> bool:
        return self.kind in SHELF_PRICE_KINDS

    @property
    def has_prior_price(self) -> bool:
        """Whether its label shows the Omnibus prior price, read from the ledger: a
        reduction of the shelf price, or a loyalty-card price (a reduction for the card's
        members); a multi-buy or buy-N-get-M offer, conditional on the basket, shows none."""
        return self.changes_shelf_price or self.kind is PromotionKind.LOYALTY_PRICE

    @property
    def min_quantity(self) -> int:
        if self.kind is PromotionKind.MULTI_BUY:
            return self.quantity or 1
        if self.kind is PromotionKind.BUY_N_GET_M:
            return (self.quantity or 0) + (self.free_quantity or 0)
        return 1

    def applies_to_store(self, store: str, zone: str | None) -> bool:
        if not self.stores and not self.zones:
            return True
        return store in self.stores or (zone is not None and zone in self.zones)

    def applies_to_channel(self, channel: Channel) -> bool:
        return not self.channels or channel in self.channels


def unused_terms(kind: PromotionKind, terms: Any) -> list[str]:
    """The terms (`percent`, `amount`, `quantity`, `free_quantity`) given on `terms` (a
    promotion, a stored row) that `kind` does not read, in that order."""
    return [
        term
        for term in _KIND_OF_TERM
        if term not in KIND_FIELDS[kind] and getattr(terms, term) is not None
    ]


def refuse_no_target(promotion_id: str, skus: Collection[str], categories: Collection[str]) -> None:
    """InvalidPromotionError (field `skus`) for a promotion that targets no SKU and no
    category: it would reach nothing (zones, stores and channels narrow where a target is
    promoted; they are none). A promotion checks itself so, as the promotion file's line
    is read; a publication's item is checked so when posted, before it is stored."""
    if not skus and not categories:
        reason = "targets no SKU and no category"
        raise InvalidPromotionError(
            f"promotion {promotion_id}: {reason}",
            promotion_id=promotion_id,
            field="skus",
            reason=reason,
        )


def refuse_unused_terms(
    promotion_id: str, kind: PromotionKind, terms: Any, **context: object
) -> None:
    """InvalidPromotionError naming the first term given on `terms` that `kind` does not
    read, and the kind that reads it (`context`: more fields for the error, such as the
    item of a publication). A promotion checks itself so; a publication's item is checked
    before it is stored, as the promotion it would become."""
    for term in unused_terms(kind, terms):
        reason = f"{kind} takes no {term} ({_KIND_OF_TERM[term]})"
        raise InvalidPromotionError(
            f"promotion {promotion_id}: {reason}",
            promotion_id=promotion_id,
            field=term,
            reason=reason,
            **context,
        )


def promotional_unit_price(promotion: Promotion, *, regular: Money) -> Decimal:
    """What one unit effectively costs under `promotion`, unrounded.

    For buy_n_get_m and multi_buy this is the bundle price shared over its units. The
    caller rounds once. The result can be compared with `regular` to validate.
    """
    kind = promotion.kind
    if kind is PromotionKind.PERCENT_OFF:
        assert promotion.percent is not None
        return regular.amount * (_HUNDRED - promotion.percent) / _HUNDRED
    if kind is PromotionKind.BUY_N_GET_M:
        assert promotion.quantity is not None
        assert promotion.free_quantity is not None
        return regular.amount * promotion.quantity / (promotion.quantity + promotion.free_quantity)
    assert promotion.amount is not None
    if kind is PromotionKind.AMOUNT_OFF:
        return regular.amount - promotion.amount.amount
    if kind is PromotionKind.MULTI_BUY:
        assert promotion.quantity is not None
        return promotion.amount.amount / promotion.quantity
    return promotion.amount.amount  # fixed_price, loyalty_price


def promotion_text(promotion: Promotion, *, locale: str) -> str:
    """The short label text: "-20%", "2 za 10 zł", "2+1 gratis", "Z kartą 8,99 zł", in
    `locale`'s words and its way of writing money ("2 für € 5" in de_AT)."""
    texts = LABEL_TEXTS[label_language(locale)]
    kind = promotion.kind
    if kind is PromotionKind.PERCENT_OFF:
        assert promotion.percent is not None
        return f"-{format_percent(promotion.percent, locale=locale)}%"
    if kind is PromotionKind.BUY_N_GET_M:
        return texts.buy_n_get_m.format(quantity=promotion.quantity, free=promotion.free_quantity)
    assert promotion.amount is not None
    money = format_label_money(
        promotion.amount.amount,
        promotion.amount.currency,
        locale=locale,
        drop_zero_decimals=True,
    )
    if kind is PromotionKind.AMOUNT_OFF:
        return texts.amount_off.format(money=money)
    if kind is PromotionKind.MULTI_BUY:
        return texts.multi_buy.format(quantity=promotion.quantity, money=money)
    if kind is PromotionKind.LOYALTY_PRICE:
        return texts.loyalty_offer.format(money=money)
    return texts.special_offer


def announced_reduction_text(
    promotion: Promotion,
    *,
    saving: Money | None,
    saving_percent: Decimal | None,
    locale: str,
) -> str | None:
    """The text of a shelf-price reduction, measured from the Omnibus prior price, or None.

    A label or web page that announces a reduction must show the lowest price of the 30
    days before it and measure the saving from it (Directive 98/6/EC art. 6a; CJEU
    C-330/23), so "-20%" off the regular price becomes "-14%" when the price was lower
    last week. A reduction that saves nothing against the prior price (or whose prior
    price the ledger cannot tell) may not be announced at all: None, and the label shows
    the price plainly, without badge, colour or anything struck through.
    """
    if saving is None or saving_percent is None or saving.amount <= 0:
        return None
    texts = LABEL_TEXTS[label_language(locale)]
    if promotion.kind is PromotionKind.PERCENT_OFF and saving_percent >= 1:
        return f"-{saving_percent:f}%"
    if promotion.kind is PromotionKind.AMOUNT_OFF:
        return amount_off_text(saving, locale=locale)
    return texts.special_offer


def amount_off_text(saving: Money, *, locale: str) -> str:
    """The badge of an "amount off" reduction: "Taniej o 1 000 zł", "1.000 € billiger",
    "€ 1.000 billiger" (de_AT), "£1,000 off". The renderer's Omnibus check takes this text
    as the lawful statement of `saving` (rendering/announcements.py), so the two never
    disagree."""
    money = format_label_money(
        saving.amount, saving.currency, locale=locale, drop_zero_decimals=True
    )
    return LABEL_TEXTS[label_language(locale)].amount_off.format(money=money)


def amount_off_short_text(text: str, *, locale: str) -> str | None:
    """The "amount off" badge `text` in fewer words (`LabelTexts.amount_off_short`):
    "Taniej o 1 234,56 zł" -> "-1 234,56 zł", "1.234,56 € billiger" -> "-1.234,56 €",
    "£1,234.56 off" -> "-£1,234.56"; None for a text that is not the locale's
    `amount_off` wording around an amount. The amount is cut from `text` as written, so
    the fewer words state the saving `text` states, character for character; the
    renderer reads the wording it draws against the prior price all the same
    (rendering/announcements.py). For a label that cannot draw `text` at its display's
    smallest legible size (rendering/layout.py)."""
    texts = LABEL_TEXTS[label_language(locale)]
    before, _, after = texts.amount_off.partition("{money}")
    if len(text) <= len(before) + len(after):
        return None
    if not (text.startswith(before) and text.endswith(after)):
        return None
    money = text[len(before) : len(text) - len(after)]
    if money != money.strip() or not any(character.isdigit() for character in money):
        return None
    return texts.amount_off_short.format(money=money)


@dataclass(frozen=True, slots=True)
class PromotionSummary:
    """What a label shows of the promotion that applies.

    `text` is None for a shelf-price promotion that may not be announced (it saves
    nothing against the 30-day prior price): the price is shown, the offer is not.
    """

    id: str
    name: str
    kind: PromotionKind
    text: str | None
    valid_until: datetime | None
    effective_unit_price: Money
    min_quantity: int
    loyalty_only: bool
    # What the product's unit (1 kg, 100 g, 1 l ...) costs under a conditional offer
    # (multi-buy, buy N get M, loyalty card), beside the single item's unit price.
    offer_unit_price: UnitMoney | None = None

    @property
    def changes_shelf_price(self) -> bool:
        """Whether it sets the price of one unit (`Promotion.changes_shelf_price`); a
        conditional offer leaves that at the regular price."""
        return self.kind in SHELF_PRICE_KINDS
