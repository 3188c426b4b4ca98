"""`scripts/with-postgres` leaves no PostgreSQL behind when `make test` is stopped.

`make test` runs the suite inside scripts/with-postgres, which starts a throwaway cluster
with `pg_ctl` (a daemon outside make's process group, so Ctrl-C does not reach it) and
stops it from an EXIT trap. The trap was set only after `initdb` and `pg_ctl -w start` had
returned: a Ctrl-C (or a cancelled CI job's SIGTERM) while the cluster started left the
postgres server running, with its data directory in /tmp (each such run added another).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent


def _stop(cluster: Path) -> None:
    """Clean-up for the failing case: stop the cluster this test's script left behind."""
    pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    command = f"{pg_ctl} -D {cluster} -m immediate stop"
    if os.getuid() == 0:
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=False)
    else:
        subprocess.run(["sh", "-c", command], check=False)
    subprocess.run(["rm", "-rf", str(cluster)], check=False)


@pytest.mark.parametrize("when", ["starting", "running"])
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_run_stops_its_throwaway_postgres(
    stop: signal.Signals, when: str, tmp_path: Path
) -> None:
    """`running`: stopped while the tests run (holds). `starting`: stopped while its cluster
    starts (`pg_ctl -w start` waits for it), before the script sets its EXIT trap: Ctrl-C
    in the first seconds of the pytest step leaves a postgres server running."""
    # `make test` installs it first (scripts/system-packages).
    assert list(Path("/usr/lib/postgresql").glob("*/bin/initdb")), "PostgreSQL is not installed"
    env = {k: v for k, v in os.environ.items() if k != "ESL_TEST_POSTGRES_URL"}
    ready = tmp_path / "ready"
    trace = tmp_path / "trace"
    cluster: Path | None = None
    with trace.open("w") as sink, subprocess.Popen(
        # bash -x names the script's own cluster (`pgdata=...`): other runs may have theirs.
        # The command runs once the cluster is up and the script's EXIT trap is set.
        ["bash", "-x", str(ROOT / "scripts" / "with-postgres"), "sh", "-c",
         f"touch {ready}; sleep 60"],
        env=env,
        stderr=sink,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as process:  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if cluster is None:
                named = re.search(r"^\+ pgdata=(\S+)$", trace.read_text(), re.M)
                cluster = Path(named.group(1)) if named else None
            if when == "running" and ready.exists():
                break
            starting = "-w start" in trace.read_text()  # initdb done, `pg_ctl start` under way
            if (
                when == "starting"
                and starting
                and cluster
                and (cluster / "postmaster.pid").exists()
            ):
                break
            assert process.poll() is None, trace.read_text()
            assert time.monotonic() < deadline, trace.read_text()
            time.sleep(0.02)
        os.killpg(process.pid, stop)
        process.wait(timeout=120)  # a fast shutdown on a busy machine
    assert cluster is not None
    try:
        running = (cluster / "postmaster.pid").exists()
        assert not cluster.exists(), f"after {stop.name}: {cluster} left on disk, its server " + (
            "still running" if running else "stopped"
        )
    finally:
        if cluster.exists():
            _stop(cluster)
