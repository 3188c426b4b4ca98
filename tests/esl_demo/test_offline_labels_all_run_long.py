"""`esl demo --offline N`: the labels out of radio range stay out all run long, whatever
`--sim-speed` (README: "labels out of range all run long")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.esl_demo.demo_cli import demo_json

pytestmark = [pytest.mark.integration]


def test_offline_labels_stay_out_of_range_all_run_long_at_any_sim_speed(tmp_path: Path) -> None:
    """At --sim-speed 100 the "offline" label came back after 12 s of the run, and the
    demo reported every label acknowledged, none failed, none offline."""
    exit_code, summary = demo_json(
        [
            "--stores", "1", "--labels", "3", "--offline", "1", "--sim-speed", "100",
            "--out", str(tmp_path / "demo"),
        ]
    )  # fmt: skip
    assert exit_code == 0, summary
    assert (summary["labels"], summary["acked"]) == (3, 2), summary
    assert summary["failed"] == 1, summary
