"""Draw a label: content + display model + template -> palette image with the model's colours.

Text is drawn without anti-aliasing, so the image holds exactly the model's palette
indices (0 white, 1 black, 2 accent) and packs into bit planes losslessly.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageDraw

from rendering.content import LabelContent, require_drawable
from rendering.display_models import DisplayModel
from rendering.errors import IllegiblePriceError, UnlawfulLabelError
from rendering.findings import FindingKind, LabelFinding, label_findings
from rendering.fonts import text_mask
from rendering.layout import BoxOp, Element, TextOp, layout_label
from rendering.templates import Template, default_template

__all__ = [
    "RenderResult",
    "blank_canvas",
    "paint",
    "preview_png",
    "raise_if_unlawful",
    "render_checked",
    "render_label",
]


@dataclass(frozen=True, slots=True)
class RenderResult:
    image: Image.Image
    findings: tuple[LabelFinding, ...]  # what the label leaves out or gets wrong, and why


def render_checked(
    content: LabelContent,
    *,
    model: DisplayModel,
    template: Template | None = None,
    allow_unlawful: bool = False,
) -> RenderResult:
    """The label and its findings; `UnlawfulLabelError` for an unlawful announcement of a
    reduction and `IllegiblePriceError` for a price drawn under the model's minimum size
    or not at all, unless `allow_unlawful` (then it is drawn and reported as a finding), and
    `ContentError` for text the label font cannot draw."""
    require_drawable(content)
    chosen = template or default_template(model)
    elements = layout_label(content, model=model, template=chosen)
    findings = label_findings(content, model=model, template=chosen, elements=elements)
    if not allow_unlawful:
        raise_if_unlawful(findings)
    return RenderResult(image=paint(elements, model=model), findings=findings)


def raise_if_unlawful(findings: tuple[LabelFinding, ...]) -> None:
    problems = tuple(f.message for f in findings if f.kind is FindingKind.UNLAWFUL_ANNOUNCEMENT)
    if problems:
        raise UnlawfulLabelError(problems)
    # The law asks for a price the shopper can read (PL act of 9 May 2014, art. 4 ust. 1:
    # "w sposób jednoznaczny, niebudzący wątpliwości"); one misread is no price shown.
    illegible = tuple(f.message for f in findings if f.kind is FindingKind.SHELF_PRICE_NOT_LEGIBLE)
    if illegible:
        raise IllegiblePriceError(illegible)


def render_label(
    content: LabelContent,
    *,
    model: DisplayModel,
    template: Template | None = None,
    allow_unlawful: bool = False,
) -> Image.Image:
    """The label as a palette image ("P"): index 0 white, 1 black, 2 the accent colour."""
    return render_checked(
        content, model=model, template=template, allow_unlawful=allow_unlawful
    ).image


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
