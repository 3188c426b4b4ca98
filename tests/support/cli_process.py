"""`esl` run as its own process, the way an operator starts it, from this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quiet_esl_process(*args: str) -> subprocess.Popen[bytes]:
    """Start `esl ARGS` from the repository root; its output is discarded."""
    return subprocess.Popen(
        [sys.executable, "-c", "from esl.cli import main; main()", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
