"""`esl sim display` on a demo's output: simulator state only, and an OEPL tag's answer
says where its picture is."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.demo.run import DemoOptions, run_demo
from tests.esl_demo.test_pipeline_demo import FAST

pytestmark = [pytest.mark.integration]


async def test_esl_sim_display_on_an_oepl_demo_says_where_the_tag_s_picture_is(
    tmp_path: Path,
) -> None:
    """README: `esl sim display LABEL --state-dir DIR -o display.png` "(the demo's labels
    live in demo-output/sim)". After `esl demo --transport oepl` it ended in
    `unexpected ValueError: too many values to unpack (expected 20)`: the OEPL store
    gateway's own KRK-01-ap1.sqlite was read as a simulated store's state."""
    out = tmp_path / "demo"
    options = DemoOptions(out_dir=out, stores=1, labels=2, timeout_s=60, oepl=True, timings=FAST)
    report = await run_demo(options, progress=lambda *_: None)
    assert report.acked == 2
    label = sorted((out / "labels" / "KRK-01").glob("*.png"))[0].stem
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["sim", "display", label, "--state-dir", str(out / "sim"), "-o", str(tmp_path / "d.png")],
    )
    assert "unexpected" not in result.output, result.output
    assert result.exit_code == 1, result.output
    assert "OpenEPaperLink" in result.output, result.output
    assert str(out / "labels" / "KRK-01" / f"{label}.png") in result.output, result.output
    assert not (tmp_path / "d.png").exists()
