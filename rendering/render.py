"""Draw a label: content + display model + template -> palette image with the model's colours.

Text is drawn without anti-aliasing, so the image holds exactly the model's palette
indices (0 white, 1 black, 2 accent) and packs into bit planes losslessly.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image, ImageDraw

from rendering.content import LabelContent
from rendering.display_models import DisplayModel
from rendering.fonts import text_mask
from rendering.layout import BoxOp, Element, TextOp, layout_label
from rendering.templates import Template, default_template

__all__ = ["blank_canvas", "paint", "preview_png", "render_label"]


def render_label(
    content: LabelContent, *, model: DisplayModel, template: Template | None = None
) -> Image.Image:
    """The label as a palette image ("P"): index 0 white, 1 black, 2 the accent colour."""
    chosen = template or default_template(model)
    return paint(layout_label(content, model=model, template=chosen), model=model)


def blank_canvas(model: DisplayModel) -> Image.Image:
    image = Image.new("P", (model.width, model.height), 0)
    image.putpalette([channel for colour in model.palette for channel in colour])
    return image


def paint(elements: Iterable[Element], *, model: DisplayModel) -> Image.Image:
    image = blank_canvas(model)
    draw = ImageDraw.Draw(image)
    for element in elements:
        for op in element.ops:
            if isinstance(op, BoxOp):
                draw.rectangle((op.left, op.top, op.right - 1, op.bottom - 1), fill=op.colour)
            elif isinstance(op, TextOp):
                # What ImageDraw.text does for a "1"-mode font, with the mask layout made.
                rendered = text_mask(op.weight, op.size, op.text)
                position = (op.x + rendered.box[0], op.baseline + rendered.box[1])
                draw.draw.draw_bitmap(position, rendered.mask, op.colour)
    return image


def preview_png(image: Image.Image) -> bytes:
    """The PNG people see (API, audit report): a palette PNG with the model's exact colours."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
