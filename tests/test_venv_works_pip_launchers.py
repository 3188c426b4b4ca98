"""scripts/venv-works must say 0 for a .venv that works, whatever launcher pip wrote.

pip (distlib) writes `#!<venv>/bin/python` only when that path is short and has no
space; for a checkout under a path with a space ("/home/anna/My Projects/esl") or longer
than 127 characters (CI runners' nested build directories) it writes the portable
launcher `#!/bin/sh` + `'''exec' "<venv>/bin/python" "$0" "$@"`. venv-works reads only the
first line, takes /bin as the place the script names, and says the .venv no longer works:
the Makefile then removes a working .venv (rm -rf) and reinstalls everything on every
`make demo` / `make test`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE_PYTHON = os.path.realpath(sys.executable)


def _wheel(directory: Path) -> Path:
    """A tiny wheel with an `esl` console script, as the project's."""
    wheel = directory / "eslmark-1.0-py3-none-any.whl"
    dist = "eslmark-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("eslmark.py", "def main():\n    print('esl ran')\n")
        zf.writestr(f"{dist}/METADATA", "Metadata-Version: 2.1\nName: eslmark\nVersion: 1.0\n")
        zf.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{dist}/entry_points.txt", "[console_scripts]\nesl = eslmark:main\n")
        zf.writestr(f"{dist}/RECORD", "")
    return wheel


def _working_venv(checkout: Path, wheel: Path) -> Path:
    checkout.mkdir(parents=True)
    venv = checkout / ".venv"
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
    )
    # The control: the .venv works, its esl runs.
    ran = subprocess.run([str(venv / "bin" / "esl")], capture_output=True, text=True)
    assert ran.stdout.strip() == "esl ran", ran
    return venv


@pytest.mark.parametrize(
    "place",
    ["My Projects/esl-price-sync", "builds/" + "/".join(["group-subgroup-runner"] * 5) + "/esl"],
    ids=["path-with-a-space", "path-over-127-characters"],
)
def test_a_working_venv_is_said_to_work(tmp_path: Path, place: str) -> None:
    venv = _working_venv(tmp_path / place, _wheel(tmp_path))
    first = (venv / "bin" / "esl").read_text().splitlines()[0]
    verdict = subprocess.run(
        ["sh", str(ROOT / "scripts" / "venv-works"), str(venv)], capture_output=True
    )
    assert verdict.returncode == 0, (
        f"venv-works says a working .venv (its esl runs; pip's launcher starts {first!r}) "
        "no longer works: make removes it and reinstalls on every run"
    )


def test_make_dry_run_keeps_a_working_venv_under_a_path_with_a_space(tmp_path: Path) -> None:
    """`make -n lint` (a dry run: "print the commands, run none") in a checkout under
    "My Projects": the Makefile's $(shell rm -rf .venv) runs while the Makefile is read,
    dry run or not, and the working .venv is gone."""
    import shutil

    checkout = tmp_path / "My Projects" / "esl-price-sync"
    venv = _working_venv(checkout, _wheel(tmp_path))
    shutil.copy(ROOT / "Makefile", checkout / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    (checkout / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "venv-works", checkout / "scripts" / "venv-works")
    env = {**os.environ, "PYTHON": BASE_PYTHON}
    env.pop("VIRTUAL_ENV", None)
    made = subprocess.run(
        ["make", "-n", "lint"], cwd=checkout, env=env, capture_output=True, text=True
    )
    assert (venv / "bin" / "esl").exists(), (
        "make -n removed a working .venv (its esl ran):\n" + made.stdout + made.stderr
    )
