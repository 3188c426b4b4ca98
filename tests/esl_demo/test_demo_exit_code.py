"""`esl demo` exits non-zero when labels it expected to acknowledge the promotion did
not, so `make demo` or a script can tell a working chain from a broken one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from tests.esl_demo.demo_cli import demo_json

pytestmark = [pytest.mark.integration]


def test_a_demo_whose_promotion_reached_no_label_does_not_exit_zero(tmp_path: Path) -> None:
    """A demo that timed out with 0 of 4 labels acknowledged exited 0."""
    exit_code, summary = demo_json(
        [
            "--stores", "1", "--labels", "4", "--loss", "0.9", "--sim-speed", "20",
            "--timeout", "5", "--out", str(tmp_path / "demo"),
        ]
    )  # fmt: skip
    # 90 % of frames lost: nearly every label misses it (one may get through by chance).
    assert summary["acked"] + summary["pending"] == 4, summary
    assert summary["pending"] >= 1, summary
    assert exit_code == 1, summary
    assert summary["unacknowledged"] == summary["pending"], summary


def test_the_summary_says_the_promotion_did_not_reach_every_reachable_label(
    tmp_path: Path,
) -> None:
    """The table's summary says why the demo exits 1."""
    result = CliRunner().invoke(
        app,
        [
            "demo", "--stores", "1", "--labels", "4", "--loss", "0.9", "--sim-speed", "20",
            "--timeout", "5", "--out", str(tmp_path / "demo"),
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert re.search(
        r"[1-4] reachable label\(s\) did not acknowledge the promotion", result.output
    ), result.output
