"""A throwaway PostgreSQL server for `esl bench scale` (not a suite: the name starts
with "_"): `initdb` into a temporary directory, `pg_ctl start` on a free loopback port,
removed on exit. As root, the server runs as the `postgres` user (it refuses root)."""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["throwaway_postgres"]


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty PostgreSQL server."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "`esl bench scale` needs the PostgreSQL server (apt-get install postgresql)"
        )
    bin_dir = Path(found[-1]).parent
    data_dir = Path(tempfile.mkdtemp(prefix="esl-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, user="postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres"])
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
    pg_ctl = str(bin_dir / "pg_ctl")
    _run([pg_ctl, "-D", str(data_dir), "-o", options, "-l", str(data_dir / "log"), "-w", "start"])
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run([pg_ctl, "-D", str(data_dir), "-m", "fast", "-w", "stop"])
        shutil.rmtree(data_dir, ignore_errors=True)


def _run(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
    subprocess.run(command, check=True, capture_output=True)
