"""Label rendering: resolved prices to e-paper pixels, and pixels to the bytes a label receives.

    display_models   the models labels come in (size, colours, orientation), as data
    content          LabelContent: what one label shows (product facts + resolved price)
    templates        regions and what fills them, as data (JSON); one default per size class
    locale_texts     per-language label texts, Babel money formatting
    layout, render   typography and drawing: content + model + template -> palette image
    codes            EAN-13 and QR codes that scan (GS1 quiet zones, module sizes)
    announcements    announced reductions the law allows (prior price, saving from it)
    findings         what a render reports: unlawful announcements, codes left off, why
    glyph_coverage   which characters the label font draws (no tofu boxes)
    encoding         bit planes, full and delta formats, the hardened decoder, content hash
    cache            render once per (template version, model, content fingerprint)

Pure: no clock, no network, no database. docs/templates.md and docs/encoding.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Imported lazily: the firmware simulator needs `rendering.encoding` alone and should not
# pay for fonts, Babel and QR codes at start-up.
if TYPE_CHECKING:
    from rendering.cache import RenderCache, RenderedLabel
    from rendering.content import LabelContent, content_from_dict, content_to_dict
    from rendering.display_models import DISPLAY_MODELS, DisplayModel, get_display_model
    from rendering.encoding import (
        Planes,
        content_hash,
        decode,
        encode_delta,
        encode_full,
        image_from_planes,
        planes_from_image,
    )
    from rendering.errors import DecodeError, DecodeReason, RenderingError
    from rendering.render import preview_png, render_label
    from rendering.templates import Template, default_template, template_from_json

__all__ = [
    "DISPLAY_MODELS",
    "DecodeError",
    "DecodeReason",
    "DisplayModel",
    "LabelContent",
    "Planes",
    "RenderCache",
    "RenderedLabel",
    "RenderingError",
    "Template",
    "content_from_dict",
    "content_hash",
    "content_to_dict",
    "decode",
    "default_template",
    "encode_delta",
    "encode_full",
    "get_display_model",
    "image_from_planes",
    "planes_from_image",
    "preview_png",
    "render_label",
    "template_from_json",
]

_HOMES = {
    "RenderCache": "cache",
    "RenderedLabel": "cache",
    "LabelContent": "content",
    "content_from_dict": "content",
    "content_to_dict": "content",
    "DISPLAY_MODELS": "display_models",
    "DisplayModel": "display_models",
    "get_display_model": "display_models",
    "Planes": "encoding",
    "content_hash": "encoding",
    "decode": "encoding",
    "encode_delta": "encoding",
    "encode_full": "encoding",
    "image_from_planes": "encoding",
    "planes_from_image": "encoding",
    "DecodeError": "errors",
    "DecodeReason": "errors",
    "RenderingError": "errors",
    "render_label": "render",
    "preview_png": "render",
    "Template": "templates",
    "default_template": "templates",
    "template_from_json": "templates",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rendering' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rendering.{home}"), name)
