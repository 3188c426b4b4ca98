"""Three `esl run` workers on one PostgreSQL database and a real Mosquitto share six
stores; one is killed with SIGKILL in the middle of a publication. Its stores are taken
over, every label converges (panel == record == due), nothing is lost, and duplicates
stay within the killed worker's windows (tests/workers/worker_kill.py; the same scenario
runs on the RabbitMQ cluster in tests/brokers/test_three_workers_on_cluster.py).

Real processes, PostgreSQL, a real Mosquitto, firmware_sim store gateways.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.chain import Chain
from tests.workers.worker_kill import kill_a_worker_mid_publication

pytestmark = pytest.mark.integration


async def test_a_killed_worker_mid_publication_is_taken_over_and_every_label_converges(
    chain: Chain, database_url: str, tmp_path: Path
) -> None:
    await kill_a_worker_mid_publication(
        chain, database_url=database_url, broker_urls=[chain.mosquitto.url], data_dir=tmp_path
    )
