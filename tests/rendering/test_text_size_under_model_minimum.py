"""docs/templates.md promises "no text is drawn below the model's `min_text_px`" (Per-model
minimum sizes) and, for a region's `min_text_px`, "shrink no further (never below the
model's own minimum)". A template's `text_size` (only "the start size") below that
minimum was taken as the size, though the box holds the text at the minimum: the name
was drawn at 5 px on a 1.54" label (read at 10 px) with no finding at all, and the 30-day
prior price of an announced reduction at 6 px, a label the controller plans. The start
is now raised to the minimum."""

from __future__ import annotations

import pytest

from rendering.display_models import DISPLAY_MODELS
from rendering.layout import TextOp, layout_label
from rendering.templates import Template, template_from_dict
from tests.rendering.label_samples import PROMOTION


def _template(text_size: float) -> Template:
    return template_from_dict({
        "id": "small-start", "version": 1,
        "regions": [
            {"name": "name", "fill": "product_name", "box": [0, 0, 1, 0.25],
             "text_size": text_size, "max_lines": 2},
            {"name": "price", "fill": "price", "box": [0, 0.25, 1, 0.35]},
            {"name": "badge", "fill": "promotion_badge", "box": [0, 0.6, 0.5, 0.1]},
            {"name": "unit", "fill": "unit_price", "box": [0.5, 0.6, 0.5, 0.1]},
            {"name": "prior", "fill": "prior_price", "box": [0, 0.7, 1, 0.3],
             "text_size": text_size, "max_lines": 3},
        ],
    })  # fmt: skip


@pytest.mark.parametrize("model_id", ["1.54-bwr", "4.2-bwr"])
def test_text_size_never_starts_text_below_the_model_minimum(model_id: str) -> None:
    model = DISPLAY_MODELS[model_id]
    template = _template(0.04)
    # The same regions without text_size draw both at or above the minimum: the boxes fit.
    for t in (_template(0.5), template):
        sizes = {
            e.region: min(op.size for op in e.ops if isinstance(op, TextOp))
            for e in layout_label(PROMOTION, model=model, template=t)
            if e.region in ("name", "prior")
        }
        assert set(sizes) == {"name", "prior"}
        assert all(size >= model.min_text_px for size in sizes.values()), (
            f"{model_id} is read at {model.min_text_px} px, drawn at {sizes} "
            f"with text_size {t.regions[0].text_size}"
        )
