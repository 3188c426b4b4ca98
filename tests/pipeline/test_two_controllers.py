"""Two `esl run` processes on one database: the second refuses to start and names the
first; a controller killed with SIGKILL is taken over once its lease is stale; the two
never share an MQTT session.

Real processes, one SQLite database, a real Mosquitto, a firmware_sim store gateway.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from esl.bench._worker_processes import stop_gracefully
from esl.db.lease_models import ControllerLeaseRow
from esl.pipeline.controller_lease import (
    ControllerIdentity,
    LeaseTerms,
    release_lease,
    take_lease,
)
from esl.pipeline.errors import ControllerAlreadyRunningError
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _esl_run(chain: Chain, data_dir: Path, *, stale_s: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "ESL_DATA_DIR": str(data_dir),
        "ESL_DATABASE_URL": str(chain.engine.url),
        "ESL_BROKER_URL": chain.broker.url,
        "ESL_CONTROLLER_LEASE_STALE_S": str(stale_s),
        "ESL_CONTROLLER_LEASE_RENEW_S": "0.3",
    }
    env.pop("ESL_ENV_FILE", None)
    return subprocess.Popen(
        [sys.executable, "-c", "from esl.cli import main; main()", "run", "--poll", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lease(chain: Chain) -> ControllerLeaseRow | None:
    with chain.sessions() as session:
        return session.scalars(select(ControllerLeaseRow)).first()


async def _wait_for_lease_of(chain: Chain, pid: int) -> ControllerLeaseRow:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lease = _lease(chain)
        if lease is not None and lease.pid == pid:
            return lease
        await asyncio.sleep(0.1)
    raise AssertionError(f"process {pid} never took the lease")


async def _exit_of(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    return process.returncode, stderr


async def test_a_second_controller_refuses_to_start_and_a_killed_one_is_taken_over(
    chain: Chain, tmp_path: Path
) -> None:
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    chain.add_store("S01", labels=6)
    await chain.start_gateway("S01")
    processes: list[subprocess.Popen[str]] = []
    try:
        first = _esl_run(chain, tmp_path / "a", stale_s=600)
        processes.append(first)
        await _wait_for_lease_of(chain, first.pid)
        await chain.wait_converged(wall_clock())

        # The operator's mistake: a second controller on the same database.
        second = _esl_run(chain, tmp_path / "b", stale_s=600)
        processes.append(second)
        code, stderr = await _exit_of(second)
        assert code == 1
        lines = [line for line in stderr.splitlines() if line.startswith("esl run:")]
        assert len(lines) == 1, stderr
        assert f"pid {first.pid} on {socket.gethostname()}" in lines[0]
        assert "another controller runs on this database" in lines[0]
        assert "Traceback" not in stderr

        # The first carries on undisturbed: a new price reaches every label.
        publish_prices(chain.sessions, {"MLK-1": "3.19", "CFE-1": "57.99"}, now=wall_clock())
        await chain.wait_converged(wall_clock())

        # A crash leaves the lease behind: refused while it is fresh...
        first.send_signal(signal.SIGKILL)
        stdout, _ = first.communicate(timeout=10)
        # Its MQTT session was its own: the client id names its host and pid.
        client_id = ControllerIdentity(
            holder="", pid=first.pid, host=socket.gethostname(), started_at=wall_clock()
        ).mqtt_client_id.rstrip("-")
        assert f"as {client_id}" in stdout
        killed_lease = _lease(chain)
        assert killed_lease is not None
        assert killed_lease.pid == first.pid
        refused = _esl_run(chain, tmp_path / "c", stale_s=600)
        processes.append(refused)
        code, stderr = await _exit_of(refused)
        assert code == 1
        assert f"pid {first.pid}" in stderr
        # ... and taken over once it is older than the stale bound.
        third = _esl_run(chain, tmp_path / "d", stale_s=1.0)
        processes.append(third)
        await _wait_for_lease_of(chain, third.pid)
        publish_prices(chain.sessions, {"CHS-1": "9.49"}, now=wall_clock())
        await chain.wait_converged(wall_clock())
        stop_gracefully(third, timeout_s=20)
        assert third.returncode == 0
        assert _lease(chain) is None  # a clean stop releases it
    finally:
        for process in processes:
            stop_gracefully(process, timeout_s=20)


def _race_for_the_lease(
    chain: Chain, rivals: list[ControllerIdentity], *, now: datetime, terms: LeaseTerms
) -> dict[str, ControllerAlreadyRunningError | None]:
    """Each rival takes the lease in its own thread (its own connection), all released at
    once by a barrier: the holder of each, or the refusal it got."""
    start = threading.Barrier(len(rivals))
    outcomes: dict[str, ControllerAlreadyRunningError | None] = {}

    def take(identity: ControllerIdentity) -> None:
        start.wait(timeout=30)
        try:
            take_lease(chain.sessions, identity, now=now, terms=terms)
        except ControllerAlreadyRunningError as error:
            outcomes[identity.holder] = error
        else:
            outcomes[identity.holder] = None

    threads = [threading.Thread(target=take, args=(identity,)) for identity in rivals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_controllers_taking_the_lease_at_once_cannot_both_win(chain: Chain) -> None:
    terms = LeaseTerms(stale_after=timedelta(minutes=1), renew_every=timedelta(seconds=10))
    now = wall_clock()
    rivals = [
        ControllerIdentity(holder=f"rival-{n}", pid=1000 + n, host="here", started_at=now)
        for n in range(2)
    ]
    for _ in range(5):
        outcomes = _race_for_the_lease(chain, rivals, now=now, terms=terms)
        winners = [holder for holder, refused in outcomes.items() if refused is None]
        assert len(outcomes) == 2, outcomes
        assert len(winners) == 1, outcomes
        lease = _lease(chain)
        assert lease is not None
        assert lease.holder == winners[0]
        (refusal,) = (error for error in outcomes.values() if error is not None)
        assert refusal.pid == lease.pid  # the loser is told who runs
        with chain.sessions.begin() as session:
            release_lease(session, next(r for r in rivals if r.holder == winners[0]))

    winner = ControllerIdentity.of_this_process(now=now)
    loser = ControllerIdentity(holder="other", pid=winner.pid + 1, host="elsewhere", started_at=now)
    take_lease(chain.sessions, winner, now=now, terms=terms)
    take_lease(chain.sessions, winner, now=now + timedelta(seconds=5), terms=terms)  # its own
    with pytest.raises(ControllerAlreadyRunningError) as refused:
        take_lease(chain.sessions, loser, now=now + timedelta(seconds=59), terms=terms)
    assert refused.value.pid == winner.pid
    take_lease(chain.sessions, loser, now=now + timedelta(seconds=66), terms=terms)  # stale
    lease = _lease(chain)
    assert lease is not None
    assert lease.holder == "other"
    assert winner.mqtt_client_id != loser.mqtt_client_id
