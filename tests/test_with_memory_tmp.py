"""`scripts/with-memory-tmp` (how `make test` runs pytest) gives the command a TMPDIR of its
own in memory when /dev/shm has room, removes it after, whatever the command's exit, and
keeps a TMPDIR the caller set elsewhere than /tmp."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "with-memory-tmp"


def _room_in_memory() -> bool:
    if not os.access("/dev/shm", os.W_OK):
        return False
    stats = os.statvfs("/dev/shm")
    return stats.f_bavail * stats.f_frsize >= 4 * 1024**3


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "sh", "-c", command], env=env, capture_output=True, text=True, check=False
    )


def test_the_command_gets_a_tmpdir_in_memory_that_is_removed_after() -> None:
    env = {**os.environ, "TMPDIR": "/tmp"}
    done = _run('touch "$TMPDIR/written"; ls -d "$TMPDIR"; exit 3', env)
    assert done.returncode == 3, done.stderr  # the command's own exit status
    used = Path(done.stdout.strip())
    if _room_in_memory():
        assert used.parent == Path("/dev/shm"), used
        assert used.name.startswith("esl-test-tmp."), used
        assert not used.exists(), f"{used} left behind"
    else:
        assert used == Path("/tmp")


def test_a_tmpdir_of_the_callers_own_is_kept(tmp_path: Path) -> None:
    done = _run('ls -d "$TMPDIR"', {**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == tmp_path
    assert tmp_path.exists()
