"""What a render reports besides pixels: unlawful announcements, codes left off, price
lines a shopper cannot read.

`label_findings` looks at a laid-out label and says, per region, what the shopper or the
scanner will miss and why: an announced reduction the law does not allow
(rendering/announcements.py), or a barcode or QR code the template asks for that could
not be drawn so that it scans (rendering/codes.py). The renderer refuses the first kind
unless told otherwise and reports the second; nothing is dropped in silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rendering.announcements import announcement_problems
from rendering.codes import CodeNotDrawn, ean13_drawing, qr_drawing
from rendering.content import LabelContent
from rendering.display_models import DisplayModel
from rendering.layout import ELLIPSIS, Element, TextOp, region_applies
from rendering.templates import Fill, Template

__all__ = ["FindingKind", "LabelFinding", "label_findings"]


class FindingKind(StrEnum):
    UNLAWFUL_ANNOUNCEMENT = "unlawful_announcement"
    CODE_NOT_DRAWN = "code_not_drawn"
    # A price line cut short, drawn smaller than the display reads, or not drawn at all:
    # the shopper cannot read a price the law says the shelf shows.
    PRICE_NOT_LEGIBLE = "price_not_legible"


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
    drawn = {element.region for element in elements}
    for region in template.regions:
        if region.fill not in (Fill.EAN13, Fill.QR) or region.name in drawn:
            continue
        if not region_applies(region, content):
            continue
        box = region.pixel_box(model)
        result = (
            ean13_drawing(content.gtin, box=box)
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
    price of an announced reduction cut or unreadable makes the announcement unlawful;
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
        cut = any(ELLIPSIS in op.text for op in texts)
        smallest = min((op.size for op in texts), default=0)
        if cut or smallest < _NO_LETTER_PX:
            why = "cut short" if cut else f"drawn at {smallest} px, too small for any letter"
            unlawful = fill is Fill.PRIOR_PRICE and content.announces_reduction
            kind = FindingKind.UNLAWFUL_ANNOUNCEMENT if unlawful else FindingKind.PRICE_NOT_LEGIBLE
            found.append(
                LabelFinding(
                    kind, element.region, f"the {fill.value} line is {why}: enlarge its region"
                )
            )
        elif smallest < model.min_text_px:
            found.append(
                LabelFinding(
                    FindingKind.PRICE_NOT_LEGIBLE,
                    element.region,
                    f"the {fill.value} line is drawn at {smallest} px, under the "
                    f"{model.min_text_px} px {model.id} is read at",
                )
            )
    owed = [Fill.PRICE] + ([Fill.UNIT_PRICE] if content.unit_price is not None else [])
    for fill in owed:
        if fill not in drawn:
            found.append(
                LabelFinding(
                    FindingKind.PRICE_NOT_LEGIBLE,
                    "",
                    f"template {template.id!r} draws no {fill.value} line on {model.id} "
                    f"(a region with fill {fill.value!r} that fits it)",
                )
            )
    return found
