"""An "amount off" badge is never drawn under its display model's minimum text size.

On a 1.54" label in pl_PL a promotion reducing a price by 1 234,56 zł had its badge
"Taniej o 1 234,56 zł" drawn at 9 px, under the 10 px the model is read at, and the
render reported nothing: badges were not among the lines it checks. The badge now says
the same saving in fewer words, "-1 234,56 zł" (13 px), the amount written exactly as in
the full wording; where even that does not fit at the minimum the badge is left off, the
price, the struck-through price and the prior-price line stay, and the render reports it
as it reports a money line it cannot draw legibly (`price_not_legible`). The drawn
wording is checked against the 30-day prior price as the content's text is, so a
shortened badge can never state another saving.

A sweep over every display model, locale and badge of a thousand and more (amount off,
multi-buy, card price, up to 9 999,99: docs/templates.md's limit) finds every line drawn
at or above the model's minimum, whole, lawful and without a finding; before, it found
only the Polish amount-off badges on 1.54" (9 px at 1 234,56 and 8 888,88).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from esl.label_legibility import ContentKind, LabelCase, read_fields
from pricing import (
    Catalogue,
    Channel,
    LedgerEntry,
    Money,
    PriceKey,
    PriceLedger,
    PriceRule,
    Promotion,
    PromotionKind,
    Store,
    resolve,
)
from pricing.label_text import SUPPORTED_LOCALES, format_label_money, label_texts
from rendering.announcements import announcement_problems
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.findings import FindingKind
from rendering.layout import ELLIPSIS, Element, TextOp, layout_label
from rendering.render import render_checked
from rendering.templates import Fill, Template, default_template
from tests.rendering.every_model import MODELS
from tests.strategies import PRICING_EPOCH, pricing_product

pytestmark = pytest.mark.xdist_group("tesseract")

_CURRENCIES = {"pl_PL": "PLN", "en_GB": "GBP", "de_DE": "EUR"}
_SMALL = ("1.54-bw", "1.54-bwr")


def _amount_off(locale: str, *, regular: str, saving: str) -> LabelContent:
    """The engine's label: `regular` charged for 60 days, then `saving` off it."""
    currency = _CURRENCIES[locale]
    tv = pricing_product("TV")
    key = PriceKey("TV", Channel.STORE, "S1")
    catalogue = Catalogue(
        products=[tv],
        stores=[Store("S1", "Jeden", None)],
        rules=[PriceRule(id="tv", sku="TV", amount=Money.of(regular, currency))],
        promotions=[
            Promotion(
                id="TV-OFF", name="TV", kind=PromotionKind.AMOUNT_OFF,
                skus=frozenset({"TV"}), amount=Money.of(saving, currency),
            )
        ],
        currency=currency,
    )  # fmt: skip
    price = Money.of(regular, currency)
    ledger = PriceLedger([LedgerEntry(key, PRICING_EPOCH - timedelta(days=60), price, price)])
    resolved = resolve(
        catalogue, sku="TV", channel=Channel.STORE, store="S1", at=PRICING_EPOCH,
        ledger=ledger, locale=locale,
    )  # fmt: skip
    assert resolved.announces_reduction
    assert resolved.saving == Money.of(saving, currency)
    return LabelContent.from_resolved(product=tv, price=resolved, locale=locale)


def _by_fill(content: LabelContent, model: DisplayModel) -> dict[Fill, list[Element]]:
    template = default_template(model)
    fills = {region.name: region.fill for region in template.regions}
    drawn: dict[Fill, list[Element]] = {}
    for element in layout_label(content, model=model, template=template):
        drawn.setdefault(fills[element.region], []).append(element)
    return drawn


def _lines(element: Element) -> list[TextOp]:
    return [op for op in element.ops if isinstance(op, TextOp)]


@pytest.mark.parametrize("model_id", _SMALL)
def test_a_four_digit_amount_off_badge_on_a_small_polish_label_keeps_the_minimum(
    model_id: str,
) -> None:
    model = DISPLAY_MODELS[model_id]
    content = _amount_off("pl_PL", regular="5233.56", saving="1234.56")
    assert content.promotion_text == "Taniej o 1\xa0234,56\xa0zł"
    drawn = _by_fill(content, model)
    (badge,) = drawn[Fill.PROMOTION_BADGE]
    sizes = [op.size for op in _lines(badge)]
    assert min(sizes) >= model.min_text_px, (
        f"the badge is drawn at {sizes} px on {model_id}, read at {model.min_text_px} px"
    )
    # The same saving in fewer words, the amount as the full wording writes it.
    assert [op.text for op in _lines(badge)] == ["-1\xa0234,56\xa0zł"]
    # The lines the law asks for beside the announcement stay, at the minimum or more.
    for fill in (Fill.PRICE, Fill.REGULAR_PRICE, Fill.PRIOR_PRICE):
        (element,) = drawn[fill]
        assert min(op.size for op in _lines(element)) >= model.min_text_px, fill
    rendered = render_checked(content, model=model)  # lawful: not refused
    assert rendered.findings == ()


def test_the_drawn_badge_is_checked_against_the_prior_price_not_only_the_content() -> None:
    """A badge drawn in other words than the content's text is held to the saving too:
    a layout that wrote another amount into it would be refused."""
    model = DISPLAY_MODELS["1.54-bwr"]
    content = _amount_off("pl_PL", regular="5233.56", saving="1234.56")
    template = default_template(model)
    elements = layout_label(content, model=model, template=template)
    assert announcement_problems(content, template=template, elements=elements) == ()
    overstated = "-2\xa0234,56\xa0zł"
    wrong = tuple(
        replace(e, ops=tuple(replace(op, text=overstated) if isinstance(op, TextOp)
                             else op for op in e.ops))
        if e.region == "badge" else e
        for e in elements
    )  # fmt: skip
    problems = announcement_problems(content, template=template, elements=wrong)
    assert problems == (
        f"the badge {overstated!r} does not state the saving against the prior "
        "price 5233.56: 1234.56 (it states 2234.56, read as pl_PL writes numbers)",
    )


def _narrow_badge_template() -> Template:
    """The small default with its badge a third as wide: no wording of four digits fits."""
    template = default_template(DISPLAY_MODELS["1.54-bwr"])
    regions = tuple(
        replace(region, box=(*region.box[:2], 0.2, region.box[3]))
        if region.name == "badge" else region
        for region in template.regions
    )  # fmt: skip
    return replace(template, id="narrow-badge", regions=regions)


@pytest.mark.parametrize("model_id", _SMALL)
def test_a_badge_no_wording_fits_is_left_off_and_reported(model_id: str) -> None:
    model = DISPLAY_MODELS[model_id]
    template = _narrow_badge_template()
    content = _amount_off("pl_PL", regular="5233.56", saving="1234.56")
    elements = layout_label(content, model=model, template=template)
    fills = {region.name: region.fill for region in template.regions}
    drawn = {fills[e.region]: e for e in elements}
    # Never under the minimum: not drawn at all ...
    assert Fill.PROMOTION_BADGE not in drawn
    # ... while the price, the struck-through price and the prior price stay.
    for fill in (Fill.PRICE, Fill.REGULAR_PRICE, Fill.PRIOR_PRICE):
        assert min(op.size for op in _lines(drawn[fill])) >= model.min_text_px, fill
    rendered = render_checked(content, model=model, template=template)  # lawful, drawn
    assert [(f.kind, f.region) for f in rendered.findings] == [
        (FindingKind.PRICE_NOT_LEGIBLE, "badge")
    ]
    full, fewer = "Taniej o 1\xa0234,56\xa0zł", "-1\xa0234,56\xa0zł"
    assert rendered.findings[0].message == (
        f"the promotion_badge line {full!r} is not drawn: it does not fit its region on "
        f"{model_id} at {model.min_text_px} px or more, nor as {fewer!r}: enlarge its region"
    )


@pytest.mark.parametrize("kind", ["multi_buy", "buy_n_get_m"])
def test_an_offer_whose_words_end_like_an_amount_off_is_never_cut_into_one(kind: str) -> None:
    """Only an "amount off" promotion's badge is drawn in fewer words: an offer's own
    words that end as the locale's amount-off wording does ("... £1.50 off") state no
    saving of the price, and cut short they would ("-Buy any two bottles get £1.50")."""
    model = DISPLAY_MODELS["1.54-bwr"]
    text = "Buy any two bottles get £1.50 off"
    content = LabelContent(
        sku="A", name="Milk", currency="GBP", price=Decimal("3.49"),
        promotion_text=text, promotion_kind=kind, locale="en_GB",
    )  # fmt: skip
    drawn = _by_fill(content, model)
    for badge in drawn.get(Fill.PROMOTION_BADGE, []):
        words = " ".join(op.text for op in _lines(badge))
        assert " ".join(words.split()) == text, f"the badge reads {words!r}"
    if Fill.PROMOTION_BADGE not in drawn:  # left off: said so
        badges = {r.name for r in default_template(model).regions if r.fill is Fill.PROMOTION_BADGE}
        findings = render_checked(content, model=model).findings
        assert [f.kind for f in findings] == [FindingKind.PRICE_NOT_LEGIBLE]
        assert findings[0].region in badges
        assert repr(text) in findings[0].message


def _badges(locale: str) -> list[LabelContent]:
    """Labels whose badges state an amount of a thousand and more, up to 9 999,99."""
    currency = _CURRENCIES[locale]
    texts = label_texts(locale)
    labels = [
        _amount_off(locale, regular=regular, saving=saving)
        for regular, saving in (
            ("5233.56", "1234.56"),
            ("9999.99", "8888.88"),
            ("9999.99", "4999.99"),
            ("2000.00", "1000.00"),
        )
    ]
    base = labels[0]
    for amount in ("1234.56", "8888.88", "9999.99"):
        money = format_label_money(Decimal(amount), currency, locale=locale)
        plain = replace(base, regular_price=None, prior_price=None, price=Decimal("9999.99"),
                        promotion_kind="multi_buy", offer_unit_price=None, unit_price=None,
                        unit_label=None, promotion_text=texts.multi_buy.format(quantity=2,
                        money=money))  # fmt: skip
        card = replace(plain, promotion_kind="loyalty_price", prior_price=Decimal("9999.99"),
                       promotion_text=texts.loyalty_offer.format(money=money))  # fmt: skip
        labels += [plain, card]
    return labels


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_text_line_of_a_dear_badge_is_drawn_at_the_minimum_on_every_model(
    locale: str,
) -> None:
    too_small = []
    for model in MODELS:
        template = default_template(model)
        fills = {region.name: region.fill for region in template.regions}
        for content in _badges(locale):
            elements = layout_label(content, model=model, template=template)
            assert Fill.PROMOTION_BADGE in {fills[e.region] for e in elements}
            for element in elements:
                # Barcode digits too (test_barcode_digits_at_the_model_minimum.py)
                for op in _lines(element):
                    assert ELLIPSIS not in op.text, (model.id, element.region, op.text)
                    if op.size < model.min_text_px:
                        too_small.append((model.id, element.region, op.text, op.size))
            findings = render_checked(content, model=model, template=template).findings
            assert findings == (), (model.id, content.promotion_text, findings)
    assert too_small == []


def test_the_shortened_badge_of_a_small_label_is_read_as_its_saving() -> None:
    """tesseract reads the badge on the 1:1 pixels: the full wording where it fits, the
    fewer words where it does not, each with its saving exact."""
    cases = [
        LabelCase(DISPLAY_MODELS[model], ContentKind.REDUCTION, locale,
                  _amount_off(locale, regular="5233.56", saving="1234.56"))
        for model in _SMALL
        for locale in SUPPORTED_LOCALES
    ]  # fmt: skip
    readings = [r for r in read_fields(cases) if r.fill is Fill.PROMOTION_BADGE]
    assert len(readings) == len(cases)
    wrong = [(r.case, r.expected, r.read) for r in readings if not r.exact]
    assert wrong == []
    assert {r.expected for r in readings} == {
        "-1\xa0234,56\xa0zł",
        "£1,234.56 off",
        "1.234,56\xa0€ billiger",
    }
