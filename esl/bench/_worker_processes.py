"""`esl run` workers as their own processes, started and stopped the way an operator does:
the scale bench and the worker tests drive the same ones."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["start_esl_run", "stop_gracefully"]


def start_esl_run(
    env: Mapping[str, str],
    data_dir: Path,
    *,
    poll_s: float,
    window: int,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """`esl run` with `env` and ESL_DATA_DIR=`data_dir`; its output goes to
    `data_dir`/worker.log."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "worker.log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from esl.cli import main; main()",
                "run",
                "--poll",
                str(poll_s),
                "--window",
                str(window),
            ],
            cwd=cwd,
            env={**env, "ESL_DATA_DIR": str(data_dir)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop_gracefully(process: subprocess.Popen[Any], *, timeout_s: float) -> None:
    """SIGTERM, so the process lets its store leases go and closes; killed if it has not
    exited within `timeout_s`. communicate() drains any pipes, so a process with a full
    one cannot keep us waiting."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)
