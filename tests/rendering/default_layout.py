"""A label laid out by its model's default template, looked up by what a region shows."""

from __future__ import annotations

from rendering.content import LabelContent
from rendering.display_models import DisplayModel
from rendering.layout import Element, layout_label
from rendering.templates import Fill, default_template

__all__ = ["elements_showing"]


def elements_showing(content: LabelContent, model: DisplayModel, fill: Fill) -> list[Element]:
    """The laid-out elements of the regions that show `fill` (one, unless the template
    holds variants of that fill)."""
    template = default_template(model)
    fills = {region.name: region.fill for region in template.regions}
    return [
        element
        for element in layout_label(content, model=model, template=template)
        if fills[element.region] is fill
    ]
