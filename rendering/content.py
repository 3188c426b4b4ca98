"""What one label shows: product facts plus a resolved price, flattened for drawing.

`LabelContent` is the only input a template sees. Build it from the pricing engine's
values with `LabelContent.from_resolved`, or from the JSON a template designer writes
(`content_from_dict`; the format is in docs/templates.md). Its `fingerprint` digests
every field that can change a pixel, and is the content part of the render cache key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pricing import PriorPriceBasis, Product, ResolvedPrice, Store
from pricing.money import unit_price_places
from rendering.errors import ContentError
from rendering.glyph_coverage import describe_characters, undrawable_characters
from rendering.locale_texts import minor_digits, require_drawable_currency, require_locale
from rendering.locale_zones import locale_time_zone

__all__ = [
    "CARD_OFFERS",
    "CONDITIONAL_OFFERS",
    "LabelContent",
    "announces_reduction",
    "content_from_dict",
    "content_to_dict",
    "require_drawable",
    "shows_prior_price",
]

# Offers with a condition (buy several, show a card) leave the shelf price alone: their
# badge announces the offer, not a reduction of the price (docs/pricing.md).
CONDITIONAL_OFFERS = frozenset({"multi_buy", "buy_n_get_m", "loyalty_price"})
# A card price is a reduction for the card's members on a named product: beside its badge
# the label prints the lowest price card holders paid in the 30 days before it (UOKiK on
# art. 4 of the PL act of 9 May 2014; docs/pricing.md), when there is one, whether or not
# the card price is below it. Basket-conditional offers print none.
CARD_OFFERS = frozenset({"loyalty_price"})


@dataclass(frozen=True, slots=True)
class LabelContent:
    """Everything a label template can show. Amounts are in `currency`, already rounded.

    `regular_price` is set only when `price` is a reduction from it (it is drawn struck
    through); `prior_price` is the Omnibus prior price, and `prior_price_basis` the rule
    that gave it, which words its line: the lowest price of the 30 days before the
    reduction, or a perishable product's price before its first reduction. `valid_until`
    is the last day a promotion applies, in the store's time.
    """

    sku: str
    name: str
    currency: str
    price: Decimal
    brand: str = ""
    gtin: str = ""
    regular_price: Decimal | None = None
    prior_price: Decimal | None = None
    unit_price: Decimal | None = None
    unit_label: str | None = None
    offer_unit_price: Decimal | None = None  # per `unit_label` under a multi-buy/card offer
    promotion_text: str | None = None
    promotion_kind: str | None = None
    loyalty_only: bool = False
    valid_until: date | None = None
    web_url: str | None = None
    store_name: str | None = None
    locale: str = "pl_PL"
    prior_price_basis: PriorPriceBasis = PriorPriceBasis.LOWEST_30_DAYS

    @property
    def has_promotion(self) -> bool:
        return self.promotion_text is not None

    @property
    def is_reduced(self) -> bool:
        """Whether a struck-through price above the price is given."""
        return self.regular_price is not None and self.regular_price > self.price

    @property
    def announces_reduction(self) -> bool:
        """Whether the label announces a reduction: a struck-through price, or a badge of a
        promotion that is not a conditional offer (multi-buy, buy N get M, loyalty card).

        Such a label must show the prior price and measure any saving from it
        (rendering/announcements.py checks that before drawing).
        """
        return announces_reduction(
            price=self.price,
            regular_price=self.regular_price,
            promotion_text=self.promotion_text,
            promotion_kind=self.promotion_kind,
        )

    @property
    def shows_prior_price(self) -> bool:
        """Whether the label prints its prior-price line: beside an announced reduction,
        and beside a loyalty-card badge that has a prior price (`CARD_OFFERS`)."""
        return shows_prior_price(
            announced=self.announces_reduction,
            promotion_text=self.promotion_text,
            promotion_kind=self.promotion_kind,
            prior_price=self.prior_price,
        )

    @property
    def drawn(self) -> LabelContent:
        """This content with every field no template draws for it cleared: what the
        panel's pixels can tell (given the template and the display model).

        The layout draws from this and nothing else (`rendering.layout.layout_label`), so
        two contents of equal `drawn` draw the same label: the audit compares these
        (`drawn.fingerprint`) to judge a label by what it shows. Cleared here: the prior
        price and its rule when no reduction is announced nor a card price drawn (a plain
        price prints no prior-price line: docs/pricing.md), the struck-through price when it
        is not above the price, what belongs to a promotion (its kind, its last day) when no
        badge is drawn, the unit prices without a unit to print them with (and the unit
        without either), and `loyalty_only` always (the badge's text says it; the layout
        never reads it). Each field left may be drawn, so a difference left is kept, not
        judged: two labels of equal pixels may still differ here (a template that draws no
        brand), never the other way round.
        """
        prior = self.prior_price if self.shows_prior_price else None
        promoted = self.promotion_text is not None
        unit = self.unit_label or None
        unit_price = self.unit_price if unit else None
        offer_unit_price = self.offer_unit_price if unit else None
        return replace(
            self,
            regular_price=self.regular_price if self.is_reduced else None,
            prior_price=prior,
            prior_price_basis=self.prior_price_basis
            if prior is not None
            else PriorPriceBasis.LOWEST_30_DAYS,
            promotion_kind=self.promotion_kind if promoted else None,
            valid_until=self.valid_until if promoted else None,
            loyalty_only=False,
            unit_price=unit_price,
            offer_unit_price=offer_unit_price,
            unit_label=unit if unit_price is not None or offer_unit_price is not None else None,
        )

    @property
    def fingerprint(self) -> str:
        """Stable hex digest of every field: the content's identity.

        Everything a template can draw is a field, so two contents that draw differently
        never share it. The text form is explicit (never `hash()`) and unambiguous: JSON
        of each field's name and text, so no text in one field can pass for another
        field (as it could with a separator between them) and absent stays apart from
        empty.
        """
        values = [
            [name, None if value is None else str(value)]
            for name, value in zip(
                _FIELD_NAMES, (getattr(self, name) for name in _FIELD_NAMES), strict=True
            )
            # The basis came later: left out at its default, every content drawn before it
            # keeps its identity (and its label is not redrawn for nothing).
            if not (name == "prior_price_basis" and value is PriorPriceBasis.LOWEST_30_DAYS)
        ]
        text = json.dumps(["label-content-v2", values], ensure_ascii=False, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    @classmethod
    def from_resolved(
        cls,
        *,
        product: Product,
        price: ResolvedPrice,
        store: Store | None = None,
        locale: str,
        timezone: str | None = None,
    ) -> LabelContent:
        """The label for `product` at the price the engine resolved, dating a promotion's
        last day in `timezone` (None: the locale's, `locale_time_zone`; `ContentError`
        for a locale of no single zone)."""
        promotion = price.promotion
        last_day = None
        if promotion is not None and promotion.valid_until is not None:
            zone = _zone(timezone) if timezone else _locale_zone(locale)
            last_day = _last_day(promotion.valid_until, zone)
        was_price, badge = _announced_reduction(price)
        return cls(
            sku=product.sku,
            name=product.name,
            brand=product.brand,
            gtin=product.gtin,
            currency=price.currency,
            price=price.price.amount,
            regular_price=was_price,
            prior_price=price.prior_price.amount if price.prior_price else None,
            prior_price_basis=price.prior_price_basis or PriorPriceBasis.LOWEST_30_DAYS,
            unit_price=price.unit_price.amount if price.unit_price else None,
            unit_label=price.unit_label,
            offer_unit_price=promotion.offer_unit_price.amount
            if promotion is not None and promotion.offer_unit_price is not None
            else None,
            promotion_text=badge,
            promotion_kind=str(promotion.kind) if promotion else None,
            loyalty_only=promotion.loyalty_only if promotion else False,
            valid_until=last_day,
            web_url=product.web_url,
            store_name=store.name if store else None,
            locale=locale,
        )


def announces_reduction(
    *,
    price: Decimal,
    regular_price: Decimal | None,
    promotion_text: str | None,
    promotion_kind: str | None,
) -> bool:
    """`LabelContent.announces_reduction` from its fields, for a reader of a content's
    JSON form (the audit's recorded contents) that need not build the content."""
    if regular_price is not None and regular_price > price:
        return True
    return promotion_text is not None and promotion_kind not in CONDITIONAL_OFFERS


def shows_prior_price(
    *,
    announced: bool,
    promotion_text: str | None,
    promotion_kind: str | None,
    prior_price: Decimal | None,
) -> bool:
    """`LabelContent.shows_prior_price` from its fields, for a reader of a content's JSON
    form (the audit's recorded contents): `announced`, whether it announces a reduction
    (`announces_reduction`), or a loyalty-card badge with a prior price."""
    if announced:
        return True
    return promotion_text is not None and promotion_kind in CARD_OFFERS and prior_price is not None


def _announced_reduction(price: ResolvedPrice) -> tuple[Decimal | None, str | None]:
    """The struck-through "was" price and the badge text a label prints for `price`.

    A reduction is announced against the lowest price of the 30 days before it
    (Directive 98/6/EC art. 6a; CJEU C-330/23), never against the regular price: the
    struck-through price is the engine's prior price, and the badge is the engine's
    promotion text, which it measures from that same prior price. A reduction that saves
    nothing against the prior price is not announced at all: the engine gives it no
    text, so the label has no badge, no colour and nothing struck through.
    """
    promotion = price.promotion
    text = promotion.text if promotion else None
    if not price.announces_reduction:
        return None, text
    assert price.prior_price is not None
    return price.prior_price.amount, text


_FIELD_NAMES = tuple(field.name for field in fields(LabelContent))
_DRAWN_TEXTS = (
    ("product.name", "name"),
    ("product.brand", "brand"),
    ("product.sku", "sku"),
    ("price.unit_label", "unit_label"),
    ("price.promotion.text", "promotion_text"),
    ("store.name", "store_name"),
)


def require_drawable(content: LabelContent) -> None:
    """Refuse content the label font cannot draw (`ContentError` naming the field and the
    characters): a tofu box where a letter or a currency sign should be is never drawn."""
    require_locale(content.locale)
    require_drawable_currency(content.currency, content.locale)
    for field, name in _DRAWN_TEXTS:
        missing = undrawable_characters(getattr(content, name) or "")
        if missing:
            raise ContentError(field, f"the label font cannot draw {describe_characters(missing)}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ContentError("timezone", f"unknown time zone {name!r}") from error


def _locale_zone(locale: str) -> ZoneInfo:
    name = locale_time_zone(locale)
    if name is None:
        # Never UTC: a promotion ending 00:30 in Vienna would print the day before.
        raise ContentError(
            "timezone",
            f"no time zone to date a promotion's last day in: {locale!r} names no country "
            "of one zone; name it (the store's time_zone, else ESL_TIME_ZONE)",
        )
    return _zone(name)


def _last_day(valid_until: datetime, zone: ZoneInfo) -> date:
    # Windows end exclusively: a promotion until 00:00 on 1.12 is last valid on 30.11.
    last_moment = valid_until - timedelta(microseconds=1)
    try:
        return last_moment.astimezone(zone).date()
    except OverflowError:
        # An end in the calendar's last hours (an integrator's "for ever", 9999-12-31T23:30Z)
        # falls past its end in a zone east of UTC: valid through the calendar's last day.
        # A store cannot sell before year 1, so the other edge is no promotion's end.
        return date.max


# ---------------------------------------------------------------- JSON form


def content_from_dict(data: Mapping[str, object]) -> LabelContent:
    """Parse the JSON form documented in docs/templates.md; `ContentError` names the bad field."""
    product = _section(data, "product")
    price = _section(data, "price")
    store = _section(data, "store", required=False)
    promotion = _section(price, "promotion", required=False, prefix="price.")
    locale = _text(data, "locale", default="pl_PL")
    require_locale(locale)
    timezone = _text(data, "timezone") if data.get("timezone") is not None else None
    valid_until = None
    if promotion.get("valid_until") is not None:
        zone = _zone(timezone) if timezone is not None else None
        valid_until = _valid_until(promotion["valid_until"], zone, locale)
    promotion_text = _text(promotion, "text", default="", prefix="price.promotion.")
    currency = _text(price, "currency", prefix="price.")
    return LabelContent(
        sku=_text(product, "sku", prefix="product."),
        name=_text(product, "name", prefix="product."),
        brand=_text(product, "brand", default="", prefix="product."),
        gtin=_gtin(product.get("gtin")),
        web_url=_text(product, "web_url", default="", prefix="product.") or None,
        currency=currency,
        price=_amount(price, "price", currency=currency) or Decimal(0),
        regular_price=_amount(price, "regular_price", currency=currency, required=False),
        prior_price=_amount(price, "prior_price", currency=currency, required=False),
        prior_price_basis=_basis(price.get("prior_price_basis")),
        unit_price=_amount(price, "unit_price", currency=currency, required=False, unit_price=True),
        unit_label=_text(price, "unit_label", default="", prefix="price.") or None,
        offer_unit_price=_amount(
            price, "offer_unit_price", currency=currency, required=False, unit_price=True
        ),
        promotion_text=promotion_text or None,
        promotion_kind=_text(promotion, "kind", default="", prefix="price.promotion.") or None,
        loyalty_only=bool(promotion.get("loyalty_only", False)),
        valid_until=valid_until,
        store_name=_text(store, "name", default="", prefix="store.") or None,
        locale=locale,
    )


def content_to_dict(content: LabelContent) -> dict[str, object]:
    """The JSON form of `content`; `content_from_dict` reads it back to an equal value."""

    def amount(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    promotion: dict[str, object] | None = None
    if content.promotion_text is not None:
        promotion = {
            "text": content.promotion_text,
            "kind": content.promotion_kind,
            "loyalty_only": content.loyalty_only,
            "valid_until": content.valid_until.isoformat() if content.valid_until else None,
        }
    return {
        "locale": content.locale,
        "product": {
            "sku": content.sku,
            "name": content.name,
            "brand": content.brand,
            "gtin": content.gtin,
            "web_url": content.web_url,
        },
        "price": {
            "currency": content.currency,
            "price": amount(content.price),
            "regular_price": amount(content.regular_price),
            "prior_price": amount(content.prior_price),
            "prior_price_basis": content.prior_price_basis.value,
            "unit_price": amount(content.unit_price),
            "unit_label": content.unit_label,
            "offer_unit_price": amount(content.offer_unit_price),
            "promotion": promotion,
        },
        "store": {"name": content.store_name},
    }


_BASES = {basis.value: basis for basis in PriorPriceBasis}


def _basis(value: object) -> PriorPriceBasis:
    if value is None:
        return PriorPriceBasis.LOWEST_30_DAYS
    basis = _BASES.get(value) if isinstance(value, str) else None
    if basis is not None:
        return basis
    choices = ", ".join(f"{value!r}" for value in _BASES)
    raise ContentError("price.prior_price_basis", f"must be one of {choices}")


def _section(
    data: Mapping[str, object], key: str, *, required: bool = True, prefix: str = ""
) -> Mapping[str, object]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise ContentError(prefix + key, "must be an object")
    return value


def _text(
    data: Mapping[str, object], key: str, *, default: str | None = None, prefix: str = ""
) -> str:
    value = data.get(key)
    if value is None:
        if default is None:
            raise ContentError(prefix + key, "is required")
        return default
    if not isinstance(value, str):
        raise ContentError(prefix + key, "must be a string")
    return value


def _amount(
    data: Mapping[str, object],
    key: str,
    *,
    currency: str,
    required: bool = True,
    unit_price: bool = False,
) -> Decimal | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ContentError("price." + key, "is required")
        return None
    # Floats are refused for the same reason as in pricing: 0.1 + 0.2 is a wrong label.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ContentError("price." + key, 'must be a decimal string such as "12.99"')
    try:
        amount = Decimal(value)
    except InvalidOperation as error:
        raise ContentError("price." + key, f"not a number: {value!r}") from error
    if not amount.is_finite() or amount < 0:
        raise ContentError("price." + key, "must be a finite amount, not negative")
    # The label prints amounts rounded to the currency, and a rounding is no one's to do
    # silently: "6.985" against a prior "6.994" PLN printed as "6,99 zł" twice announced
    # a reduction of nothing (the pricing engine refuses such amounts alike).
    minor = minor_digits(currency)
    # A unit price below ten minor units keeps two significant digits, as pricing rounds
    # it ("0.0040" PLN a toothpick): rounded off, it would read 0,00 zł.
    places = unit_price_places(amount, places=minor) if unit_price else minor
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        unit = "no decimals" if places == 0 else f"{places} decimal place(s)"
        why = (
            f"its minor unit: {unit}"
            if places == minor
            else f"a unit price below ten minor units keeps two significant digits: {unit}"
        )
        raise ContentError(
            "price." + key, f"{amount} has more decimals than {currency} allows ({why})"
        )
    return amount


def _gtin(value: object) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not value.isdigit() or len(value) not in (8, 12, 13, 14):
        raise ContentError("product.gtin", "must be a string of 8, 12, 13 or 14 digits")
    return value


def _valid_until(value: object, zone: ZoneInfo | None, locale: str) -> date:
    """The last day of `value`, an ISO date or an instant dated in `zone` (None: the
    locale's, asked for only when an instant needs it)."""
    if not isinstance(value, str):
        raise ContentError("price.promotion.valid_until", "must be an ISO date or datetime")
    try:
        if "T" not in value:
            return date.fromisoformat(value)
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ContentError("price.promotion.valid_until", f"not ISO 8601: {value!r}") from error
    if instant.tzinfo is None:
        raise ContentError("price.promotion.valid_until", "a datetime needs a time zone")
    return _last_day(instant, zone or _locale_zone(locale))
