"""Barcodes a scanner can read: the EAN-13 bars match an independent encoder, pixel for pixel."""

from __future__ import annotations

from dataclasses import replace

import barcode
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rendering.display_models import DISPLAY_MODELS
from rendering.layout import BoxOp, ean13_modules, layout_label
from rendering.render import render_label
from rendering.templates import default_template
from tests.rendering.label_samples import PLAIN


def _with_check_digit(body: str) -> str:
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


@settings(max_examples=200)
@given(body=st.text("0123456789", min_size=12, max_size=12))
def test_ean13_modules_match_python_barcode(body: str) -> None:
    gtin = _with_check_digit(body)
    assert ean13_modules(gtin) == barcode.get("ean13", gtin).build()[0]


def test_a_gtin_with_a_wrong_check_digit_draws_no_barcode() -> None:
    good = "5900820000196"
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert ean13_modules(good) is not None
    assert ean13_modules(bad) is None
    model = DISPLAY_MODELS["2.9-bw"]
    regions = {e.region for e in layout_label(replace(PLAIN, gtin=bad), model=model,
                                               template=default_template(model))}  # fmt: skip
    assert "barcode" not in regions


@pytest.mark.parametrize("model_id", ["1.54-bw", "2.13-bwr", "2.9-bwr", "4.2-bwy", "7.5-bw"])
def test_the_bars_on_the_label_read_back_as_the_gtin(model_id: str) -> None:
    model = DISPLAY_MODELS[model_id]
    template = default_template(model)
    (element,) = [e for e in layout_label(PLAIN, model=model, template=template)
                  if e.region == "barcode"]  # fmt: skip
    bars = [op for op in element.ops if isinstance(op, BoxOp)]
    left = min(b.left for b in bars)
    right = max(b.right for b in bars)
    module = (right - left) // 95
    assert module >= 1
    assert right - left == 95 * module
    # Scan one row across the bars of the rendered image, as a scanner would.
    row = np.asarray(render_label(PLAIN, model=model))[element.box[1] + 2, left:right]
    modules = "".join("1" if row[i * module] else "0" for i in range(95))
    assert modules == barcode.get("ean13", PLAIN.gtin).build()[0]
