"""Reading an identification screen back from pixels: its QR code's modules and its texts.

Shared by the rendering test (every display model) and the pipeline test (what a
simulated panel shows). The QR code is read from the pixels alone: the module size comes
from the ink's bounding box, each module is sampled at its centre, and the grid is
compared with the QR code of the expected text at every error-correction level.
"""

from __future__ import annotations

import numpy as np
import qrcode
import qrcode.constants
from numpy.typing import NDArray

from rendering.display_models import DisplayModel
from rendering.identification import identification_template

_LEVELS = (
    qrcode.constants.ERROR_CORRECT_L,
    qrcode.constants.ERROR_CORRECT_M,
    qrcode.constants.ERROR_CORRECT_Q,
    qrcode.constants.ERROR_CORRECT_H,
)


def qr_matrix(text: str, level: int) -> NDArray[np.bool_]:
    code = qrcode.QRCode(border=0, error_correction=level)
    code.add_data(text)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def qr_region_encodes(pixels: NDArray[np.uint8], model: DisplayModel, text: str) -> bool:
    """Whether the QR region of the identification template, in `pixels` (palette
    indices, 0 white), holds a QR code of exactly `text`."""
    region = next(r for r in identification_template(model).regions if r.name == "qr")
    left, top, right, bottom = region.pixel_box(model)
    ink = pixels[top:bottom, left:right] != 0
    rows, cols = np.nonzero(ink)
    if rows.size == 0:
        return False
    square = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    for level in _LEVELS:
        expected = qr_matrix(text, level)
        count = expected.shape[0]
        module = square.shape[0] / count
        if square.shape[0] != square.shape[1] or module < 1 or module != int(module):
            continue
        centres = (np.arange(count) * int(module) + int(module) // 2).astype(int)
        if np.array_equal(square[np.ix_(centres, centres)], expected):
            return True
    return False
