"""One demo per output folder: a second `esl demo` on a folder a demo uses (serving, or
still running) would delete its database from under it.

The demo holds an exclusive `flock` on `<out>/.lock` for its whole life and writes its pid
there; the lock goes with the process, so a killed demo never leaves its folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from pricing.errors import EslError

__all__ = ["DemoOutputInUseError", "holding_output_dir"]

LOCK_FILE_NAME = ".lock"


class DemoOutputInUseError(EslError):
    """Another demo (`pid`) uses the output folder `out_dir`."""

    code = "demo_output_in_use"

    def __init__(self, out_dir: Path, pid: int | None) -> None:
        who = f"another demo (pid {pid})" if pid is not None else "another demo"
        super().__init__(
            f"{who} uses {out_dir}: stop it, or pass another --out",
            out_dir=str(out_dir),
            pid=pid,
        )
        self.out_dir = out_dir
        self.pid = pid


@contextlib.contextmanager
def holding_output_dir(out_dir: Path) -> Iterator[None]:
    """Hold `out_dir` (created if need be) for this demo alone; `DemoOutputInUseError`
    when another holds it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Opened without truncating: the holder's pid stays readable until the lock is ours.
    descriptor = os.open(out_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoOutputInUseError(out_dir, _holder(descriptor)) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _holder(descriptor: int) -> int | None:
    text = os.pread(descriptor, 32, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() else None
