"""Unit prices (Directive 98/6/EC): the price per kg, l, m or piece, or per 100 g / 100 ml
where the label's country allows it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Final

from pricing.label_text import label_language, label_territory
from pricing.money import Money, UnitMoney
from pricing.products import NetUnit, Product

__all__ = ["PER_HUNDRED_TERRITORIES", "UnitPrice", "unit_price"]


@dataclass(frozen=True, slots=True)
class UnitPrice:
    price: UnitMoney  # two significant digits at least: never 0.00 for a cheap piece
    label: str  # "1 kg", "100 g", "1 szt.", "1 Stück"


# The litre is written out: a lone "l" beside "1" reads as "11", "1 I" or "1 |" on a
# shelf label (in Fira Sans, as in most sans faces, l, I and | are one plain stem;
# measured with tesseract, docs/templates.md). "100 ml" keeps its symbol, which reads.
_LITRE: Final = {"pl": "1 litr", "en": "1 litre", "de": "1 Liter"}

# net unit -> (how many net units make the reference quantity, label per language)
_PER_BASE_UNIT: Final[dict[NetUnit, tuple[Decimal, dict[str, str]]]] = {
    NetUnit.G: (Decimal(1000), {"pl": "1 kg", "en": "1 kg", "de": "1 kg"}),
    NetUnit.KG: (Decimal(1), {"pl": "1 kg", "en": "1 kg", "de": "1 kg"}),
    NetUnit.ML: (Decimal(1000), _LITRE),
    NetUnit.L: (Decimal(1), _LITRE),
    NetUnit.M: (Decimal(1), {"pl": "1 m", "en": "1 m", "de": "1 m"}),
    NetUnit.PCS: (Decimal(1), {"pl": "1 szt.", "en": "1 pc", "de": "1 Stück"}),
}
_PER_HUNDRED: Final[dict[NetUnit, tuple[Decimal, dict[str, str]]]] = {
    NetUnit.G: (Decimal(100), {"pl": "100 g", "en": "100 g", "de": "100 g"}),
    NetUnit.KG: (Decimal("0.1"), {"pl": "100 g", "en": "100 g", "de": "100 g"}),
    NetUnit.ML: (Decimal(100), {"pl": "100 ml", "en": "100 ml", "de": "100 ml"}),
    NetUnit.L: (Decimal("0.1"), {"pl": "100 ml", "en": "100 ml", "de": "100 ml"}),
}

# The countries whose law lets a label state the unit price per 100 g / 100 ml (the
# product's `unit_price_per_100`), "a unit widely and customarily used" there (Directive
# 98/6/EC art. 2 (c)): Poland and the United Kingdom (Price Marking Order 2004). Germany
# does not since 28 May 2022 (PAngV § 5 (1): 1 kg, 1 l, 1 m, 1 m², 1 m³ only; the former
# 100 g / 100 ml option for small packs was dropped). Per kg / l is the directive's base
# and lawful everywhere, so a country not checked here (AT, CH, IE, ...) gets it.
PER_HUNDRED_TERRITORIES: Final = frozenset({"PL", "GB"})


@lru_cache(maxsize=256)
def _convention(locale: str) -> tuple[str, bool]:
    """`locale`'s label language, and whether its country allows a unit price per 100."""
    return label_language(locale), label_territory(locale) in PER_HUNDRED_TERRITORIES


def unit_price(
    product: Product,
    *,
    price: Money,
    locale: str,
    omit_when_equal: bool = True,
    exact: Decimal | None = None,
) -> UnitPrice | None:
    """The unit price of `product` sold at `price`, rounded once; None when it equals `price`.

    Rounded by `round_unit_price`: to the minor unit, or to two significant digits when
    it is smaller than ten minor units (1000 toothpicks at 3.99 zł: 0.0040 zł a piece).

    A 500 g pack at 6.49 PLN costs 12.98 PLN per kg; a 1 kg pack shows no unit price,
    because the law asks for one only when it tells the customer something new. A
    multi-buy label compares the unit price of a single item with the offer's, so it asks
    for both even when one equals the price (`omit_when_equal=False`).
    `exact` is the unrounded amount `price` was rounded from, when there is one (a
    bundle's share: "3 za 10 zł" is 3.3333 zł an item); the unit price is computed from
    it, so it is rounded once (10/3 per 500 g is 6.67 zł/kg, not 3.33 x 2 = 6.66).
    `product.unit_price_per_100` is followed only where `locale`'s country allows it
    (`PER_HUNDRED_TERRITORIES`): a 100 g bar at 1.49 EUR is "100 g" nowhere in de_DE but
    "1 kg = 14,90 €".
    """
    language, per_hundred_allowed = _convention(locale)
    table = _PER_HUNDRED if product.unit_price_per_100 and per_hundred_allowed else _PER_BASE_UNIT
    reference, labels = table[product.net_unit]
    amount = price.amount if exact is None else exact
    per_unit = UnitMoney(amount * reference / product.net_content, price.currency)
    if omit_when_equal and per_unit.amount == price.amount:
        return None
    return UnitPrice(price=per_unit, label=labels[language])
