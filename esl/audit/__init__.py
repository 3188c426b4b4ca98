"""Shelf-versus-web price audit: does every shelf show the price due, and why not.

`esl.audit.recording.record_label_content` (called by the pipeline when it plans content)
traces a content hash to the price it shows; `esl.audit.gather.gather_audit` classifies
every bound label of some stores at an instant (`esl.audit.classify.classify_label`, pure);
`esl.audit.formats` and `esl.audit.html_report` turn the result into JSON, CSV and a
self-contained HTML report. docs/audit.md explains the classes and their order. Callers
import each name from the module it lives in.
"""
