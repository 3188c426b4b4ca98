"""`esl demo --transport oepl`: controller -> broker -> `esl gateway oepl` -> emulated AP ->
emulated tags. Every tag shows exactly what is due, pixel for pixel, and `esl audit`
agrees."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from esl.demo.run import DemoOptions, run_demo
from tests.support.chain import quick_demo_timings
from tests.support.demo_output import audit_demo, demo_panels

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRODUCTS = 22
# At 20x, tags check in every 0.1 s and the AP's radio sends 100 kB/s.
OEPL_FAST = quick_demo_timings(ack_timeout=timedelta(seconds=15))


async def test_the_oepl_demo_puts_the_due_pixels_on_every_tag_and_passes_the_audit(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo"
    options = DemoOptions(
        out_dir=out, stores=1, labels=PRODUCTS, oepl=True, timeout_s=90, timings=OEPL_FAST
    )
    report = await run_demo(options, progress=lambda *_: None)
    assert (report.acked, report.pending, report.failed) == (PRODUCTS, 0, 0)

    panels = demo_panels(out)
    assert len(panels.bound_skus) == PRODUCTS
    assert panels.wrong == []

    result = audit_demo(out, tmp_path / "audit.json")
    assert result.exit_code == 0, result.output


async def test_the_oepl_demo_has_no_simulated_radio_faults(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--transport oepl has no --loss"):
        await run_demo(DemoOptions(out_dir=tmp_path, oepl=True, loss=0.1), progress=lambda *_: None)
