"""After a demo run with labels out of range, the audit names exactly those labels."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from esl.audit.classify import AuditClass
from esl.audit.gather import gather_audit
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LabelAcknowledgementRow, LabelRow
from esl.demo.run import DemoOptions, run_demo
from tests.esl_demo.test_pipeline_demo import FAST

pytestmark = pytest.mark.integration


async def test_the_labels_that_did_not_converge_are_offline_and_all_others_agree(
    tmp_path: Path,
) -> None:
    options = DemoOptions(
        out_dir=tmp_path / "demo", stores=2, labels=5, offline=3, timeout_s=60, timings=FAST
    )
    report = await run_demo(options, progress=lambda *_: None)
    assert (report.acked, report.failed) == (7, 3)

    engine = create_engine_for(f"sqlite:///{tmp_path / 'demo' / 'esl.sqlite'}")
    now = datetime.now(UTC)
    with session_factory(engine)() as session:
        never_answered = set(session.scalars(select(LabelRow.id))) - set(
            session.scalars(select(LabelAcknowledgementRow.label_id))
        )
        audit = gather_audit(session, at=now, now=now, currency="PLN", locale="pl_PL").report
    engine.dispose()

    assert len(never_answered) == 3
    classes = {verdict.label_id: verdict.audit_class for verdict in audit.labels}
    assert len(classes) == 10
    assert {label for label, c in classes.items() if c is AuditClass.OFFLINE} == never_answered
    agreeing = Counter(c for label, c in classes.items() if label not in never_answered)
    assert set(agreeing) <= {AuditClass.MATCH, AuditClass.INTENDED_DIFFERENCE}
    assert sum(agreeing.values()) == 7
