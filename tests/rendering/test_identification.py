"""The identification screen of a label bound to no product, on every display model."""

from __future__ import annotations

import numpy as np
import pytest

from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.identification import (
    IDENTIFICATION_CAPTIONS,
    identification_content,
    identification_template,
)
from rendering.layout import TextOp, layout_label
from rendering.render import render_label
from tests.rendering.every_model import each_model
from tests.rendering.identification_checks import qr_region_encodes

LABEL = "S01-gw-S01-00042"
# As `esl sim gateway` names them in the demo: a longer id, a larger QR code.
LABEL_IDS = (LABEL, "KRK-01-KRK-01-gw1-00013")


@pytest.mark.parametrize("label_id", LABEL_IDS)
@each_model
def test_every_model_shows_the_label_id_its_store_and_a_qr_code_of_the_id(
    model: DisplayModel, label_id: str
) -> None:
    content = identification_content(
        label_id=label_id, store="S01", store_name="Gdańsk Oliwa", locale="pl_PL", currency="PLN"
    )
    template = identification_template(model)
    assert template.size_class is model.size_class
    elements = {
        element.region: element for element in layout_label(content, model=model, template=template)
    }
    texts = {
        region: " ".join(op.text for op in element.ops if isinstance(op, TextOp))
        for region, element in elements.items()
    }
    assert texts["label_id"] == label_id  # whole, never cut by an ellipsis
    assert texts["caption"] == IDENTIFICATION_CAPTIONS["pl"]
    assert texts["store"] == "S01 · Gdańsk Oliwa"
    pixels = np.asarray(render_label(content, model=model, template=template))
    assert qr_region_encodes(pixels, model, label_id)
    assert not qr_region_encodes(pixels, model, label_id[:-1] + "9")


def test_the_caption_follows_the_locale_and_the_screen_draws_no_price() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    english = identification_content(
        label_id=LABEL, store="S01", store_name=None, locale="en_GB", currency="GBP"
    )
    assert english.name == IDENTIFICATION_CAPTIONS["en"]
    assert english.store_name == "S01"
    regions = {
        e.region
        for e in layout_label(english, model=model, template=identification_template(model))
    }
    assert regions == {"caption", "qr", "label_id", "rule", "store"}
    polish = identification_content(
        label_id=LABEL, store="S01", store_name=None, locale="pl_PL", currency="PLN"
    )
    assert polish.fingerprint != english.fingerprint
