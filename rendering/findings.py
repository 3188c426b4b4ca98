"""What a render reports besides pixels: unlawful announcements and codes left off.

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
from rendering.layout import Element, region_applies
from rendering.templates import Fill, Template

__all__ = ["FindingKind", "LabelFinding", "label_findings"]


class FindingKind(StrEnum):
    UNLAWFUL_ANNOUNCEMENT = "unlawful_announcement"
    CODE_NOT_DRAWN = "code_not_drawn"


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
