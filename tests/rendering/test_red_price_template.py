"""A red price announces a reduction as much as a badge does (docs/templates.md, Colour and
contrast: "a red price is an announcement too"; Announced reductions: the price in red or
yellow is used only while the label announces a reduction, with its prior price). A
retailer's template that gave the price region `ink: accent` drew every plain price red,
with no prior price, and the render neither refused nor reported it. `accent` on a field
that states the shelf price now means what its designer wants, "the price in red during
promotions": red while a reduction is announced, black otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.layout import layout_label
from rendering.render import render_checked
from rendering.templates import Template, template_from_dict
from tests.rendering.label_samples import PLAIN, PROMOTION

BLACK, ACCENT = 1, 2


def _red_price(*, inverted: bool, fill: str = "price") -> Template:
    return template_from_dict({
        "id": "red-price", "version": 1,
        "regions": [
            {"name": "name", "fill": "product_name", "box": [0, 0, 1, 0.25]},
            {"name": "price", "fill": fill, "box": [0, 0.25, 1, 0.45], "weight": "bold",
             "ink": "accent", "inverted": inverted},
            {"name": "badge", "fill": "promotion_badge", "box": [0, 0.7, 0.3, 0.15],
             "ink": "accent", "inverted": True},
            {"name": "prior", "fill": "prior_price", "box": [0.3, 0.7, 0.7, 0.15]},
            {"name": "unit", "fill": "unit_price", "box": [0, 0.85, 1, 0.15]},
        ],
    })  # fmt: skip


def _region_colours(content: LabelContent, model_id: str, template: Template) -> set[int]:
    """The palette indices painted inside the price region."""
    model = DISPLAY_MODELS[model_id]
    pixels = np.asarray(render_checked(content, model=model, template=template).image)
    (price,) = [e for e in layout_label(content, model=model, template=template)
                if e.region == "price"]  # fmt: skip
    left, top, right, bottom = price.box
    return {int(index) for index in np.unique(pixels[top:bottom, left:right])}


@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize("model_id", ["2.9-bwr", "2.9-bwy"])
def test_a_plain_price_in_accent_ink_is_drawn_black(model_id: str, inverted: bool) -> None:
    assert not PLAIN.announces_reduction
    assert PLAIN.prior_price is None
    colours = _region_colours(PLAIN, model_id, _red_price(inverted=inverted))
    assert ACCENT not in colours, (
        f"a plain 7,49 zł (no reduction, no prior price) is drawn in {sorted(colours)} "
        f"on {model_id}: a red or yellow price announces a reduction"
    )
    assert BLACK in colours


@pytest.mark.parametrize("model_id", ["2.9-bwr", "2.9-bwy"])
def test_a_plain_unit_price_in_accent_ink_is_drawn_black(model_id: str) -> None:
    colours = _region_colours(PLAIN, model_id, _red_price(inverted=False, fill="unit_price"))
    assert ACCENT not in colours, sorted(colours)
    assert BLACK in colours


@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize("model_id", ["2.9-bwr", "2.9-bwy"])
def test_an_announced_reduction_draws_the_accent_price(model_id: str, inverted: bool) -> None:
    assert PROMOTION.announces_reduction
    assert PROMOTION.prior_price is not None
    colours = _region_colours(PROMOTION, model_id, _red_price(inverted=inverted))
    assert ACCENT in colours, f"5,99 zł announced from 6,99 zł is drawn in {sorted(colours)}"
