"""Two workers may hold a store within one balance interval (one gave it up while its
pipeline thread was still planning it; the new holder plans it too), so both can write
the state of a label seen for the first time. The one that loses the race gets a unique
violation: its chunk rolls back and it goes on, planning what is still its own at the
next pass, instead of the worker process dying (as it did once on the RabbitMQ cluster
run: two of three workers gone in the first publication).

Here the other writer is a transaction of the test that writes one label's state and
holds it uncommitted until the worker's insert of that state waits on it (PostgreSQL
shows the wait), then commits: the worker's insert fails exactly as in the race.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text

from esl.composition import build_controller, controller_settings, controller_transport
from esl.db.models import LabelStateRow, OutboxRow
from esl.pipeline.controller_lease import ControllerIdentity
from esl.pipeline.store_leases import StoreLeaseTerms
from esl.settings import Settings
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = pytest.mark.integration

LABELS = 6


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query ILIKE '%label_states%'"
                )
            )
        )


def _planned(chain: Chain) -> int:
    with chain.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxRow)) or 0


async def test_a_worker_whose_new_label_state_was_written_by_another_goes_on_planning(
    chain: Chain, engine: Engine
) -> None:
    site = chain.add_store("S01", labels=LABELS)
    contested = sorted(site.gateway.labels)[0]
    # The other writer: the contested label's state, written and not yet committed.
    other = chain.sessions()
    other.begin()
    other.add(LabelStateRow(label_id=contested))
    other.flush()

    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    identity = ControllerIdentity.of_this_process(now=datetime.now(UTC))
    settings = controller_settings(
        Settings.defaults(),
        store_leases=StoreLeaseTerms(),
    )
    assert chain.broker is not None
    transport = controller_transport(chain.broker, client_id=identity.mqtt_client_id, stores=())
    stop = asyncio.Event()
    async with transport:
        controller = build_controller(
            settings,
            gateway=transport,
            sessions=chain.sessions,
            clock=wall_clock,
            rng=random.Random(1),
            identity=identity,
        )
        running = asyncio.create_task(controller.run(stop))
        try:
            await until(
                lambda: running.done() or _waiting_on_a_lock(engine),
                what="the worker's insert of the contested state waiting on the other writer",
                timeout_s=120,
            )
            other.commit()
            await until(
                lambda: running.done() or _planned(chain) == LABELS,
                what="every label of the store planned",
                timeout_s=120,
            )
            assert not running.done(), running.exception()
        finally:
            other.close()
            stop.set()
            await asyncio.wait_for(running, timeout=60)
    with chain.sessions() as session:
        states = session.scalar(select(func.count()).select_from(LabelStateRow))
    assert states == LABELS
