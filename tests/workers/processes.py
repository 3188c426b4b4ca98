"""`esl run` workers as their own processes, the way an operator starts them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from esl.bench._worker_processes import start_esl_run, stop_gracefully

ROOT = Path(__file__).resolve().parents[2]

# Quick leases so a killed worker costs a test seconds; an acknowledgement timeout long
# enough that a loaded machine's slow answers are not sent again.
WORKER_ENV = {
    "ESL_STORE_LEASE_STALE_AFTER": "5",
    "ESL_STORE_LEASE_RENEW_S": "0.5",
    "ESL_RETRY_ACK_TIMEOUT_S": "60",
    "ESL_RETRY_BASE_DELAY_S": "0.2",
    "ESL_RETRY_MAX_DELAY_S": "2",
    "ESL_RETRY_MAX_ATTEMPTS": "6",
    "ESL_RETRY_BUSY_DELAY_S": "1",
    # The test's simulated labels run on an accelerated clock, ahead of the workers'.
    "ESL_LABEL_CLOCK_TOLERANCE_S": "0",
}


def start_worker(
    *,
    database_url: str,
    broker_url: str,
    data_dir: Path,
    window: int = 16,
    settings: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`esl run` on the database; its output goes to `data_dir`/worker.log. `settings`
    (ESL_ variables) are added to WORKER_ENV's."""
    env = {
        **os.environ,
        **WORKER_ENV,
        **(settings or {}),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "ESL_DATABASE_URL": database_url,
        "ESL_BROKER_URL": broker_url,
    }
    env.pop("ESL_ENV_FILE", None)
    return start_esl_run(env, data_dir, poll_s=0.2, window=window, cwd=ROOT)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    stop_gracefully(process, timeout_s=20)
