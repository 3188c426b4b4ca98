"""A loyalty-card badge is drawn with the prior-price line of its card price (a reduction
for the card's members: UOKiK on art. 4 of the PL act of 9 May 2014), on every display
model with its default template, beside both unit prices; a template that draws the card
badge but not the line is refused, as one announcing a reduction without it is. A
multi-buy badge prints no prior price. The card label the engine prices is read back by
tesseract with its prior-price line and the right amount on every model."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from esl.label_legibility import ContentKind, LabelCase, draws_qr, label_content, read_fields
from pricing import Money, PriceLedger, PriceRule, Promotion, PromotionKind
from pricing.replay import replay_history
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.errors import UnlawfulLabelError
from rendering.layout import TextOp
from rendering.render import render_checked
from rendering.templates import Fill, default_template, template_from_dict
from tests.rendering.default_layout import elements_showing
from tests.strategies import PRICING_EPOCH, pricing_product
from tests.support.pricing import pln_catalogue, shelf_price

LOCALES = ("pl_PL", "en_GB", "de_DE")


def _card(locale: str, *, web_url: bool = False):
    content = label_content(ContentKind.LOYALTY, locale, 0, web_url=web_url)
    # The card price a quarter under the shelf price; card holders paid the shelf price
    # less a tenth in the last 30 days.
    return replace(content, prior_price=(content.price * Decimal("0.9")).quantize(Decimal("0.01")))


def _texts(content, model, fill: Fill) -> str:
    elements = elements_showing(content, model, fill)
    return " ".join(op.text for e in elements for op in e.ops if isinstance(op, TextOp))


@pytest.mark.parametrize("model", sorted(DISPLAY_MODELS))
@pytest.mark.parametrize("locale", LOCALES)
def test_every_default_template_draws_the_card_prices_prior_line(model: str, locale: str) -> None:
    display = DISPLAY_MODELS[model]
    for web_url in (False, True):
        content = _card(locale, web_url=web_url)
        assert content.shows_prior_price
        assert not content.announces_reduction
        result = render_checked(content, model=display)  # refuses an unlawful label
        prior = _texts(content, display, Fill.PRIOR_PRICE)
        printed = f"{content.prior_price}".replace(".", "," if locale != "en_GB" else ".")
        assert printed in prior.replace("\xa0", " "), (model, locale, prior)
        assert _texts(content, display, Fill.OFFER_UNIT_PRICE)  # still beside the offer
        assert _texts(content, display, Fill.UNIT_PRICE)
        assert _texts(content, display, Fill.PROMOTION_BADGE) == content.promotion_text
        sizes = {
            op.size
            for e in elements_showing(content, display, Fill.PRIOR_PRICE)
            for op in e.ops
            if isinstance(op, TextOp)
        }
        assert min(sizes) >= display.min_text_px, (model, locale, sizes)
        assert [f for f in result.findings if f.region.startswith("prior")] == []


def test_a_multi_buy_prints_no_prior_price() -> None:
    content = label_content(ContentKind.MULTI_BUY, "pl_PL", 0)
    content = replace(content, prior_price=content.price)
    assert not content.shows_prior_price
    assert elements_showing(content, DISPLAY_MODELS["2.9-bwr"], Fill.PRIOR_PRICE) == []


def test_a_template_drawing_the_card_badge_without_the_line_is_refused() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    template = default_template(model)
    data = {
        "id": "no-card-prior",
        "version": 1,
        "size_class": template.size_class.value,
        "regions": [
            {"name": "badge", "fill": "promotion_badge", "box": [0.0, 0.0, 1.0, 0.3]},
            {"name": "price", "fill": "price", "box": [0.0, 0.3, 1.0, 0.3]},
            {"name": "unit", "fill": "unit_price", "box": [0.0, 0.6, 1.0, 0.2]},
            {"name": "offer", "fill": "offer_unit_price", "box": [0.0, 0.8, 1.0, 0.2]},
        ],
    }
    with pytest.raises(UnlawfulLabelError, match="no prior-price line"):
        render_checked(_card("pl_PL"), model=model, template=template_from_dict(data))


def _engine_card_label(locale: str, *, web_url: bool) -> LabelContent:
    """9,99 zł for months, 12,99 zł from ten days ago, "Z kartą 9,99 zł" from today
    (tests/pricing/test_law_loyalty_card_prior_price.py): card holders paid 9,99 zł in
    the 30 days before the card price, the prior price its label prints."""
    day0 = PRICING_EPOCH
    rules = [
        PriceRule(id="old", sku="A", amount=Money.of("9.99", "PLN"),
                  valid_until=day0 - timedelta(days=10)),
        PriceRule(id="new", sku="A", amount=Money.of("12.99", "PLN"),
                  valid_from=day0 - timedelta(days=10)),
    ]  # fmt: skip
    card = Promotion(
        id="CARD",
        name="Karta",
        kind=PromotionKind.LOYALTY_PRICE,
        skus=frozenset({"A"}),
        amount=Money.of("9.99", "PLN"),
        valid_from=day0,
    )
    page = "https://sklep.example.pl/p/A" if web_url else None
    product = replace(pricing_product("A"), web_url=page)
    catalogue = pln_catalogue(rules, [card], products=[product])
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day0 - timedelta(days=90), until=day0,
                   locale="pl_PL")  # fmt: skip
    resolved = shelf_price(catalogue, at=day0, ledger=ledger)
    return LabelContent.from_resolved(product=product, price=resolved, locale=locale)


@pytest.mark.xdist_group("tesseract")
def test_the_engines_card_label_is_read_with_its_prior_price_on_every_model() -> None:
    cases = [
        LabelCase(model, ContentKind.LOYALTY, locale, _engine_card_label(locale, web_url=web_url))
        for model in DISPLAY_MODELS.values()
        for locale in LOCALES
        for web_url in ((False, True) if draws_qr(model) else (False,))
    ]
    for case in cases:
        assert case.content.shows_prior_price
        assert case.content.prior_price == Decimal("9.99")
        render_checked(case.content, model=case.model)  # lawful: the line is drawn
    readings = [r for r in read_fields(cases) if r.fill is Fill.PRIOR_PRICE]
    assert sorted(r.case for r in readings) == sorted(case.id for case in cases)
    assert [(r.case, r.expected, r.read) for r in readings if not r.exact] == []
    for reading in readings:
        amount = "9.99" if "/en_GB" in reading.case else "9,99"
        assert amount in reading.read, (reading.case, reading.read)
