"""Errors raised by the rendering package.

EslError (pricing/errors.py)
+-- RenderingError            a label cannot be laid out, drawn or encoded
    +-- UnknownDisplayModelError   no display model with that id (`model_id`)
    +-- TemplateError         a template file or table is malformed (`template_id`, `reason`)
    +-- ContentError          label content JSON is malformed (`field`)
    +-- LabelNotDrawnError    a label the renderer refuses to draw (`problems`)
    |   +-- UnlawfulLabelError    it would announce a reduction unlawfully
    |   +-- IllegiblePriceError   its price cannot be drawn legibly
    +-- DecodeError           encoded label bytes are malformed (`reason`, a `DecodeReason`)
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pricing.errors import EslError

__all__ = [
    "ContentError",
    "DecodeError",
    "DecodeReason",
    "IllegiblePriceError",
    "LabelNotDrawnError",
    "RenderingError",
    "TemplateError",
    "UnknownDisplayModelError",
    "UnlawfulLabelError",
]


class RenderingError(EslError):
    """A label that cannot be laid out, drawn or encoded."""

    code = "rendering_error"


class UnknownDisplayModelError(RenderingError):
    code = "unknown_display_model"

    def __init__(self, model_id: str) -> None:
        super().__init__(f"unknown display model {model_id!r}", model_id=model_id)
        self.model_id = model_id


class TemplateError(RenderingError):
    code = "template_error"

    def __init__(self, template_id: str, reason: str) -> None:
        super().__init__(
            f"template {template_id!r}: {reason}", template_id=template_id, reason=reason
        )
        self.template_id = template_id
        self.reason = reason


class ContentError(RenderingError):
    code = "content_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"label content field {field!r}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason


class LabelNotDrawnError(RenderingError):
    """A label the renderer refuses to draw; `problems` says why, one per line, and the
    message is "label not drawn, " + the subclass's `refusal` + ": " + the problems."""

    refusal: ClassVar[str]

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__(
            f"label not drawn, {self.refusal}: " + "; ".join(problems), problems=list(problems)
        )
        self.problems = problems


class UnlawfulLabelError(LabelNotDrawnError):
    """A label announcing a reduction without the prior price, or with a saving not
    measured from it (rendering/announcements.py)."""

    code = "unlawful_label"
    refusal = "it would announce a reduction unlawfully"


class IllegiblePriceError(LabelNotDrawnError):
    """A label whose shelf price would be drawn under the size its display model reads,
    or not at all (rendering/findings.py)."""

    code = "illegible_price"
    refusal = "its price would not be legible"


class DecodeReason(StrEnum):
    """Why encoded label bytes were refused; the simulator reports these to the controller."""

    EMPTY = "empty"
    UNKNOWN_FORMAT = "unknown_format"
    ACCENT_MISMATCH = "accent_mismatch"
    TRUNCATED = "truncated"
    TRAILING_BYTES = "trailing_bytes"
    CORRUPT_STREAM = "corrupt_stream"
    TOO_LARGE = "too_large"
    WRONG_SIZE = "wrong_size"
    BAD_PADDING = "bad_padding"
    BAD_REGION = "bad_region"
    MISSING_BASE = "missing_base"
    WRONG_BASE = "wrong_base"
    CHECKSUM_MISMATCH = "checksum_mismatch"


class DecodeError(RenderingError):
    """Encoded label bytes that do not decode to exactly one valid image."""

    code = "decode_error"

    def __init__(self, reason: DecodeReason, detail: str = "") -> None:
        message = f"cannot decode label image: {reason.value}" + (f" ({detail})" if detail else "")
        super().__init__(message, reason=reason.value, detail=detail)
        self.reason = reason
        self.detail = detail
