"""Golden images: every default template on every display model looks as it was approved.

Tolerance: at most 0.5 % of the pixels may differ from the approved PNG (FreeType
hinting may move a few pixels between Pillow builds; a moved region or a wrong colour
changes far more). Regenerate after an intended change with

    ESL_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/rendering/test_golden.py

then look at the PNGs in tests/rendering/golden/ before committing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.render import render_label
from tests.rendering.label_samples import PLAIN, PROMOTION

GOLDEN = Path(__file__).parent / "golden"
TOLERANCE = 0.005
REGENERATE = os.environ.get("ESL_REGENERATE_GOLDEN") == "1"

# Every model with a promotion (all regions but the barcode), and the plain label once
# per default template (the barcode and SKU instead of badge and prior price).
CASES = [(model_id, "promotion") for model_id in sorted(DISPLAY_MODELS)] + [
    ("1.54-bw", "plain"),
    ("2.9-bwr", "plain"),
    ("4.2-bwr", "plain"),
]
CONTENTS: dict[str, LabelContent] = {"plain": PLAIN, "promotion": PROMOTION}


def _compare(actual: Image.Image, path: Path, model: DisplayModel) -> None:
    if REGENERATE or not path.exists():
        if not REGENERATE:
            pytest.fail(f"no golden image {path.name}; run with ESL_REGENERATE_GOLDEN=1")
        path.parent.mkdir(exist_ok=True)
        actual.save(path, optimize=True)
    expected = Image.open(path)
    assert expected.size == actual.size
    assert expected.mode == "P"
    colours = 3 * len(model.colours)
    assert (expected.getpalette() or [])[:colours] == (actual.getpalette() or [])[:colours]
    differing = np.count_nonzero(np.asarray(expected) != np.asarray(actual))
    share = differing / (model.width * model.height)
    assert share <= TOLERANCE, f"{path.name}: {differing} pixels ({share:.2%}) differ"


@pytest.mark.parametrize(("model_id", "case"), CASES)
def test_default_template_matches_its_golden_image(model_id: str, case: str) -> None:
    model = DISPLAY_MODELS[model_id]
    image = render_label(CONTENTS[case], model=model)
    _compare(image, GOLDEN / f"{model_id}-{case}.png", model)


def test_the_comparison_notices_a_moved_price() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    expected = np.asarray(Image.open(GOLDEN / "2.9-bwr-promotion.png"))
    moved = np.roll(np.asarray(render_label(PROMOTION, model=model)), 6, axis=1)
    share = np.count_nonzero(expected != moved) / expected.size
    assert share > TOLERANCE
