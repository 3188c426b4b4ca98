"""A region painted over a money line hides it: the render says so, and refuses the label
when the hidden line is the prior price of an announced reduction.

The premise of each case is read the way a shopper reads it: the 1:1 label, the line's
own ink cut from it and given to tesseract (`esl.label_legibility`), which cannot read
what the other region covers.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from PIL import Image

from esl.label_legibility import (
    FieldKind,
    FieldReading,
    _crop,
    _op_element,
    _read_crops,
    sample_matrix,
)
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.errors import UnlawfulLabelError
from rendering.findings import FindingKind
from rendering.layout import TextOp, layout_label
from rendering.render import render_checked, render_label
from rendering.templates import Fill, Template, default_template, template_from_dict
from tests.rendering.label_samples import PLAIN, PROMOTION
from tests.rendering.test_templates import RETAILER_TEMPLATE

pytestmark = pytest.mark.xdist_group("tesseract")

MODEL = DISPLAY_MODELS["2.9-bwr"]


def _template(**moved: list[float]) -> Template:
    """The retailer template with a unit-price row, and the named regions' boxes moved."""
    regions = [
        *RETAILER_TEMPLATE["regions"],  # type: ignore[misc]
        {"name": "unit", "fill": "unit_price", "box": [0.62, 0.5, 0.38, 0.12]},
    ]
    regions = [{**r, "box": moved.get(str(r["name"]), r["box"])} for r in regions]
    if "unit" not in moved:
        regions = [r for r in regions if r["name"] != "unit"]
    return template_from_dict({**RETAILER_TEMPLATE, "regions": regions})


def _readings(
    content: LabelContent, template: Template, fill: Fill
) -> tuple[Image.Image, list[FieldReading]]:
    """The label drawn 1:1 (findings aside) and what tesseract reads in each text of the
    regions showing `fill` (each piece of a price on its own)."""
    elements = layout_label(content, model=MODEL, template=template)
    image = render_checked(content, model=MODEL, template=template, allow_unlawful=True).image
    fills = {region.name: region.fill for region in template.regions}
    pieces = [
        (_op_element(e, op) if fill is Fill.PRICE else e, op.text)
        for e in elements
        if fills[e.region] is fill
        for op in e.ops
        if isinstance(op, TextOp)
    ]
    assert pieces, fill
    crops = [(_crop(image, element), ("7", "-l", "pol+eng")) for element, _ in pieces]
    read = _read_crops(crops, workers=1)
    return image, [
        FieldReading("2.9-bwr", element.region, fill, FieldKind.MONEY, expected, text)
        for (element, expected), text in zip(pieces, read, strict=True)
    ]


def test_a_badge_painted_over_the_prior_price_line_refuses_the_label() -> None:
    # The badge's box laid over the prior-price line, as an uploaded template did.
    template = _template(badge=[0.62, 0.5, 0.38, 0.26])
    _, readings = _readings(PROMOTION, template, Fill.PRIOR_PRICE)
    assert not any(r.exact for r in readings), readings  # no shopper reads "6,99 zł"
    with pytest.raises(UnlawfulLabelError) as refused:
        render_label(PROMOTION, model=MODEL, template=template)
    assert "prior_price line is overlapped by the ink of region 'badge'" in refused.value.message


@pytest.mark.parametrize(
    ("content", "moved", "fill", "covering"),
    [
        # A badge over the raised decimals of the big price.
        (PROMOTION, {"badge": [0.25, 0.0, 0.35, 0.4]}, Fill.PRICE, "badge"),
        # The product name run over the unit-price line of a plain label.
        (PLAIN, {"unit": [0.62, 0.3, 0.38, 0.12]}, Fill.UNIT_PRICE, "name"),
    ],
    ids=["badge-over-price", "name-over-unit-price"],
)
def test_a_region_painted_over_a_money_line_is_a_finding(
    content: LabelContent, moved: dict[str, list[float]], fill: Fill, covering: str
) -> None:
    template = _template(**moved)
    _, readings = _readings(content, template, fill)
    assert not all(r.exact for r in readings), readings  # the shopper misreads the line
    findings = render_checked(content, model=MODEL, template=template).findings
    overlapped = [f for f in findings if "overlapped" in f.message]
    assert [(f.kind, covering in f.message) for f in overlapped] == [
        (FindingKind.PRICE_NOT_LEGIBLE, True)
    ], findings


def test_the_shipped_templates_paint_no_region_over_a_money_line() -> None:
    """Every model (1.54" included), every kind and locale, prices of 1 to 4 digits."""
    checked = 0
    for case in sample_matrix(full=True, models=tuple(DISPLAY_MODELS)):
        for factor in (1, 10, 100):
            content = case.content
            scaled = {
                name: getattr(content, name) * factor
                for name in ("price", "regular_price", "prior_price", "unit_price")
                if isinstance(getattr(content, name), Decimal)
            }
            content = replace(content, **scaled)
            result = render_checked(
                content, model=case.model, template=default_template(case.model)
            )
            overlapped = [f for f in result.findings if "overlapped" in f.message]
            assert overlapped == [], (case.id, factor, overlapped)
            checked += 1
    assert checked > 500
