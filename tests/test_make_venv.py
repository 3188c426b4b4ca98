"""`make demo` on a checkout whose `.venv` no longer works makes it again (or says, in one
line, what to run), as README.md's "creates .venv, installs, runs the demo" promises.

A `.venv` stops working without anyone touching it: the checkout is moved or renamed (the
scripts pip wrote name the old path), the Python that made it is removed, or a distribution
upgrade swaps `python3` for a newer minor version (the venv's packages live under the old
`lib/pythonX.Y`). The Makefile asked only whether `.venv/bin/python` and its stamp files
exist, so it ran the broken environment or failed inside `python -m venv`; it now asks
scripts/venv-works first.

Each test builds the broken `.venv` in a throwaway copy of the Makefile and runs
`make demo` there, stopping it as soon as it (re)installs; it passes when make repairs the
environment or names `make clean` / `rm -rf .venv`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_PYTHON = os.path.realpath(sys.executable)  # the interpreter behind the test venv
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def _project(directory: Path) -> Path:
    directory.mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", directory / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", directory / "pyproject.toml")
    (directory / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "venv-works", directory / "scripts" / "venv-works")
    return directory


def _installed_venv(project: Path, python: str) -> Path:
    """A .venv as `make demo` leaves it: made by `python`, the project "installed" (an
    `esl` script of pip's kind, with its package in site-packages), the stamp touched."""
    venv = project / ".venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{VERSION}" / "site-packages"
    (site / "esl_demo_marker.py").write_text("def main():\n    print('demo ran')\n")
    script = venv / "bin" / "esl"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nfrom esl_demo_marker import main\nmain()\n")
    script.chmod(0o755)
    time.sleep(0.01)
    (venv / ".installed-run").touch()
    return venv


def _make_demo(project: Path) -> tuple[bool, str]:
    """(whether make set about installing again, what it printed). Stopped at its first
    `pip install`: what follows is minutes of downloads this test does not need."""
    env = {**os.environ, "PYTHON": BASE_PYTHON}
    env.pop("VIRTUAL_ENV", None)
    lines = []
    reinstalling = False
    with subprocess.Popen(
        ["make", "demo"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "pip install" in line:
                reinstalling = True
                os.killpg(process.pid, signal.SIGKILL)
                break
        process.wait(timeout=60)
    return reinstalling, "".join(lines)


def _assert_repaired_or_explained(project: Path) -> None:
    reinstalling, output = _make_demo(project)
    explained = "make clean" in output or "rm -rf .venv" in output
    assert reinstalling or explained, (
        "make demo neither made .venv again nor said how to:\n" + output
    )
    assert "Traceback" not in output, output


def test_a_moved_checkout_gets_a_working_venv(tmp_path: Path) -> None:
    """`mv esl-price-sync shelf-labels`: .venv/bin/esl still starts with
    `#!/old/place/.venv/bin/python`, and make prints `make: .venv/bin/esl: No such file or
    directory` about a file that is there, on every run from then on."""
    before = _project(tmp_path / "esl-price-sync")
    _installed_venv(before, BASE_PYTHON)
    after = tmp_path / "shelf-labels"
    before.rename(after)
    _assert_repaired_or_explained(after)


def test_a_venv_whose_python_was_removed_is_made_again(tmp_path: Path) -> None:
    """The interpreter that made .venv is gone (pyenv version removed, python3.X purged):
    make sees no .venv/bin/python and runs `python3 -m venv .venv`, which stops with
    `Error: [Errno 2] No such file or directory: '.../.venv/bin/python3'`, every time."""
    gone = tmp_path / "old-python"
    gone.mkdir()
    (gone / "python3").symlink_to(BASE_PYTHON)
    project = _project(tmp_path / "project")
    _installed_venv(project, str(gone / "python3"))
    shutil.rmtree(gone)
    _assert_repaired_or_explained(project)


def test_a_venv_left_by_an_older_python_is_made_again(tmp_path: Path) -> None:
    """After a distribution upgrade (Debian 12 to 13: python3 3.11 to 3.13) .venv/bin/python
    is the new interpreter and the installed packages sit under the old lib/python3.X: the
    stamps are there, so make runs `esl demo` and the newcomer gets
    `ModuleNotFoundError` with a traceback."""
    project = _project(tmp_path / "project")
    venv = _installed_venv(project, BASE_PYTHON)
    old = f"{sys.version_info.major}.{sys.version_info.minor - 1}"
    (venv / "lib" / f"python{VERSION}").rename(venv / "lib" / f"python{old}")
    config = venv / "pyvenv.cfg"
    lines = config.read_text().splitlines()
    config.write_text(
        "\n".join(f"version = {old}.0" if ln.startswith("version") else ln for ln in lines) + "\n"
    )
    _assert_repaired_or_explained(project)


def test_a_working_venv_is_used_as_it_is(tmp_path: Path) -> None:
    """The control: with a sound .venv, make runs the installed `esl demo` and installs
    nothing (so the failures above are about the broken .venv, not this harness)."""
    project = _project(tmp_path / "project")
    _installed_venv(project, BASE_PYTHON)
    reinstalling, output = _make_demo(project)
    assert not reinstalling, output
    assert "demo ran" in output, output
