"""`esl` run as its own process, the way an operator starts it, from this checkout; and a
fresh interpreter asked what an import pulls in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
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


def libraries_loaded_by(imports: str, libraries: Sequence[str]) -> list[str]:
    """Which of `libraries` a fresh interpreter holds after `import <imports>`."""
    code = f"import sys, {imports}; print(*(m for m in {tuple(libraries)!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()
