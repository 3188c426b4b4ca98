"""Typography and layout: what a shopper sees stays inside its region, whole or with an ellipsis."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import combinations, product

import numpy as np
import pytest
from hypothesis import given, settings

from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.layout import ELLIPSIS, Element, TextOp, layout_label
from rendering.render import paint, render_label
from rendering.templates import Condition, Fill, default_template
from tests.rendering.default_layout import elements_showing
from tests.rendering.every_model import MODELS, each_model
from tests.rendering.label_samples import LONG, MULTI_BUY, PLAIN, PROMOTION
from tests.strategies import label_contents


def _ink_box(element: Element, model: DisplayModel) -> tuple[int, int, int, int] | None:
    pixels = np.asarray(paint([element], model=model))
    rows, cols = np.nonzero(pixels)
    if rows.size == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _assert_every_element_inside_its_region(content: LabelContent, model: DisplayModel) -> None:
    for element in layout_label(content, model=model, template=default_template(model)):
        ink = _ink_box(element, model)
        assert ink is not None, element.region
        left, top, right, bottom = element.box
        where = (element.region, ink, element.box)
        assert left <= ink[0], where
        assert top <= ink[1], where
        assert ink[2] <= right, where
        assert ink[3] <= bottom, where


@each_model
@pytest.mark.parametrize(
    "content",
    [PLAIN, PROMOTION, MULTI_BUY, LONG],
    ids=["plain", "promotion", "multi-buy", "long"],
)
def test_no_ink_leaves_its_region_on_any_model(model: DisplayModel, content: LabelContent) -> None:
    _assert_every_element_inside_its_region(content, model)


@settings(max_examples=60, deadline=None)
@given(content=label_contents())
def test_no_ink_leaves_its_region_for_any_name_price_or_locale(content: LabelContent) -> None:
    for model_id in ("2.9-bwr", "1.54-bw", "4.2-bwy", "2.13-bwr"):
        _assert_every_element_inside_its_region(content, DISPLAY_MODELS[model_id])


@pytest.mark.parametrize("template_model", ["1.54-bwr", "2.9-bwr", "4.2-bwr"])
def test_regions_drawn_together_never_overlap(template_model: str) -> None:
    model = DISPLAY_MODELS[template_model]
    template = default_template(model)
    situations = {
        (promotion, reduced, web_url, card_prior)
        for promotion, reduced, web_url, card_prior in product([True, False], repeat=4)
        if promotion or not reduced  # a reduction is always a promotion
        # an offer's prior-price line: a card price beside a shelf price not reduced
        if not card_prior or (promotion and not reduced)
    }
    for promotion, reduced, web_url, card_prior in situations:
        prior = reduced or card_prior
        holds = {
            Condition.PROMOTION: promotion,
            Condition.NO_PROMOTION: not promotion,
            Condition.REDUCED: reduced,
            Condition.NOT_REDUCED: not reduced,
            Condition.PRIOR_PRICE: prior,
            Condition.NO_PRIOR_PRICE: not prior,
            Condition.OFFER_PRIOR_PRICE: card_prior,
            Condition.NO_OFFER_PRIOR_PRICE: not card_prior,
            Condition.WEB_URL: web_url,
            Condition.NO_WEB_URL: not web_url,
        }
        active = [r for r in template.regions if all(holds[c] for c in r.when)]
        for first, second in combinations(active, 2):
            a, b = first.pixel_box(model), second.pixel_box(model)
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, (first.name, second.name, promotion, reduced, web_url, card_prior)


def _texts(content: LabelContent, model_id: str, fill: str) -> list[TextOp]:
    """The text drawn by the region that shows `fill` (templates may hold variants of one
    fill for reduced and regular labels; one of them is drawn)."""
    model = DISPLAY_MODELS[model_id]
    template = default_template(model)
    fills = {region.name: region.fill for region in template.regions}
    for element in layout_label(content, model=model, template=template):
        if fills[element.region] == fill and element.region != "offer":
            return [op for op in element.ops if isinstance(op, TextOp)]
    return []


def test_a_long_name_wraps_to_its_lines_and_ends_in_an_ellipsis() -> None:
    lines = _texts(replace(PLAIN, name=LONG.name), "2.9-bwr", "product_name")
    assert len(lines) == 2
    assert lines[-1].text.endswith(ELLIPSIS)
    shown = " ".join(op.text for op in lines).removesuffix(ELLIPSIS)
    assert LONG.name.startswith(shown.rstrip())


def test_a_short_name_is_drawn_whole_on_one_line() -> None:
    short = replace(PLAIN, name="Jogurt")
    assert [op.text for op in _texts(short, "2.9-bwr", "product_name")] == ["Jogurt"]


def test_integer_is_large_decimals_raised_and_smaller_currency_small() -> None:
    integer, decimals, currency = _texts(PLAIN, "2.9-bwr", "price")
    assert (integer.text, decimals.text, currency.text) == ("7", "49", "zł")
    assert integer.size > decimals.size > currency.size
    assert decimals.baseline < integer.baseline  # raised
    assert decimals.x > integer.x
    assert currency.x >= decimals.x


def test_a_pound_price_puts_the_symbol_first() -> None:
    british = replace(PLAIN, currency="GBP", locale="en_GB")
    symbol, integer, decimals = _texts(british, "2.9-bwr", "price")
    assert (symbol.text, integer.text, decimals.text) == ("£", "7", "49")
    assert symbol.x < integer.x < decimals.x


def test_long_prices_shrink_to_fit_instead_of_overflowing() -> None:
    cheap = _texts(PLAIN, "2.9-bwr", "price")
    dear = _texts(replace(PLAIN, price=Decimal("99999.99")), "2.9-bwr", "price")
    assert [op.text for op in dear] == ["99\xa0999", "99", "zł"]
    assert dear[0].size < cheap[0].size


@pytest.mark.parametrize(
    ("locale", "currency", "prior", "unit"),
    [
        ("pl_PL", "PLN", "Najniższa cena z 30 dni przed obniżką: 6,99\xa0zł", "Cena za 1\xa0kg"),
        ("en_GB", "GBP", "Lowest price in the 30 days before the reduction: £6.99",
         "Price per 1\xa0kg"),
        ("de_DE", "EUR", "Niedrigster Preis der letzten 30 Tage vor der Reduzierung: 6,99\xa0€",
         "Grundpreis 1\xa0kg"),
    ],
)  # fmt: skip
def test_label_texts_come_from_the_locale_table(
    locale: str, currency: str, prior: str, unit: str
) -> None:
    content = replace(PROMOTION, locale=locale, currency=currency)
    prior_lines = " ".join(op.text for op in _texts(content, "4.2-bwr", "prior_price"))
    assert prior_lines == prior
    assert " ".join(op.text for op in _texts(content, "4.2-bwr", "unit_price")).startswith(unit)


def test_validity_reads_do_and_day_month() -> None:
    assert [op.text for op in _texts(PROMOTION, "2.9-bwr", "validity")] == ["do 30.11"]


def test_polish_letters_draw_their_own_glyphs() -> None:
    model = DISPLAY_MODELS["2.9-bw"]
    accented = render_label(replace(PLAIN, name="ąęłżźóśćń ĄĘŁŻŹÓŚĆŃ"), model=model)
    plain = render_label(replace(PLAIN, name="aelzzoscn AELZZOSCN"), model=model)
    difference = np.asarray(accented) != np.asarray(plain)
    assert difference[: model.height // 2].sum() > 40  # dots, ogonki, strokes, accents


def test_the_image_holds_exactly_the_models_colours() -> None:
    for model in MODELS:
        image = render_label(PROMOTION, model=model)
        assert image.mode == "P"
        used = set(np.unique(np.asarray(image)).tolist())
        assert used == ({0, 1, 2} if model.has_accent else {0, 1})
        palette = image.getpalette() or []
        assert tuple(tuple(palette[i : i + 3]) for i in range(0, 3 * len(model.colours), 3)) == (
            model.palette
        )


def test_only_promotions_use_the_accent_colour() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    assert 2 not in np.asarray(render_label(PLAIN, model=model))
    promoted = np.asarray(render_label(PROMOTION, model=model))
    (price,) = elements_showing(PROMOTION, model, Fill.PRICE)
    left, top, right, bottom = price.box
    assert (promoted[top:bottom, left:right] == 2).sum() > 500  # the price itself turns red


def test_a_regular_price_is_struck_through() -> None:
    model = DISPLAY_MODELS["4.2-bwr"]
    elements = layout_label(PROMOTION, model=model, template=default_template(model))
    (struck,) = [e for e in elements if e.region == "regular_price"]
    assert [op.text for op in struck.ops if isinstance(op, TextOp)] == ["6,99\xa0zł"]
    assert len(struck.ops) == 2  # the text and the line across it


def test_missing_facts_leave_their_regions_empty() -> None:
    bare = LabelContent(sku="1", name="Chleb", currency="PLN", price=Decimal("3.49"))
    model = DISPLAY_MODELS["4.2-bwr"]
    regions = {e.region for e in layout_label(bare, model=model, template=default_template(model))}
    assert regions == {"name", "rule", "price", "sku"}


@pytest.mark.parametrize("model_id", ["1.54-bwr", "2.13-bwr", "2.9-bwr", "4.2-bwr"])
def test_lines_carrying_a_price_shrink_but_are_never_cut(model_id: str) -> None:
    for region in ("regular_price", "prior_price", "unit_price"):
        texts = [op.text for op in _texts(LONG, model_id, region)]
        assert texts, region
        assert ELLIPSIS not in "".join(texts), (region, texts)
    assert "".join(op.text for op in _texts(LONG, model_id, "regular_price")) == (
        "123\xa0456,78\xa0zł"
    )


@pytest.mark.parametrize("model_id", ["2.13-bwr", "2.9-bwr", "4.2-bwr"])
def test_a_wrapped_unit_price_keeps_its_quantity_on_one_line(model_id: str) -> None:
    """ "Grundpreis 1" above "kg = 29,96 €" is what the 4.2" label used to print."""
    content = replace(PROMOTION, locale="de_DE", currency="EUR", unit_label="1 kg")
    lines = [op.text for op in _texts(content, model_id, "unit_price")]
    assert lines
    assert not any(line.rstrip().endswith(" 1") for line in lines), lines
    assert any("1\xa0kg" in line for line in lines), lines
