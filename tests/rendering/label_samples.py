"""A few hand-written labels the rendering tests and golden images share."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from rendering.content import LabelContent

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
