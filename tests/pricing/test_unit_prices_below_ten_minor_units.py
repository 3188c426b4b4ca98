"""A unit price below ten minor units keeps two significant digits instead of reading 0,00 zł.

A pack of 1000 toothpicks at 3,99 zł costs 0,399 gr a piece. Rounded to whole grosze the
quote and the label said "Cena za 1 szt.: 0,00 zł" (every piece free), 200 cotton buds
at 2,99 zł said 0,01 zł a piece (a third too low) and 100 pieces at 49 Ft said 0 Ft.
Directive 98/6/EC art. 2(b), PL act of 9 May 2014 art. 3: the unit price is the price of
one unit of measure, per piece here (domain.md: per piece, per 100 g where customary),
and zero is never that price. docs/pricing.md ("Unit prices"): below ten minor units a
unit price is rounded HALF_UP once to two significant digits, the same in the quote, the
label, the fingerprint and the audit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pricing import (
    Catalogue,
    Channel,
    Money,
    PriceKey,
    PriceLedger,
    PriceRule,
    Product,
    Promotion,
    PromotionKind,
    ResolvedPrice,
    Store,
    change_impact,
    resolve,
)
from pricing.products import NetUnit
from rendering.content import LabelContent, content_from_dict, content_to_dict
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.errors import ContentError
from rendering.layout import TextOp, layout_label
from rendering.templates import Fill, default_template
from tests.rendering.every_model import each_model

AT = datetime(2026, 11, 23, 12, tzinfo=UTC)
OFFER_LINE = "Cena za 1\xa0szt. w promocji: 0,0030\xa0zł"


def _product(net_content: str, unit: str = "pcs") -> Product:
    return Product(
        sku="A",
        name="Wykałaczki 1000 szt.",
        brand="Marka",
        gtin="5901234100014",
        category="household",
        vat_rate=Decimal(23),
        net_content=Decimal(net_content),
        net_unit=NetUnit(unit),
        perishable=False,
        on_sale_since=AT - timedelta(days=400),
    )


def _catalogue(
    product: Product, price: str, currency: str = "PLN", promotions: tuple[Promotion, ...] = ()
) -> Catalogue:
    return Catalogue(
        products=[product],
        stores=[Store("S1", "Jeden", None)],
        rules=[PriceRule(id="r", sku="A", amount=Money.of(price, currency))],
        promotions=list(promotions),
        currency=currency,
    )


def _resolve(catalogue: Catalogue) -> ResolvedPrice:
    return resolve(
        catalogue, sku="A", channel=Channel.STORE, store="S1", at=AT,
        ledger=PriceLedger(), locale="pl_PL",
    )  # fmt: skip


def _lines(content: LabelContent, model: DisplayModel, fill: Fill) -> list[str]:
    template = default_template(model)
    fills = {region.name: region.fill for region in template.regions}
    return [
        " ".join(op.text for op in element.ops if isinstance(op, TextOp))
        for element in layout_label(content, model=model, template=template)
        if fills[element.region] is fill
    ]


def _toothpicks_two_for_six() -> tuple[Product, Catalogue]:
    product = _product("1000")
    offer = Promotion(
        id="W2",
        name="Wykałaczki 2 za 6",
        kind=PromotionKind.MULTI_BUY,
        skus=frozenset({"A"}),
        amount=Money.of("6", "PLN"),
        quantity=2,
    )
    return product, _catalogue(product, "3.99", promotions=(offer,))


@pytest.mark.parametrize(
    ("net_content", "unit", "price", "currency", "quoted"),
    [
        ("1000", "pcs", "3.99", "PLN", "0.0040"),  # toothpicks: 0.00399 zł a piece
        ("500", "pcs", "1.99", "PLN", "0.0040"),  # paper napkins: 0.00398 zł a piece
        ("200", "pcs", "2.99", "PLN", "0.015"),  # cotton buds: 0.01495 zł, not 0.01
        ("100", "pcs", "49", "HUF", "0.49"),  # 0.49 Ft a piece, not 0 Ft
        ("100", "pcs", "5.00", "PLN", "0.05"),  # exactly 5 gr: nothing lost, two places
        ("500", "g", "6.49", "PLN", "12.98"),  # ten minor units and up: as before
    ],
)
def test_the_quoted_unit_price_keeps_two_significant_digits(
    net_content: str, unit: str, price: str, currency: str, quoted: str
) -> None:
    resolved = _resolve(_catalogue(_product(net_content, unit), price, currency))
    assert resolved.unit_price is not None
    assert str(resolved.unit_price.amount) == quoted


@each_model
def test_the_label_prints_the_unit_price_of_a_toothpick(model: DisplayModel) -> None:
    product = _product("1000")
    resolved = _resolve(_catalogue(product, "3.99"))
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")
    assert _lines(content, model, Fill.UNIT_PRICE) == ["Cena za 1\xa0szt.: 0,0040\xa0zł"]


def test_a_multi_buy_gives_the_offer_unit_price_of_a_toothpick_too() -> None:
    # "2 za 6 zł": 0.003 zł a piece in twos, 0.00399 zł alone.
    product, catalogue = _toothpicks_two_for_six()
    resolved = _resolve(catalogue)
    assert resolved.promotion is not None
    assert resolved.promotion.offer_unit_price is not None
    assert str(resolved.promotion.offer_unit_price.amount) == "0.0030"
    assert resolved.unit_price is not None
    assert str(resolved.unit_price.amount) == "0.0040"
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")
    model = DISPLAY_MODELS["2.9-bwr"]
    assert _lines(content, model, Fill.UNIT_PRICE) == ["Cena za 1\xa0szt.: 0,0040\xa0zł"]
    assert _lines(content, model, Fill.OFFER_UNIT_PRICE) == [OFFER_LINE]


def test_a_smaller_pack_at_the_same_price_changes_the_label() -> None:
    # 1000 -> 800 toothpicks at 3.99 zł: 0.0040 -> 0.0050 zł a piece. Both were "0.00"
    # before, one fingerprint: the shelf kept the old unit price.
    before = _catalogue(_product("1000"), "3.99")
    after = before.with_changes(products=[_product("800")])
    assert _resolve(before).fingerprint != _resolve(after).fingerprint
    impact = change_impact(before, after, at=AT, ledger=PriceLedger(), locale="pl_PL")
    assert PriceKey("A", Channel.STORE, "S1") in impact


def test_label_content_keeps_the_digits_and_refuses_more() -> None:
    product = _product("1000")
    content = LabelContent.from_resolved(
        product=product, price=_resolve(_catalogue(product, "3.99")), locale="pl_PL"
    )
    data = content_to_dict(content)
    assert data["price"]["unit_price"] == "0.0040"  # type: ignore[index]
    assert content_from_dict(data) == content
    # Unrounded, it is a rounding nobody did: refused with the reason, as for a price.
    data["price"]["unit_price"] = "0.00399"  # type: ignore[index]
    with pytest.raises(ContentError) as refused:
        content_from_dict(data)
    assert "0.00399 has more decimals than PLN allows" in refused.value.reason
    assert "two significant digits" in refused.value.reason
