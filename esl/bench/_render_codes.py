"""Barcode figures for `esl bench render`: do the codes on the labels scan?

Every display model draws the sample labels (plain, an announced reduction, a multi-buy,
each with a product URL) with its default template; zxing-cpp, a real decoder, reads
the EAN-13 and QR codes from the 1:1 panel pixels. The labels of the OCR matrix
(`esl.label_legibility`: every model of 2.13" and up, every content kind and locale, with
and without a product page where the template draws a QR) are decoded the same way
(`matrix_*`). zxing-cpp is a development dependency: without it the figures say so
instead of guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from importlib.metadata import version
from typing import Any

import numpy as np

from esl.label_legibility import LabelCase
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.layout import BoxOp, layout_label
from rendering.render import paint
from rendering.templates import Fill, default_template

__all__ = ["barcode_figures", "decoded_codes"]

_URL = "https://sklep.example.pl/p/100234"
_PLAIN = LabelContent(
    sku="100234",
    name="Masło ekstra Łaciate 82% tłuszczu, kostka",
    brand="Mlekpol",
    gtin="5900820000196",
    currency="PLN",
    price=Decimal("7.49"),
    unit_price=Decimal("37.45"),
    unit_label="1 kg",
    web_url=_URL,
)
_LABELS = (
    _PLAIN,
    replace(_PLAIN, price=Decimal("5.99"), regular_price=Decimal("6.99"),
            prior_price=Decimal("6.99"), unit_price=Decimal("29.95"), promotion_text="-14%",
            promotion_kind="percent_off", valid_until=date(2026, 11, 30)),
    replace(_PLAIN, promotion_text="2 za 10 zł", promotion_kind="multi_buy",
            offer_unit_price=Decimal("25.00")),
)  # fmt: skip


def decoded_codes(content: LabelContent, model: DisplayModel) -> tuple[set[Fill], set[str]]:
    """The code regions the default template draws for `content` on `model`, and what
    zxing-cpp reads from the 1:1 pixels ("EAN13:<digits>", "QRCode:<text>")."""
    import zxingcpp  # a development dependency (see the module's docstring)

    template = default_template(model)
    regions = {region.name: region.fill for region in template.regions}
    elements = layout_label(content, model=model, template=template)
    drawn = {regions[e.region] for e in elements} & {Fill.EAN13, Fill.QR}
    pixels = np.asarray(paint(elements, model=model))
    grey = np.where(pixels == 0, 255, 0).astype(np.uint8)  # any ink dark, paper light
    results: Any = zxingcpp.read_barcodes(grey)
    return drawn, {f"{r.format.name}:{r.text}" for r in results}


def _matrix_figures(cases: Sequence[LabelCase]) -> dict[str, int]:
    figures = dict.fromkeys(("ean13_drawn", "ean13_decoded", "qr_drawn", "qr_decoded"), 0)
    for case in cases:
        drawn, texts = decoded_codes(case.content, case.model)
        if Fill.EAN13 in drawn:
            figures["ean13_drawn"] += 1
            figures["ean13_decoded"] += f"EAN13:{case.content.gtin}" in texts
        if Fill.QR in drawn:
            figures["qr_drawn"] += 1
            figures["qr_decoded"] += f"QRCode:{case.content.web_url}" in texts
    return {f"matrix_{key}": value for key, value in figures.items()}


def barcode_figures(matrix: Sequence[LabelCase]) -> dict[str, object]:
    try:
        import zxingcpp
    except ImportError:  # a production install without the dev extras
        return {"barcode_decoder": "zxing-cpp not installed"}
    drawn = {"ean13": 0, "qr": 0}
    decoded = {"ean13": 0, "qr": 0}
    models_without_barcode: list[str] = []
    qr_module_mm: list[float] = []
    for model in DISPLAY_MODELS.values():
        template = default_template(model)
        regions = {region.name: region.fill for region in template.regions}
        for index, content in enumerate(_LABELS):
            elements = layout_label(content, model=model, template=template)
            fills = {regions[e.region]: e for e in elements}
            pixels = np.asarray(paint(elements, model=model))
            grey = np.where(pixels == 0, 255, 0).astype(np.uint8)
            results: Any = zxingcpp.read_barcodes(grey)
            texts = {(r.format.name, r.text) for r in results}
            if Fill.EAN13 in fills:
                drawn["ean13"] += 1
                decoded["ean13"] += ("EAN13", content.gtin) in texts
            elif index == 0:
                models_without_barcode.append(model.id)
            if Fill.QR in fills:
                drawn["qr"] += 1
                decoded["qr"] += ("QRCode", _URL) in texts
                ops = [op for op in fills[Fill.QR].ops if isinstance(op, BoxOp)]
                module = min(op.bottom - op.top for op in ops)
                qr_module_mm.append(round(module * model.pixel_pitch_mm, 2))
    return {
        "barcode_decoder": f"zxing-cpp {version('zxing-cpp')}",
        "ean13_drawn": drawn["ean13"],
        "ean13_decoded": decoded["ean13"],
        "ean13_plain_label_models_without_barcode": models_without_barcode,
        "qr_drawn": drawn["qr"],
        "qr_decoded": decoded["qr"],
        "qr_module_mm_min": min(qr_module_mm, default=0.0),
        **_matrix_figures(matrix),
    }
