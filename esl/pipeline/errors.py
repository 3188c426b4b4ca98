"""Errors of the update pipeline.

EslError (pricing/errors.py)
+-- PipelineError              esl/pipeline: a label cannot be planned or sent
    +-- UnplannableLabelError  a label with no content or no way to sign (`label_id`, `reason`)
"""

from __future__ import annotations

from pricing.errors import EslError

__all__ = ["PipelineError", "UnplannableLabelError"]


class PipelineError(EslError):
    code = "pipeline_error"


class UnplannableLabelError(PipelineError):
    code = "unplannable_label"

    def __init__(self, label_id: str, reason: str) -> None:
        super().__init__(f"label {label_id}: {reason}", label_id=label_id, reason=reason)
        self.label_id = label_id
        self.reason = reason
