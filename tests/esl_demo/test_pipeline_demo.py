"""`esl demo`: a promotion published through the API reaches every reachable label."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LabelBindingRow, LabelRow, LabelStateRow
from esl.demo.run import DemoOptions, run_demo
from rendering.encoding import content_hash
from tests.support.chain import quick_demo_timings
from tests.support.clock import wall_clock
from tests.support.pipeline import expected_planes

pytestmark = pytest.mark.integration

FAST = quick_demo_timings(ack_timeout=timedelta(seconds=2))


async def test_the_demo_converges_every_reachable_label_and_reports_the_unreachable(
    tmp_path: Path,
) -> None:
    options = DemoOptions(
        out_dir=tmp_path / "demo",
        stores=2,
        labels=4,
        loss=0.1,
        offline=1,
        timeout_s=60,
        timings=FAST,
    )
    phases: set[str] = set()
    report = await run_demo(options, progress=lambda phase, *_: phases.add(phase))
    assert phases == {"current prices", "promotion"}
    assert (report.labels, report.acked, report.failed, report.pending) == (8, 7, 1, 0)
    previews = sorted((tmp_path / "demo" / "labels").glob("*/*.png"))
    assert len(previews) == 8
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["acked"] == 7
    # --loss: what the radio dropped and what the controller sent again are reported.
    assert summary["frames_lost"] > 0
    assert summary["retries"] > 0
    assert [store["labels"] for store in summary["stores"]] == [4, 4]

    # Every acknowledged label shows exactly the reference render of its promoted price.
    engine = create_engine_for(f"sqlite:///{tmp_path / 'demo' / 'esl.sqlite'}")
    with session_factory(engine)() as session:
        rows = session.execute(
            select(LabelRow.id, LabelBindingRow.sku, LabelStateRow.confirmed_hash)
            .join(LabelBindingRow, LabelBindingRow.label_id == LabelRow.id)
            .join(LabelStateRow, LabelStateRow.label_id == LabelRow.id)
            .where(LabelBindingRow.unbound_at.is_(None))
        ).all()
        promoted = 0
        for label_id, sku, confirmed in rows:
            if confirmed is None:
                continue
            reference = expected_planes(session, label_id=label_id, sku=sku, at=wall_clock())
            assert confirmed == content_hash(reference).hex(), label_id
            promoted += 1
    engine.dispose()
    assert promoted == 7


def test_asking_for_more_stores_than_the_sample_has_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(app, ["demo", "--stores", "9", "--out", str(tmp_path / "d")])
    assert result.exit_code != 0
    assert "at most" in result.output


def test_a_broker_given_to_the_ble_demo_is_refused_not_ignored(tmp_path: Path) -> None:
    out = tmp_path / "d"
    result = CliRunner().invoke(
        app,
        ["demo", "--transport", "ble", "--broker", "mqtt://esl@127.0.0.1:1", "--out", str(out)],
    )
    assert result.exit_code == 2, result.output
    assert "no --broker" in result.output
    assert not out.exists()


def test_the_demo_over_ble_acknowledges_every_label(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--transport",
            "ble",
            "--labels",
            "20",
            "--sim-speed",
            "20",
            "--json",
            "--out",
            str(tmp_path / "ble-demo"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["labels"], summary["acked"], summary["pending"], summary["failed"]) == (
        40,
        40,
        0,
        0,
    )
    assert len(list((tmp_path / "ble-demo" / "labels").glob("*/*.png"))) == 40
