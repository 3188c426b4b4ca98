"""`esl demo --transport oepl`: controller -> broker -> `esl gateway oepl` -> emulated AP ->
emulated tags. Every tag shows exactly what is due, pixel for pixel, and `esl audit`
agrees."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LabelBindingRow, LabelRow
from esl.demo.chain import ChainTimings
from esl.demo.run import DemoOptions, run_demo
from rendering.display_models import get_display_model
from rendering.encoding import image_from_planes
from tests.support.clock import wall_clock
from tests.support.pipeline import expected_planes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRODUCTS = 22
OEPL_FAST = ChainTimings(
    sim_speed=20.0,  # tags check in every 0.1 s, the AP's radio sends 100 kB/s
    ack_timeout=timedelta(seconds=15),
    retry_base_delay=timedelta(milliseconds=200),
    retry_max_delay=timedelta(seconds=1),
    max_attempts=3,
)


async def test_the_oepl_demo_puts_the_due_pixels_on_every_tag_and_passes_the_audit(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo"
    options = DemoOptions(
        out_dir=out, stores=1, labels=PRODUCTS, oepl=True, timeout_s=90, timings=OEPL_FAST
    )
    report = await run_demo(options, progress=lambda *_: None)
    assert (report.acked, report.pending, report.failed) == (PRODUCTS, 0, 0)

    engine = create_engine_for(f"sqlite:///{out / 'esl.sqlite'}")
    wrong = []
    with session_factory(engine)() as session:
        rows = session.execute(
            select(LabelRow.id, LabelRow.store, LabelRow.model, LabelBindingRow.sku)
            .join(LabelBindingRow, LabelBindingRow.label_id == LabelRow.id)
            .where(LabelBindingRow.unbound_at.is_(None))
        ).all()
        assert len(rows) == PRODUCTS
        for label_id, store, model_id, sku in rows:
            due = expected_planes(session, label_id=label_id, sku=sku, at=wall_clock())
            palette = get_display_model(model_id).palette
            reference = np.asarray(image_from_planes(due, palette=palette).convert("RGB"))
            # The demo writes each emulated tag's exact pixels.
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


async def test_the_oepl_demo_has_no_simulated_radio_faults(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--transport oepl has no --loss"):
        await run_demo(DemoOptions(out_dir=tmp_path, oepl=True, loss=0.1), progress=lambda *_: None)
