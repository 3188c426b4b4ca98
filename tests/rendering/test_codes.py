"""Barcodes and QR codes a scanner reads: decoded by a real decoder from the label's pixels."""

from __future__ import annotations

from dataclasses import replace

import barcode
import numpy as np
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from esl.label_legibility import sample_matrix
from pricing.gtin import gtin_check_digit
from rendering.codes import (
    EAN13_QUIET_LEFT,
    EAN13_QUIET_RIGHT,
    QR_MIN_MODULE_MM,
    ean13_modules,
)
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.findings import FindingKind
from rendering.layout import BoxOp, TextOp, layout_label
from rendering.render import render_checked, render_label
from rendering.templates import Fill, Template, default_template, template_from_dict
from tests.rendering.default_layout import elements_showing
from tests.rendering.every_model import MODELS, each_model
from tests.rendering.label_samples import PLAIN, PROMOTION

URL = "https://sklep.example.pl/p/100234"


def _decoded(image: Image.Image, kind: zxingcpp.BarcodeFormat) -> list[str]:
    """What zxing-cpp reads from the label exactly as the panel shows it (1:1, ink dark)."""
    pixels = np.asarray(image)
    grey = np.where(pixels == 0, 255, 0).astype(np.uint8)
    return [result.text for result in zxingcpp.read_barcodes(grey, formats=kind)]


def _element(content: object, model: DisplayModel, region: str, template: Template | None = None):  # type: ignore[no-untyped-def]
    chosen = template or default_template(model)
    found = [e for e in layout_label(content, model=model, template=chosen) if e.region == region]  # type: ignore[arg-type]
    return found[0] if found else None


@settings(max_examples=200)
@given(body=st.text("0123456789", min_size=12, max_size=12))
def test_ean13_modules_match_python_barcode(body: str) -> None:
    gtin = body + str(gtin_check_digit(body))
    assert ean13_modules(gtin) == barcode.get("ean13", gtin).build()[0]


@each_model
def test_every_model_draws_an_ean13_that_decodes_from_its_pixels(model: DisplayModel) -> None:
    image = render_label(PLAIN, model=model)
    assert _decoded(image, zxingcpp.BarcodeFormat.EAN13) == [PLAIN.gtin]


@each_model
def test_the_ean13_keeps_gs1_quiet_zones_and_prints_the_leading_digit(model: DisplayModel) -> None:
    # Large labels draw it beside the QR ("barcode") or, with no product page, in the left
    # column ("barcode_left").
    (element,) = elements_showing(PLAIN, model, Fill.EAN13)
    bars = [op for op in element.ops if isinstance(op, BoxOp)]
    left, right = min(b.left for b in bars), max(b.right for b in bars)
    module = (right - left) // 95
    assert right - left == 95 * module
    assert left - element.box[0] >= EAN13_QUIET_LEFT * module
    assert element.box[2] - right >= EAN13_QUIET_RIGHT * module
    # Nothing else is drawn in the quiet zones, over the height of the bars.
    pixels = np.asarray(render_label(PLAIN, model=model))
    top, bottom = element.box[1], min(b.bottom for b in bars)
    assert not pixels[top:bottom, left - EAN13_QUIET_LEFT * module : left].any()
    assert not pixels[top:bottom, right : right + EAN13_QUIET_RIGHT * module].any()
    texts = [op for op in element.ops if isinstance(op, TextOp)]
    assert [t.text for t in texts] == ["5", "900820", "000196"]
    assert texts[0].x < left  # the leading digit sits in the left quiet zone


@each_model
def test_a_promotion_keeps_its_barcode_on_large_models(model: DisplayModel) -> None:
    # docs/templates.md: the small and medium layouts give the barcode's place to the
    # badge and the prior-price line while a reduction is announced; large ones keep it.
    decoded = _decoded(render_label(PROMOTION, model=model), zxingcpp.BarcodeFormat.EAN13)
    assert decoded == ([PLAIN.gtin] if model.size_class == "large" else [])


def _with_qr(model: DisplayModel) -> Template:
    """A template holding only the largest square QR region the model has."""
    side = model.height / model.width
    region = {"name": "qr", "fill": "qr", "box": [1 - side, 0.0, side, 1.0]}
    return template_from_dict({"id": "qr-test", "version": 1, "regions": [region]})


def test_a_gtin_stored_in_14_digits_is_drawn_as_the_ean13_it_is() -> None:
    # GS1 advises storing every GTIN in 14 digits; indicator 0 is the shopper's item.
    stored = "0" + PLAIN.gtin
    image = render_label(replace(PLAIN, gtin=stored), model=DISPLAY_MODELS["2.9-bw"])
    assert _decoded(image, zxingcpp.BarcodeFormat.EAN13) == [PLAIN.gtin]


@each_model
def test_a_qr_code_decodes_from_the_pixels_with_modules_a_phone_reads(model: DisplayModel) -> None:
    template = _with_qr(model)
    content = replace(PLAIN, web_url=URL)
    result = render_checked(content, model=model, template=template)
    element = _element(content, model, "qr", template)
    if element is None:
        # Too few pixels for modules of QR_MIN_MODULE_MM: said, not drawn smaller.
        (finding,) = [f for f in result.findings if f.region == "qr"]
        assert "quiet zone" in finding.message
        assert model.height < 37 * 3
        return
    module = min(op.right - op.left for op in element.ops if isinstance(op, BoxOp))
    assert module * model.pixel_pitch_mm >= QR_MIN_MODULE_MM
    assert _decoded(result.image, zxingcpp.BarcodeFormat.QRCode) == [URL]


def test_the_default_large_template_draws_a_qr_code_a_phone_reads() -> None:
    for model_id in ("4.2-bwr", "7.5-bw"):
        model = DISPLAY_MODELS[model_id]
        image = render_label(replace(PLAIN, web_url=URL), model=model)
        assert _decoded(image, zxingcpp.BarcodeFormat.QRCode) == [URL]


@pytest.mark.parametrize(
    ("gtin", "reason"),
    [
        ("", "no GTIN"),
        ("5900820000197", "check digit"),
        ("96385074", "GTIN-8"),
        ("10012345678902", "GTIN-14"),
    ],
)
def test_a_barcode_the_template_asks_for_is_never_dropped_in_silence(
    gtin: str, reason: str
) -> None:
    model = DISPLAY_MODELS["2.9-bw"]
    result = render_checked(replace(PLAIN, gtin=gtin), model=model)
    assert _element(replace(PLAIN, gtin=gtin), model, "barcode") is None
    (finding,) = [f for f in result.findings if f.region == "barcode"]
    assert finding.kind is FindingKind.CODE_NOT_DRAWN
    assert reason in finding.message


def test_a_barcode_region_too_narrow_for_the_quiet_zones_says_how_wide_it_must_be() -> None:
    model = DISPLAY_MODELS["2.9-bw"]
    template = template_from_dict(
        {"id": "narrow", "version": 1,
         "regions": [{"name": "barcode", "fill": "ean13", "box": [0, 0, 100 / 296, 0.5]}]}
    )  # fmt: skip
    findings = render_checked(PLAIN, model=model, template=template).findings
    (finding,) = [f for f in findings if f.region == "barcode"]
    assert "needs 113 px" in finding.message


def test_the_render_bench_reports_every_drawn_code_decoded() -> None:
    from esl.bench._render_codes import barcode_figures

    matrix = sample_matrix(full=True, models=("2.9-bwr", "4.2-bwy"))
    figures = barcode_figures(matrix)
    assert figures["ean13_drawn"] == figures["ean13_decoded"] == len(MODELS) + 2 * 4
    assert figures["ean13_plain_label_models_without_barcode"] == []
    assert figures["qr_drawn"] == figures["qr_decoded"] == 3 * 4
    assert figures["qr_module_mm_min"] >= QR_MIN_MODULE_MM  # type: ignore[operator]
    # 2.9": the plain labels keep the barcode; 4.2": all five kinds, with and without a
    # product page; the QR on the 15 labels of 4.2" with one.
    assert figures["matrix_ean13_drawn"] == figures["matrix_ean13_decoded"] == 3 + 2 * 15
    assert figures["matrix_qr_drawn"] == figures["matrix_qr_decoded"] == 15


def test_every_label_of_the_ocr_matrix_draws_its_codes_and_they_decode() -> None:
    """Every layout the OCR matrix reads (2.13" and up, every kind and locale, with and
    without a product page) also scans: the EAN-13 wherever the template has room for
    it, the QR on every label with a product page where the template has one."""
    from esl.bench._render_codes import decoded_codes

    for case in sample_matrix(full=True):
        drawn, texts = decoded_codes(case.content, case.model)
        expected = set()
        if Fill.EAN13 in drawn:
            expected.add(f"EAN13:{case.content.gtin}")
        if Fill.QR in drawn:
            expected.add(f"QRCode:{case.content.web_url}")
        assert texts == expected, case.id
        assert (Fill.QR in drawn) == (case.content.web_url is not None), case.id
        # The large layouts keep the barcode on every label; medium ones on labels with no
        # promotion (the badge and the offer take its room, docs/templates.md).
        keeps_barcode = case.model.size_class == "large" or not case.content.has_promotion
        assert (Fill.EAN13 in drawn) == keeps_barcode, case.id
