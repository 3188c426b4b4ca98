"""Two `esl demo` runs on one output folder: the second is refused in one line while the
first uses it, and the first keeps serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = [pytest.mark.integration]


def test_a_second_demo_on_the_same_output_does_not_wreck_a_serving_one(tmp_path: Path) -> None:
    """Running `esl demo` again in a serving demo's folder deleted its database from
    under it: the second run ended in `unexpected OperationalError ... disk I/O error`
    (or `no such table`) and the serving demo's API no longer answered for its labels."""
    out = tmp_path / "demo"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    first = subprocess.Popen(
        [sys.executable, "-c", "from esl.cli import app; app()", "demo", "--stores", "1",
         "--labels", "2", "--sim-speed", "20", "--keep-serving", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    try:
        assert first.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = first.stdout.readline()
            lines.append(line)
            if line.strip().startswith("key"):
                break
        text = "".join(lines)
        url = next(w for w in text.split() if w.startswith("http://")).removesuffix("/ui/")
        token = next(w for w in text.split() if w.startswith("esl_"))

        second = CliRunner().invoke(
            app, ["demo", "--stores", "1", "--labels", "2", "--sim-speed", "20", "--timeout",
                  "20", "--out", str(out)],
        )  # fmt: skip
        assert second.exit_code == 1, second.output
        refusal = second.output.strip()
        assert "\n" not in refusal, refusal
        assert f"pid {first.pid}" in refusal, refusal
        assert "--out" in refusal, refusal
        assert (out / "esl.sqlite").exists()

        labels = httpx.get(f"{url}/api/v1/health/labels", headers={"X-API-Key": token}, timeout=10)
        assert labels.status_code == 200, labels.text
    finally:
        first.send_signal(signal.SIGINT)
        try:
            first.wait(timeout=20)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait()
        if first.stdout is not None:
            first.stdout.close()
