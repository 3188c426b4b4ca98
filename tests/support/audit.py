"""The audit of every store now, as `esl audit` runs it (PLN, pl_PL), by label."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from esl.audit.classify import LabelVerdict
from esl.audit.gather import gather_audit

__all__ = ["audit_by_label"]


def audit_by_label(sessions: sessionmaker[Session], now: datetime) -> dict[str, LabelVerdict]:
    """Label id -> its verdict in an audit at `now`."""
    with sessions() as session:
        report = gather_audit(session, at=now, now=now, currency="PLN", locale="pl_PL").report
    return {verdict.label_id: verdict for verdict in report.labels}
