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
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text

from esl.composition import build_controller, controller_transport
from esl.db.engine import session_factory
from esl.db.models import LabelStateRow, OutboxRow
from esl.pipeline import UpdateController
from esl.pipeline.controller_lease import ControllerIdentity
from esl.pipeline.provisioning import register_provisioned_labels
from esl.pipeline.store_leases import StoreLeaseTerms, balance_stores
from esl.services.labels import bind_label
from gateways.protocol import LabelProvision
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import ADMIN, publish_prices
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


@contextlib.asynccontextmanager
async def _running_worker(
    chain: Chain, identity: ControllerIdentity, terms: StoreLeaseTerms
) -> AsyncIterator[tuple[UpdateController, asyncio.Task[None]]]:
    """A worker controller (store leases `terms`) running over the chain's broker, with
    its task; stopped on the way out."""
    settings = chain.timings.controller_settings(chain.settings, store_leases=terms)
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
            yield controller, running
        finally:
            stop.set()
            await asyncio.wait_for(running, timeout=60)


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
    async with _running_worker(chain, identity, StoreLeaseTerms()) as (_, running):
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
    with chain.sessions() as session:
        states = session.scalar(select(func.count()).select_from(LabelStateRow))
    assert states == LABELS


# A store taken over is planned again by its new holder (`_replan_stores`): a binding its
# previous holder never saw, a plan it did not finish. The new holder saw that binding
# earlier but skipped it (not its store then), so the takeover re-plan is the only thing
# that plans it before the periodic re-plan (15 min). That re-plan is exactly where two
# workers meet on one store: when its chunk collides as above, it must be tried again at
# the next pass, not dropped. The other worker is its lease rows, renewed by the test,
# and its uncommitted chunk the test's open transaction.
TERMS = StoreLeaseTerms(stale_after=timedelta(seconds=3), renew_every=timedelta(milliseconds=500))
STORE = "S06"  # last in store order: the one a worker gives up when another joins


async def test_a_store_taken_over_is_replanned_even_when_its_first_replan_collided(
    chain: Chain, engine: Engine
) -> None:
    site = chain.add_store(STORE, labels=6)
    await chain.start_gateways()
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    worker = ControllerIdentity.of_this_process(now=datetime.now(UTC))
    other = ControllerIdentity.of_this_process(now=datetime.now(UTC))
    sessions = session_factory(engine)
    async with _running_worker(chain, worker, TERMS) as (controller, running):
        contested = sessions()
        try:
            # Alone, the worker holds every store: the labels show their prices.
            await chain.wait_converged(wall_clock(), timeout_s=60)

            # A second worker joins: the first gives up its surplus (S04-S06), it takes them.
            def other_balances() -> frozenset[str]:
                with sessions.begin() as session:
                    return balance_stores(session, other, now=wall_clock(), terms=TERMS)

            held: frozenset[str] = frozenset()

            def other_took_it() -> bool:
                nonlocal held
                held = other_balances()
                return STORE in held and STORE not in (controller.stores or frozenset())

            await until(other_took_it, what="the other worker holding S06", timeout_s=30)

            # While the other worker holds it, a label just unpacked is registered and
            # bound there (the other worker's next look plans it); a moment later a clerk
            # re-binds another label of the store to another product.
            with chain.sessions.begin() as session:
                register_provisioned_labels(
                    session,
                    [LabelProvision("S06-NEW-0001", chain.model_id, bytes(range(32)))],
                    store=STORE,
                    gateway=site.config.gateway,
                    now=wall_clock(),
                )
                newest = bind_label(
                    session,
                    principal=ADMIN,
                    label_id="S06-NEW-0001",
                    sku="MLK-1",
                    template="standard",
                    now=wall_clock(),
                ).id
            rebound = sorted(site.gateway.labels)[0]
            sku = "CFE-1" if chain.bindings[rebound] != "CFE-1" else "CHS-1"
            with chain.sessions.begin() as session:
                binding = bind_label(
                    session,
                    principal=ADMIN,
                    label_id=rebound,
                    sku=sku,
                    template="standard",
                    now=wall_clock(),
                ).id
            chain.bindings[rebound] = sku
            # The first worker sees both bindings and skips them: not its store.
            await until(
                lambda: (
                    other_balances() and (controller._bindings.seen or 0) >= max(binding, newest)
                ),
                what="the worker having looked at the new bindings",
                timeout_s=30,
            )
            # The other worker, planning the new label (it never saw the re-binding), has
            # written its state and not committed yet when it stalls past its lease.
            contested.begin()
            contested.add(LabelStateRow(label_id="S06-NEW-0001"))
            contested.flush()
            # Its leases go stale: the worker takes S06 over and plans it again; its insert
            # of the new label's state meets the other's.
            await until(
                lambda: running.done() or _waiting_on_a_lock(engine),
                what="the worker's takeover re-plan waiting on the other worker's chunk",
                timeout_s=60,
            )
            contested.commit()
            assert not running.done()
            # The re-bound label must get its new product's price, long before the
            # periodic re-plan (15 min).
            # (The label just registered has no simulated panel: only the panels count.)
            await until(
                lambda: not chain.mismatches(wall_clock()),
                what="the re-bound label showing its new product's price",
                timeout_s=45,
            )
            with chain.sessions() as session:
                state = session.get(LabelStateRow, rebound)
                assert state is not None
            assert state.binding_id == binding
        finally:
            contested.close()
