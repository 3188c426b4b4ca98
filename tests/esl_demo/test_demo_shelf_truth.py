"""A fresh demo leaves every shelf showing its due content, and `esl audit` agrees
(issue 13, observation 4).

The demo's Black Week promotion (-15 % on every category) replaces, at the same price,
a sample promotion that ends on another day: only the validity text changes. Before the
fix those labels kept the old text, the audit said "stale ... no update planned" and
`esl audit --fail-after` failed on a fresh demo. One store with a label for each of the
sample's 22 products covers every product.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LabelBindingRow, LabelRow
from esl.demo.run import DemoOptions, run_demo
from rendering.display_models import get_display_model
from rendering.encoding import image_from_planes
from tests.esl_demo.test_pipeline_demo import FAST
from tests.support.clock import wall_clock
from tests.support.pipeline import expected_planes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRODUCTS = 22


async def test_a_fresh_demo_shows_every_due_content_and_passes_the_audit(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    options = DemoOptions(out_dir=out, stores=1, labels=PRODUCTS, timeout_s=90, timings=FAST)
    report = await run_demo(options, progress=lambda *_: None)
    assert (report.acked, report.pending, report.failed) == (PRODUCTS, 0, 0)

    # What each panel shows (the demo writes its exact pixels) is what is due.
    engine = create_engine_for(f"sqlite:///{out / 'esl.sqlite'}")
    wrong = []
    with session_factory(engine)() as session:
        rows = session.execute(
            select(LabelRow.id, LabelRow.store, LabelRow.model, LabelBindingRow.sku)
            .join(LabelBindingRow, LabelBindingRow.label_id == LabelRow.id)
            .where(LabelBindingRow.unbound_at.is_(None))
        ).all()
        assert len({sku for *_, sku in rows}) == PRODUCTS
        for label_id, store, model_id, sku in rows:
            due = expected_planes(session, label_id=label_id, sku=sku, at=wall_clock())
            palette = get_display_model(model_id).palette
            reference = np.asarray(image_from_planes(due, palette=palette).convert("RGB"))
            with Image.open(out / "labels" / store / f"{label_id}.png") as png:
                shown = np.asarray(png.convert("RGB"))
            if not np.array_equal(shown, reference):
                wrong.append((label_id, sku))
    engine.dispose()
    assert wrong == []

    result = CliRunner().invoke(
        app,
        ["audit", "--format", "json", "-o", str(tmp_path / "audit.json"), "--fail-after", "1s"],
        env={"ESL_DATABASE_URL": f"sqlite:///{out / 'esl.sqlite'}"},
    )
    assert result.exit_code == 0, result.output
