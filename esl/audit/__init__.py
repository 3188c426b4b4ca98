"""Shelf-versus-web price audit: does every shelf show the price due, and why not.

`record_label_content` (called by the pipeline when it plans content) traces a content
hash to the price it shows; `gather_audit` classifies every bound label of some stores at
an instant (`classify_label`, pure); `esl.audit.formats` and `esl.audit.html_report` turn
the result into JSON, CSV and a self-contained HTML report. docs/audit.md explains the
classes and their order.
"""

from esl.audit.classify import (
    AuditClass,
    LabelFacts,
    LabelVerdict,
    OpenUpdate,
    PriorPriceProblem,
    ShownContent,
    Thresholds,
    check_prior_price,
    classify_label,
    expected_prior_price,
)
from esl.audit.gather import GatheredAudit, gather_audit
from esl.audit.recording import record_label_content
from esl.audit.report import AuditReport, StoreSummary, summarise

__all__ = [
    "AuditClass",
    "AuditReport",
    "GatheredAudit",
    "LabelFacts",
    "LabelVerdict",
    "OpenUpdate",
    "PriorPriceProblem",
    "ShownContent",
    "StoreSummary",
    "Thresholds",
    "check_prior_price",
    "classify_label",
    "expected_prior_price",
    "gather_audit",
    "record_label_content",
    "summarise",
]
