"""What a render reports besides pixels: unlawful announcements, codes left off, price
lines (and a barcode's digits) a shopper cannot read.

`label_findings` looks at a laid-out label and says, per region, what the shopper or the
scanner will miss and why: an announced reduction the law does not allow
(rendering/announcements.py), a barcode or QR code the template asks for that could
not be drawn so that it scans (rendering/codes.py), or text in an ink without contrast on
what lies under it (rendering/contrast.py). The renderer refuses the first kind unless
told otherwise and reports the others; nothing is dropped in silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import numpy as np

from rendering.announcements import announcement_problems
from rendering.codes import CodeNotDrawn, ean13_drawing, qr_drawing
from rendering.content import LabelContent
from rendering.contrast import MIN_TEXT_CONTRAST, carries_text, contrast_ratio
from rendering.display_models import DisplayModel
from rendering.fonts import text_mask
from rendering.layout import ELLIPSIS, BoxOp, Element, TextOp, badge_wordings, region_applies
from rendering.templates import Fill, Template

__all__ = ["FindingKind", "LabelFinding", "label_findings"]


class FindingKind(StrEnum):
    UNLAWFUL_ANNOUNCEMENT = "unlawful_announcement"
    CODE_NOT_DRAWN = "code_not_drawn"
    # A price line cut short, drawn smaller than the display reads, overlapped by another
    # region's ink, drawn in an ink without contrast on what lies under it, or not drawn at
    # all: the shopper cannot read a price the law says the shelf shows. And a promotion
    # badge (the saving or the offer's price it states) drawn smaller than the display
    # reads or left off because no wording of it fits its region at that size.
    PRICE_NOT_LEGIBLE = "price_not_legible"
    # The shelf price itself (the big price) drawn under the size the display reads, or
    # not at all where the template has its region: the label is refused, not sent
    # (`render_checked`), as the price is what the shelf owes the shopper above all.
    SHELF_PRICE_NOT_LEGIBLE = "shelf_price_not_legible"
    # Any other text (a name, a badge, a date) in an ink without contrast on what lies
    # under it: black on red (3.6:1), yellow on white (1.7:1). And a barcode's printed
    # digits drawn smaller than the display reads (rendering/codes.py never draws them
    # so: a region that cannot hold them at the minimum draws no barcode, CODE_NOT_DRAWN).
    TEXT_NOT_LEGIBLE = "text_not_legible"


# The money lines a shelf label owes the shopper (the price; the unit price, PL art. 4
# ust. 1; the 30-day prior price of an announced reduction) and those it shows for an offer.
_MONEY_FILLS = frozenset(
    {Fill.PRICE, Fill.PRIOR_PRICE, Fill.UNIT_PRICE, Fill.OFFER_UNIT_PRICE, Fill.REGULAR_PRICE}
)
# `DisplayModel` refuses a minimum text size below this: no letter is drawn smaller. A
# template's region too small for its line falls back to it or below.
_NO_LETTER_PX = 6


@dataclass(frozen=True, slots=True)
class LabelFinding:
    kind: FindingKind
    region: str  # "" for the label as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.region}: {self.message}" if self.region else self.message


def label_findings(
    content: LabelContent,
    *,
    model: DisplayModel,
    template: Template,
    elements: Sequence[Element],
) -> tuple[LabelFinding, ...]:
    findings = [
        LabelFinding(FindingKind.UNLAWFUL_ANNOUNCEMENT, "", problem)
        for problem in announcement_problems(content, template=template, elements=elements)
    ]
    findings += _money_line_findings(content, model=model, template=template, elements=elements)
    findings += _badge_findings(content, model=model, template=template, elements=elements)
    findings += _code_digit_findings(model=model, template=template, elements=elements)
    findings += _contrast_findings(content, model=model, template=template, elements=elements)
    drawn = {element.region for element in elements}
    for region in template.regions:
        if region.fill not in (Fill.EAN13, Fill.QR) or region.name in drawn:
            continue
        if not region_applies(region, content):
            continue
        box = region.pixel_box(model)
        result = (
            ean13_drawing(content.gtin, box=box, min_text_px=model.min_text_px)
            if region.fill is Fill.EAN13
            else qr_drawing(content.web_url, box=box, pixel_pitch_mm=model.pixel_pitch_mm)
        )
        reason = result.reason if isinstance(result, CodeNotDrawn) else "not drawn"
        findings.append(LabelFinding(FindingKind.CODE_NOT_DRAWN, region.name, reason))
    return tuple(findings)


def _money_line_findings(
    content: LabelContent,
    *,
    model: DisplayModel,
    template: Template,
    elements: Sequence[Element],
) -> list[LabelFinding]:
    """Money lines cut short or too small to read, and owed lines not drawn. The prior
    price of an announced reduction cut, overlapped or unreadable makes the announcement unlawful;
    the rest is reported (a retailer's own template, a four-digit price on a small label)."""
    fills = {region.name: region.fill for region in template.regions}
    found: list[LabelFinding] = []
    drawn: set[Fill] = set()
    for element in elements:
        fill = fills.get(element.region)
        if fill not in _MONEY_FILLS:
            continue
        drawn.add(fill)
        texts = [op for op in element.ops if isinstance(op, TextOp)]
        covering = _covering(element, elements)
        if covering:
            # Another region's ink among the line's letters (a badge or a name painted
            # over it, a field painted under it in the same ink): a shopper reads neither.
            unlawful = fill is Fill.PRIOR_PRICE and content.shows_prior_price
            kind = FindingKind.UNLAWFUL_ANNOUNCEMENT if unlawful else FindingKind.PRICE_NOT_LEGIBLE
            names = ", ".join(repr(name) for name in covering)
            found.append(
                LabelFinding(
                    kind,
                    element.region,
                    f"the {fill.value} line is overlapped by the ink of region {names}: "
                    "move the regions apart",
                )
            )
        cut = any(ELLIPSIS in op.text for op in texts)
        smallest = min((op.size for op in texts), default=0)
        if cut or smallest < _NO_LETTER_PX:
            why = "cut short" if cut else f"drawn at {smallest} px, too small for any letter"
            unlawful = fill is Fill.PRIOR_PRICE and content.shows_prior_price
            kind = FindingKind.UNLAWFUL_ANNOUNCEMENT if unlawful else FindingKind.PRICE_NOT_LEGIBLE
            found.append(
                LabelFinding(
                    kind, element.region, f"the {fill.value} line is {why}: enlarge its region"
                )
            )
        elif smallest < model.min_text_px:
            # A price under the minimum is misread, not just hard to read ("zł" as "ał"
            # at 9 px on 1.54"): the label is refused rather than shown so.
            price = fill is Fill.PRICE
            found.append(
                LabelFinding(
                    FindingKind.SHELF_PRICE_NOT_LEGIBLE if price else FindingKind.PRICE_NOT_LEGIBLE,
                    element.region,
                    f"the {fill.value} line is drawn at {smallest} px, under the "
                    f"{model.min_text_px} px {model.id} is read at",
                )
            )
    # Beside a multi-buy or loyalty offer the shopper compares both unit prices
    # (docs/pricing.md): a template that leaves the offer's off is reported like one
    # that leaves off the unit price.
    owed = [Fill.PRICE]
    owed += [Fill.UNIT_PRICE] if content.unit_price is not None else []
    owed += [Fill.OFFER_UNIT_PRICE] if content.offer_unit_price is not None else []
    for fill in owed:
        if fill is Fill.PRICE and fill not in drawn and _has_region(fill, content, template):
            # The template gives the price its place, the price does not fit it at the
            # model's minimum size (a long price on a small region).
            found.append(
                LabelFinding(
                    FindingKind.SHELF_PRICE_NOT_LEGIBLE,
                    "",
                    f"the price {content.price} does not fit template {template.id!r} on "
                    f"{model.id} at {model.min_text_px} px or more: enlarge its region",
                )
            )
        elif fill not in drawn:
            found.append(
                LabelFinding(
                    FindingKind.PRICE_NOT_LEGIBLE,
                    "",
                    f"template {template.id!r} draws no {fill.value} line on {model.id} "
                    f"(a region with fill {fill.value!r} that fits it)",
                )
            )
    return found


def _badge_findings(
    content: LabelContent,
    *,
    model: DisplayModel,
    template: Template,
    elements: Sequence[Element],
) -> list[LabelFinding]:
    """Badges drawn under the model's minimum, or left off because no wording of theirs
    fits their region at it (rendering/layout.py, `_badge_ops`): reported as a money line
    too small to read is, the label drawn and sent with its price and prior price."""
    text = content.promotion_text
    if not text:
        return []
    drawn = {element.region: element for element in elements}
    found: list[LabelFinding] = []
    for region in template.regions:
        if region.fill is not Fill.PROMOTION_BADGE or not region_applies(region, content.drawn):
            continue
        element = drawn.get(region.name)
        if element is None:
            floor = max(region.min_text_px, model.min_text_px)
            shorter = "".join(f", nor as {w!r}" for w in badge_wordings(content)[1:])
            found.append(
                LabelFinding(
                    FindingKind.PRICE_NOT_LEGIBLE,
                    region.name,
                    f"the {region.fill.value} line {text!r} is not drawn: it does not fit its "
                    f"region on {model.id} at {floor} px or more{shorter}: enlarge its region",
                )
            )
            continue
        smallest = min((op.size for op in element.ops if isinstance(op, TextOp)), default=0)
        if smallest < model.min_text_px:
            found.append(
                LabelFinding(
                    FindingKind.PRICE_NOT_LEGIBLE,
                    region.name,
                    f"the {region.fill.value} line is drawn at {smallest} px, under the "
                    f"{model.min_text_px} px {model.id} is read at",
                )
            )
    return found


def _code_digit_findings(
    *, model: DisplayModel, template: Template, elements: Sequence[Element]
) -> list[LabelFinding]:
    """A barcode's printed digits (read when the scanner fails) drawn under the model's
    minimum: the digits as drawn are checked, not what layout meant to draw."""
    codes = {region.name for region in template.regions if region.fill is Fill.EAN13}
    found: list[LabelFinding] = []
    for element in elements:
        if element.region not in codes:
            continue
        smallest = min((op.size for op in element.ops if isinstance(op, TextOp)), default=0)
        if 0 < smallest < model.min_text_px:
            found.append(
                LabelFinding(
                    FindingKind.TEXT_NOT_LEGIBLE,
                    element.region,
                    f"the {Fill.EAN13.value} digits are drawn at {smallest} px, under the "
                    f"{model.min_text_px} px {model.id} is read at",
                )
            )
    return found


def _has_region(fill: Fill, content: LabelContent, template: Template) -> bool:
    return any(r.fill is fill and region_applies(r, content) for r in template.regions)


_INK_NAMES = ("white", "black")


def _contrast_findings(
    content: LabelContent,
    *,
    model: DisplayModel,
    template: Template,
    elements: Sequence[Element],
) -> list[LabelFinding]:
    """Text in an ink without WCAG AA contrast (rendering/contrast.py) on what is painted
    under its letters: the paper, or a box of its own region or of one painted before.
    Layout picks readable inks; this reports a template that defeats it (a name laid over
    a red badge) and any ink a change of layout would get wrong, which would otherwise
    pass unseen (yellow letters on white paper are pixels like any other)."""
    fills = {region.name: region.fill for region in template.regions}
    palette = model.palette
    readable = _readable_pairs(palette)
    names = (*_INK_NAMES, model.accent or "accent")
    found: list[LabelFinding] = []
    # Most regions paint no box (only badges, fields, rules and codes do).
    painted = [
        (index, element)
        for index, element in enumerate(elements)
        if any(isinstance(op, BoxOp) for op in element.ops)
    ]
    for index, element in enumerate(elements):
        fill = fills.get(element.region)
        if fill in (Fill.EAN13, Fill.QR):
            continue  # always black, digits clear of the bars (rendering/layout.py, codes.py)
        money = fill in _MONEY_FILLS
        # The boxes painted before a line: other regions' (most boxes are apart; a money
        # line with another region's ink in it is reported as overlapped), then its own
        # region's up to the line (an inverted field's fill, a yellow field).
        boxes = [
            (other.region, op)
            for before, other in ([] if money else painted)
            if before < index and _intersect(other.box, element.box)
            for op in other.ops
            if isinstance(op, BoxOp)
        ]
        for op in element.ops:
            if isinstance(op, BoxOp):
                boxes.append((element.region, op))
                continue
            if not boxes and (op.colour, 0) in readable:
                continue  # on the paper alone, in an ink that reads there
            line = _ink_box(op)
            left, top, right, bottom = line
            grounds = [
                (name, box)
                for name, box in boxes
                # bounds first: a barcode's digits stand apart from its 30 bars
                if box.left < right and box.right > left and box.top < bottom
                and box.bottom > top
                and (_contains(box, line) or _ink_inside(op, _rect(box)))
            ]  # fmt: skip
            colours = {box.colour for _, box in grounds}
            if not any(_contains(box, line) for _, box in grounds):
                colours.add(0)  # some letters lie on the paper
            poor = sorted(c for c in colours if (op.colour, c) not in readable)
            if not poor:
                continue
            ratio = min(contrast_ratio(palette[op.colour], palette[c]) for c in poor)
            others = sorted(
                {
                    repr(name)
                    for name, box in grounds
                    if name != element.region and box.colour in poor
                }
            )
            where = f" of region {', '.join(others)}" if others else ""
            advice = "move the regions apart" if others else "give the region another ink"
            what = f"the {fill.value} line" if fill and money else repr(op.text)
            kind = FindingKind.PRICE_NOT_LEGIBLE if money else FindingKind.TEXT_NOT_LEGIBLE
            if fill is Fill.PRIOR_PRICE and content.shows_prior_price:
                kind = FindingKind.UNLAWFUL_ANNOUNCEMENT
            found.append(
                LabelFinding(
                    kind,
                    element.region,
                    f"{what} is drawn {names[op.colour]} on "
                    f"{' and '.join(names[c] for c in poor)}{where} ({ratio:.1f}:1; text "
                    f"needs {MIN_TEXT_CONTRAST}:1): {advice}",
                )
            )
            break  # one finding a region: its other lines share the ink
    return found


@cache
def _readable_pairs(palette: tuple[tuple[int, int, int], ...]) -> frozenset[tuple[int, int]]:
    """(text ink, ground) palette indices with the contrast text needs."""
    indices = range(len(palette))
    return frozenset(
        (ink, ground)
        for ink in indices
        for ground in indices
        if carries_text(palette[ink], palette[ground])
    )


def _rect(box: BoxOp) -> tuple[int, int, int, int]:
    return box.left, box.top, box.right, box.bottom


def _contains(box: BoxOp, area: tuple[int, int, int, int]) -> bool:
    return (
        box.left <= area[0]
        and box.top <= area[1]
        and box.right >= area[2]
        and box.bottom >= area[3]
    )


def _ink_box(op: TextOp) -> tuple[int, int, int, int]:
    left, top, right, bottom = text_mask(op.weight, op.size, op.text).box
    return op.x + left, op.baseline + top, op.x + right, op.baseline + bottom


def _covering(element: Element, elements: Sequence[Element]) -> list[str]:
    """The other regions with ink inside the ink bounds of one of `element`'s lines (or
    price pieces), pixel by pixel: region boxes may overlap where they leave paper."""
    lines = [_ink_box(op) for op in element.ops if isinstance(op, TextOp)]
    covering: list[str] = []
    for other in elements:
        if other is element or other.region == element.region:
            continue
        # Layout keeps every element's ink inside its box: most boxes are apart.
        near = [line for line in lines if _intersect(other.box, line)]
        if near and any(_ink_inside(op, line) for op in other.ops for line in near):
            covering.append(other.region)
    return covering


def _ink_inside(op: BoxOp | TextOp, area: tuple[int, int, int, int]) -> bool:
    box = (op.left, op.top, op.right, op.bottom) if isinstance(op, BoxOp) else _ink_box(op)
    left, top = max(box[0], area[0]), max(box[1], area[1])
    right, bottom = min(box[2], area[2]), min(box[3], area[3])
    if left >= right or top >= bottom:
        return False
    if isinstance(op, BoxOp):
        return True
    width, height = box[2] - box[0], box[3] - box[1]
    mask = np.frombuffer(bytes(text_mask(op.weight, op.size, op.text).mask), dtype=np.uint8)
    inside = mask.reshape(height, width)[
        top - box[1] : bottom - box[1], left - box[0] : right - box[0]
    ]
    return bool(inside.any())


def _intersect(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return max(a[0], b[0]) < min(a[2], b[2]) and max(a[1], b[1]) < min(a[3], b[3])
