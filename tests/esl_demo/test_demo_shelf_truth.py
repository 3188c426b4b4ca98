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

import pytest

from esl.demo.run import DemoOptions, run_demo
from tests.esl_demo.test_pipeline_demo import FAST
from tests.support.demo_output import audit_demo, demo_panels

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRODUCTS = 22


async def test_a_fresh_demo_shows_every_due_content_and_passes_the_audit(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    options = DemoOptions(out_dir=out, stores=1, labels=PRODUCTS, timeout_s=90, timings=FAST)
    report = await run_demo(options, progress=lambda *_: None)
    assert (report.acked, report.pending, report.failed) == (PRODUCTS, 0, 0)

    # What each panel shows (the demo writes its exact pixels) is what is due.
    panels = demo_panels(out)
    assert len(set(panels.bound_skus)) == PRODUCTS
    assert panels.wrong == []

    result = audit_demo(out, tmp_path / "audit.json")
    assert result.exit_code == 0, result.output
