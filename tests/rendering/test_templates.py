"""Templates are data: defaults per size class, a retailer's own file, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rendering.display_models import DISPLAY_MODELS, SizeClass
from rendering.errors import IllegiblePriceError, TemplateError, UnlawfulLabelError
from rendering.findings import FindingKind
from rendering.render import render_checked, render_label
from rendering.templates import (
    Fill,
    Template,
    default_template,
    template_from_dict,
    template_from_json,
)
from tests.rendering.label_samples import PLAIN, PROMOTION

RETAILER_TEMPLATE = {
    "id": "discounter-strip",
    "version": 2,
    "regions": [
        {"name": "price", "fill": "price", "box": [0.0, 0.0, 0.6, 1.0], "weight": "bold"},
        {"name": "name", "fill": "product_name", "box": [0.62, 0.0, 0.38, 0.5],
         "max_lines": 3, "min_text_px": 8},
        {"name": "prior", "fill": "prior_price", "box": [0.62, 0.5, 0.38, 0.26],
         "max_lines": 3, "when": ["reduced"]},
        {"name": "badge", "fill": "promotion_badge", "box": [0.62, 0.78, 0.38, 0.22],
         "inverted": True, "ink": "accent", "when": ["promotion"]},
    ],
}  # fmt: skip


def test_every_size_class_has_a_default_template_covering_the_issue_elements() -> None:
    fills: set[Fill] = set()
    for size_class in SizeClass:
        model = next(m for m in DISPLAY_MODELS.values() if m.size_class is size_class)
        template = default_template(model)
        assert template.size_class is size_class
        fills |= {region.fill for region in template.regions}
    assert fills >= set(Fill) - {Fill.RULE}


def test_a_retailer_template_file_changes_the_layout_without_code(tmp_path: Path) -> None:
    path = tmp_path / "discounter.json"
    path.write_text(json.dumps(RETAILER_TEMPLATE), encoding="utf-8")
    template = template_from_json(path.read_text(encoding="utf-8"))
    assert template.cache_key == "discounter-strip@2"
    model = DISPLAY_MODELS["2.9-bwr"]
    theirs = np.asarray(render_label(PROMOTION, model=model, template=template))
    ours = np.asarray(render_label(PROMOTION, model=model))
    assert (theirs != ours).any()
    left_half_ink = theirs[:, : model.width // 2] != 0
    assert left_half_ink.sum() > 1000  # the price now fills the left side


def test_a_template_that_announces_a_reduction_without_the_prior_price_is_refused() -> None:
    without_prior = {
        **RETAILER_TEMPLATE,
        "regions": [r for r in RETAILER_TEMPLATE["regions"] if r["name"] != "prior"],  # type: ignore[attr-defined]
    }
    template = template_from_dict(without_prior)
    model = DISPLAY_MODELS["2.9-bwr"]
    with pytest.raises(UnlawfulLabelError) as refused:
        render_label(PROMOTION, model=model, template=template)
    assert "draws no prior-price line" in refused.value.message
    assert render_label(PLAIN, model=model, template=template).getbbox() is not None


def _retailer_template(**changes: dict[str, object]) -> Template:
    regions = [
        {**region, **changes.get(str(region["name"]), {})}
        for region in RETAILER_TEMPLATE["regions"]  # type: ignore[attr-defined]
    ]
    return template_from_dict({**RETAILER_TEMPLATE, "regions": regions})


@pytest.mark.parametrize(
    ("prior_box", "why"),
    [([0.62, 0.5, 0.38, 0.04], "drawn at 4 px"), ([0.62, 0.5, 0.1, 0.1], "cut short")],
    ids=["too-small", "too-narrow"],
)
def test_a_template_whose_prior_price_line_cannot_be_read_is_refused(
    prior_box: list[float], why: str
) -> None:
    # A region too small for the line falls back to a size no letter reads at, or cuts
    # the line before its amount: the announcement then lacks its prior price.
    template = _retailer_template(prior={"box": prior_box, "max_lines": 1})
    with pytest.raises(UnlawfulLabelError) as refused:
        render_label(PROMOTION, model=DISPLAY_MODELS["2.9-bwr"], template=template)
    assert f"prior_price line is {why}" in refused.value.message


def test_a_template_that_leaves_out_the_price_or_unit_price_says_so() -> None:
    # The price region too low for a price; no unit-price region at all.
    # A price that fits its region at no legible size is refused, not sent unread.
    template = _retailer_template(price={"box": [0.0, 0.0, 0.6, 0.04]})
    model = DISPLAY_MODELS["2.9-bwr"]
    with pytest.raises(IllegiblePriceError) as refused:
        render_checked(PLAIN, model=model, template=template)
    assert "the price 7.49 does not fit template 'discounter-strip'" in refused.value.message
    findings = render_checked(PLAIN, model=model, template=template, allow_unlawful=True).findings
    assert {(f.kind, f.message.split(" line")[0].split(" on ")[0]) for f in findings} == {
        (
            FindingKind.SHELF_PRICE_NOT_LEGIBLE,
            "the price 7.49 does not fit template 'discounter-strip'",
        ),
        (FindingKind.PRICE_NOT_LEGIBLE, "template 'discounter-strip' draws no unit_price"),
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": ""}, "'id'"),
        ({"version": 0}, "'version'"),
        ({"regions": []}, "'regions'"),
        ({"size_class": "huge"}, "size_class"),
        ({"sizeclass": "large"}, "unknown keys ['sizeclass']: a template has id, version, "
                                 "size_class, regions"),
        ({"min_text_px": 14}, "unknown keys ['min_text_px']"),
        ({"regions": [{"fill": "price", "box": [0.5, 0, 0.6, 1]}]}, "leaves the canvas"),
        ({"regions": [{"fill": "price", "box": [0, 0, 1]}]}, "'box'"),
        ({"regions": [{"fill": "horoscope", "box": [0, 0, 1, 1]}]}, "horoscope"),
        ({"regions": [{"fill": "price", "box": [0, 0, 1, 1], "colour": "red"}]}, "unknown keys"),
        ({"regions": [{"fill": "price", "box": [0, 0, 1, 1], "when": "sunny"}]}, "sunny"),
        ({"regions": [{"name": "a", "fill": "sku", "box": [0, 0, 1, 1]},
                      {"name": "a", "fill": "sku", "box": [0, 0, 1, 1]}]}, "unique"),
    ],
)  # fmt: skip
def test_a_malformed_template_is_refused_with_the_reason(
    change: dict[str, object], reason: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        template_from_dict({**RETAILER_TEMPLATE, **change})
    assert reason in caught.value.reason


def test_a_template_that_is_not_json_is_refused() -> None:
    with pytest.raises(TemplateError):
        template_from_json("{regions: [")
