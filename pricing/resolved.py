"""The result of resolution: everything a shelf label or a web shop shows for one key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from pricing.ledger import PriceKey, PriorPriceBasis
from pricing.money import Money, UnitMoney
from pricing.products import Channel
from pricing.promotions import PromotionSummary
from pricing.rules import PriceScope

__all__ = ["LabelContent", "ResolvedPrice", "label_fingerprint"]


class LabelContent(NamedTuple):
    """The label fields of a resolution that do not name the key: `ResolvedPrice`'s fields
    from `currency` on, and the label locale they were written for. Resolution memoises
    these per SKU and rule (`pricing.catalogue.SkuPricing`)."""

    currency: str
    regular_price: Money
    price: Money
    promotion: PromotionSummary | None
    prior_price: Money | None
    prior_price_basis: PriorPriceBasis | None
    saving: Money | None
    saving_percent: Decimal | None
    unit_price: UnitMoney | None
    unit_label: str | None
    price_rule_id: str
    price_scope: PriceScope
    fingerprint: str
    locale: str


@dataclass(frozen=True, slots=True)
class ResolvedPrice:
    """The price of one (SKU, channel, store) at one instant, and how to show it.

    `price` is what one unit costs at the till without conditions; `promotion` may be a
    conditional offer (multi-buy, loyalty card) that leaves `price` equal to
    `regular_price` and carries its own effective unit price. `prior_price`, `saving` and
    `saving_percent` are set only when `price` is a reduction (the Omnibus rule), or for
    a loyalty-card price, a reduction for the card's members (then measured from the
    card price, the saving only when there is one); a shelf reduction is announced only
    when `announces_reduction`, and a label prints the prior-price line when
    `shows_prior_price`. `prior_price_basis` says which rule gave
    `prior_price` (the 30-day low, or a perishable product's price before its first
    reduction), which decides what the label calls it.
    `fingerprint` digests every label-visible field and nothing else: equal fingerprints
    mean an identical label, whichever rule produced it.
    """

    sku: str
    channel: Channel
    store: str
    at: datetime
    currency: str
    regular_price: Money
    price: Money
    promotion: PromotionSummary | None
    prior_price: Money | None
    prior_price_basis: PriorPriceBasis | None
    saving: Money | None
    saving_percent: Decimal | None
    unit_price: UnitMoney | None
    unit_label: str | None
    price_rule_id: str
    price_scope: PriceScope
    fingerprint: str

    @property
    def key(self) -> PriceKey:
        return PriceKey(self.sku, self.channel, self.store)

    @property
    def is_reduced(self) -> bool:
        return self.price.amount < self.regular_price.amount

    @property
    def announces_reduction(self) -> bool:
        """Whether a label or web page may announce this price as a reduction.

        Only a price below the Omnibus prior price may be (badge, colour, struck-through
        price, percentage), and then always with that prior price and the saving measured
        from it. A reduction that saves nothing against the 30-day low is shown as a
        plain price.
        """
        return (
            self.is_reduced
            and self.prior_price is not None
            and self.prior_price.amount > self.price.amount
        )

    @property
    def shows_prior_price(self) -> bool:
        """Whether its label prints the prior-price line: beside an announced reduction,
        and beside a loyalty-card price that has a prior price (a reduction for the card's
        members, drawn whether or not it saves anything against it: docs/pricing.md)."""
        if self.announces_reduction:
            return True
        promotion = self.promotion
        return promotion is not None and promotion.loyalty_only and self.prior_price is not None


def _money_text(value: Money | None) -> str:
    return "-" if value is None else f"{value.amount}"


def _prior_text(prior: Money | None, basis: PriorPriceBasis | None) -> str:
    # The 30-day low is written as it was before the basis was a field, so upgrading
    # redraws no label whose caption stays the same.
    if basis is None or basis is PriorPriceBasis.LOWEST_30_DAYS:
        return _money_text(prior)
    return f"{_money_text(prior)} {basis.value}"


def label_fingerprint(shown: LabelContent | ResolvedPrice) -> str:
    """A stable hex digest of the label-visible fields of `shown` (blake2b-128): the
    fields from `currency` to `unit_label` (the prior price with its basis, which words
    its caption); not the key, the rule or the locale.

    Stable across processes and versions of Python: built from an explicit text form,
    never from `hash()` or `repr()` of objects.
    """
    promotion = shown.promotion
    parts = [
        "v1",
        shown.currency,
        _money_text(shown.regular_price),
        _money_text(shown.price),
        _prior_text(shown.prior_price, shown.prior_price_basis),
        _money_text(shown.saving),
        "-" if shown.saving_percent is None else str(shown.saving_percent),
        _money_text(shown.unit_price),
        shown.unit_label or "-",
    ]
    if promotion is not None:
        parts += [
            promotion.name,
            str(promotion.kind),
            promotion.text or "-",
            "-"
            if promotion.valid_until is None
            else promotion.valid_until.astimezone(UTC).isoformat(),
            _money_text(promotion.effective_unit_price),
            str(promotion.min_quantity),
            "1" if promotion.loyalty_only else "0",
            _money_text(promotion.offer_unit_price),
        ]
    text = "\x1f".join(parts)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
