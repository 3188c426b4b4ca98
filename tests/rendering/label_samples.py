"""A few hand-written labels the rendering tests and golden images share."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from rendering.announcements import announcement_problems
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.layout import layout_label
from rendering.templates import default_template

PLAIN = LabelContent(
    sku="100234",
    name="Masło ekstra Łaciate 82% tłuszczu, kostka",
    brand="Mlekpol",
    gtin="5900820000196",
    currency="PLN",
    price=Decimal("7.49"),
    unit_price=Decimal("37.45"),
    unit_label="1 kg",
    web_url="https://sklep.example.pl/p/100234",
    store_name="Warszawa Mokotów",
)

PROMOTION = replace(
    PLAIN,
    price=Decimal("5.99"),
    # Omnibus: the struck-through price and the saving are taken from the 30-day low.
    regular_price=Decimal("6.99"),
    prior_price=Decimal("6.99"),
    unit_price=Decimal("29.95"),
    promotion_text="-14%",
    promotion_kind="percent_off",
    valid_until=date(2026, 11, 30),
)

# 200 g at 7,49 zł (37,45 zł/kg); two for 10 zł is 25,00 zł/kg in the offer.
MULTI_BUY = replace(
    PLAIN,
    promotion_text="2 za 10 zł",
    promotion_kind="multi_buy",
    offer_unit_price=Decimal("25.00"),
)

LONG = replace(
    PROMOTION,
    name="Żółć gęślą jaźń: przecier pomidorowy z bazylią i czosnkiem niedźwiedzim "
    "w szklanym słoiku z zakrętką, opakowanie zbiorcze dwanaście sztuk",
    brand="Przetwórnia Owoców i Warzyw Źródło Smaku Spółdzielnia Pracy",
    price=Decimal("99999.99"),
    regular_price=Decimal("123456.78"),
    prior_price=Decimal("110000.00"),
    promotion_text="Kup 3 zapłać za 2 z kartą lojalnościową Super Klient",
)


def reduction_label(
    locale: str,
    currency: str,
    badge: str,
    *,
    price: str,
    prior: str,
    kind: str | None = "amount_off",
) -> LabelContent:
    """`PROMOTION` at `price` now, `prior` its 30-day low and regular price (struck
    through), announced by the hand-written `badge` in `locale` and `currency`."""
    return replace(
        PROMOTION, locale=locale, currency=currency, price=Decimal(price),
        prior_price=Decimal(prior), regular_price=Decimal(prior),
        promotion_text=badge, promotion_kind=kind,
    )  # fmt: skip


def announcement_problems_on(content: LabelContent, model_id: str = "4.2-bwr") -> tuple[str, ...]:
    """What the renderer's Omnibus check finds wrong in `content` laid out on `model_id`
    with its default template."""
    model = DISPLAY_MODELS[model_id]
    template = default_template(model)
    elements = layout_label(content, model=model, template=template)
    return announcement_problems(content, template=template, elements=elements)
