"""A template's inverted accent field ("price in a coloured box") on a yellow panel.

docs/templates.md, Typography, "Colour and contrast": text needs WCAG AA contrast
(4.5:1) against what it is drawn on; yellow (1.7:1 on white) does not carry text, "so on
yellow panels accent text becomes black text on a yellow field", and a badge's text is
white only where white reads on the accent. `inverted` (region keys) means "fill the box
with the ink and write the text in white". A retailer's template asking for the price,
the struck-through price or the Omnibus prior-price line in an inverted accent box gets
yellow letters on white paper on a BWY label (and plain text on the other models): the
prior-price line the law requires is drawn at 1.7:1, and the label passes as lawful
with no finding.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rendering.contrast import carries_text
from rendering.display_models import COLOUR_RGB, DISPLAY_MODELS
from rendering.findings import FindingKind
from rendering.layout import layout_label
from rendering.render import render_checked
from rendering.templates import template_from_json
from tests.rendering.label_samples import PROMOTION

YELLOW = [m for m in DISPLAY_MODELS.values() if m.accent == "yellow"]


def _template(inverted_fill: str):
    regions = [
        {"name": "name", "fill": "product_name", "box": [0, 0, 1, 0.16]},
        {"name": "badge", "fill": "promotion_badge", "box": [0, 0.17, 0.3, 0.18],
         "when": "promotion"},
        {"name": "regular", "fill": "regular_price", "box": [0.32, 0.17, 0.68, 0.18]},
        {"name": "price", "fill": "price", "box": [0, 0.36, 1, 0.34]},
        {"name": "unit", "fill": "unit_price", "box": [0, 0.71, 1, 0.12]},
        {"name": "prior", "fill": "prior_price", "box": [0, 0.84, 1, 0.16], "when": "reduced"},
    ]  # fmt: skip
    for region in regions:
        if region["fill"] == inverted_fill:
            region.update({"inverted": True, "ink": "accent"})
    return template_from_json(json.dumps({"id": "boxed", "version": 1, "regions": regions}))


@pytest.mark.parametrize("model", YELLOW, ids=lambda m: m.id)
@pytest.mark.parametrize("fill", ["price", "regular_price", "prior_price"])
def test_an_inverted_accent_field_never_draws_yellow_text_on_white(model, fill) -> None:
    template = _template(fill)
    result = render_checked(PROMOTION, model=model, template=template)  # lawful, drawn
    region = next(r.name for r in template.regions if r.fill == fill)
    element = next(
        e for e in layout_label(PROMOTION, model=model, template=template) if e.region == region
    )
    inks = {int(i) for i in np.unique(np.asarray(result.image.crop(element.box)))}
    palette = {0: "white", 1: "black", 2: model.accent}
    # What the field holds: every ink drawn in it, by name.
    shown = sorted(palette[i] for i in inks)
    yellow_on_white = inks == {0, 2}
    assert not carries_text(COLOUR_RGB["yellow"], COLOUR_RGB["white"])  # the doc's premise
    assert not yellow_on_white, (
        f"{fill} in an inverted accent box on {model.id} is drawn as {shown}: yellow text "
        f"on white paper (1.7:1), no box; findings: {[str(f) for f in result.findings]}"
    )


@pytest.mark.parametrize("model", YELLOW, ids=lambda m: m.id)
@pytest.mark.parametrize("ink", ["accent", "promo"])
def test_a_barcode_in_accent_ink_is_not_drawn_yellow_on_white(model, ink) -> None:
    """A barcode region with `ink: accent` (or `promo` on a reduced label): its bars and
    its printed digits are drawn in yellow on white, the 1.7:1 the doc says carries no
    text; at a red-light scanner's 660 nm yellow reflects like the paper (symbol contrast
    about 5 %, ISO/IEC 15416 grade F), and nothing is reported."""
    regions = [
        {"name": "bar", "fill": "ean13", "box": [0, 0, 0.5, 0.8], "ink": ink},
        {"name": "price", "fill": "price", "box": [0.5, 0, 0.5, 0.5]},
        {"name": "regular", "fill": "regular_price", "box": [0.5, 0.5, 0.5, 0.15]},
        {"name": "prior", "fill": "prior_price", "box": [0, 0.8, 1, 0.1], "when": "reduced"},
        {"name": "unit", "fill": "unit_price", "box": [0, 0.9, 1, 0.1]},
    ]
    template = template_from_json(json.dumps({"id": "bars", "version": 1, "regions": regions}))
    result = render_checked(PROMOTION, model=model, template=template)
    element = next(
        e for e in layout_label(PROMOTION, model=model, template=template) if e.region == "bar"
    )
    inks = {int(i) for i in np.unique(np.asarray(result.image.crop(element.box)))}
    assert inks != {0, 2}, (
        f"the EAN-13 (bars and digits) with ink {ink!r} on {model.id} is drawn yellow on "
        f"white; findings: {[str(f) for f in result.findings]}"
    )


# ---------------------------------------------------------------- after the fix

BOXED_MODELS = [DISPLAY_MODELS[m] for m in ("2.13-bwy", "4.2-bwy", "2.9-bwr", "2.9-bw")]
# What the box is filled with and what the text is written in, by the panel's accent
# (docs/templates.md, Colour and contrast): white does not read on yellow, black does.
BOX_AND_TEXT = {"yellow": ("yellow", "black"), "red": ("red", "white"), None: ("black", "white")}


@pytest.mark.parametrize("model", BOXED_MODELS, ids=lambda m: m.id)
@pytest.mark.parametrize("fill", ["price", "regular_price", "prior_price"])
def test_an_inverted_money_field_is_a_box_in_the_ink_with_readable_text(model, fill) -> None:
    """The box is filled edge to edge with the accent (black on a black/white panel) and
    the field is written on it in the ink that reads there; on every model, not only on
    yellow (on red and black/white `inverted` was ignored: plain text, no box)."""
    template = _template(fill)
    result = render_checked(PROMOTION, model=model, template=template)
    assert result.findings == ()
    region = next(r.name for r in template.regions if r.fill == fill)
    element = next(
        e for e in layout_label(PROMOTION, model=model, template=template) if e.region == region
    )
    pixels = np.asarray(result.image.crop(element.box))
    names = {0: "white", 1: "black", 2: model.accent}
    box, text = BOX_AND_TEXT[model.accent]
    edge = {names[int(i)] for i in np.unique(np.concatenate([pixels[0], pixels[-1]]))}
    assert edge == {box}, f"{fill} on {model.id}: the box's edge is {sorted(edge)}"
    inks = {names[int(i)] for i in np.unique(pixels)}
    assert inks == {box, text}, f"{fill} on {model.id}: drawn as {sorted(inks)}"
    rgb = dict(zip(("white", "black", model.accent), model.palette, strict=False))
    assert carries_text(rgb[text], rgb[box])


def _red_light_decoded(image, model) -> list[str]:  # type: ignore[no-untyped-def]
    """What a red-light (660 nm) scanner sees: each pixel as bright as its colour's red
    channel, so red and yellow bars are as light as the paper."""
    import zxingcpp

    red = np.array([rgb[0] for rgb in model.palette], dtype=np.uint8)[np.asarray(image)]
    return [r.text for r in zxingcpp.read_barcodes(red, formats=zxingcpp.BarcodeFormat.EAN13)]


@pytest.mark.parametrize("model", [*YELLOW, DISPLAY_MODELS["2.9-bwr"]], ids=lambda m: m.id)
@pytest.mark.parametrize("ink", ["accent", "promo"])
def test_a_barcode_in_accent_ink_is_drawn_black_and_scans_in_red_light(model, ink) -> None:
    regions = [
        {"name": "bar", "fill": "ean13", "box": [0, 0, 1, 0.6], "ink": ink},
        {"name": "price", "fill": "price", "box": [0, 0.6, 0.5, 0.4]},
        {"name": "prior", "fill": "prior_price", "box": [0.5, 0.6, 0.5, 0.2], "when": "reduced",
         "max_lines": 2},
        {"name": "unit", "fill": "unit_price", "box": [0.5, 0.8, 0.5, 0.2]},
    ]  # fmt: skip
    template = template_from_json(json.dumps({"id": "bars", "version": 1, "regions": regions}))
    result = render_checked(PROMOTION, model=model, template=template)
    assert _red_light_decoded(result.image, model) == [PROMOTION.gtin]


NAME_ON_BADGE = [
    {"name": "badge", "fill": "promotion_badge", "box": [0, 0, 1, 0.4], "inverted": True,
     "ink": "accent", "when": "promotion"},
    # The name laid over the badge's box, painted after it: its black letters on the fill.
    {"name": "name", "fill": "product_name", "box": [0, 0.3, 1, 0.3]},
    {"name": "price", "fill": "price", "box": [0, 0.6, 0.5, 0.4]},
    {"name": "prior", "fill": "prior_price", "box": [0.5, 0.6, 0.5, 0.2], "when": "reduced",
     "max_lines": 2},
    {"name": "unit", "fill": "unit_price", "box": [0.5, 0.8, 0.5, 0.2]},
]  # fmt: skip


@pytest.mark.parametrize(
    ("model", "ground"),
    [("2.9-bwr", "red of region 'badge' (3.6:1"), ("2.9-bw", "black of region 'badge' (1.0:1")],
)
def test_text_laid_on_another_regions_box_without_contrast_is_reported(model, ground) -> None:
    template = template_from_json(
        json.dumps({"id": "crowded", "version": 1, "regions": NAME_ON_BADGE})
    )
    result = render_checked(PROMOTION, model=DISPLAY_MODELS[model], template=template)
    found = [f for f in result.findings if f.kind is FindingKind.TEXT_NOT_LEGIBLE]
    assert [f.region for f in found] == ["name"], [str(f) for f in result.findings]
    assert f"is drawn black on {ground}" in found[0].message


def test_black_text_on_a_yellow_box_reads_and_is_not_reported() -> None:
    template = template_from_json(
        json.dumps({"id": "crowded", "version": 1, "regions": NAME_ON_BADGE})
    )
    result = render_checked(PROMOTION, model=DISPLAY_MODELS["2.9-bwy"], template=template)
    # (its crowded prior-price line is reported as small; no text lacks contrast)
    assert not [f for f in result.findings if "text needs" in f.message], result.findings
