"""The store leases on PostgreSQL: a fair share each, a joining worker gets its share,
a silent worker's stores are taken over once stale (not before), and two workers
looking at once never take the same store."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.lease_models import StoreLeaseRow, WorkerRow
from esl.pipeline.controller_lease import ControllerIdentity
from esl.pipeline.store_leases import StoreLeaseTerms, balance_stores, leave
from tests.support.database import START
from tests.workers.database import STORES

TERMS = StoreLeaseTerms(stale_after=timedelta(seconds=10), renew_every=timedelta(seconds=2))


def _worker() -> ControllerIdentity:
    return ControllerIdentity.of_this_process(now=START)


def _balance(engine: Engine, worker: ControllerIdentity, *, after_s: float) -> frozenset[str]:
    with session_factory(engine).begin() as session:
        return balance_stores(session, worker, now=START + timedelta(seconds=after_s), terms=TERMS)


def _holders(engine: Engine) -> dict[str, str | None]:
    with session_factory(engine)() as session:
        return {row.store: row.holder for row in session.scalars(select(StoreLeaseRow))}


def test_one_worker_holds_every_store_and_a_second_takes_half(engine: Engine) -> None:
    first, second = _worker(), _worker()
    assert _balance(engine, first, after_s=0) == frozenset(STORES)

    # The newcomer registers; nothing is free yet.
    assert _balance(engine, second, after_s=1) == frozenset()
    # The first sees two live workers and gives up its surplus...
    kept = _balance(engine, first, after_s=2)
    assert len(kept) == 3
    # ...which the second takes at its next look.
    taken = _balance(engine, second, after_s=3)
    assert taken == frozenset(STORES) - kept
    holders = _holders(engine)
    assert {holders[store] for store in kept} == {first.holder}
    assert {holders[store] for store in taken} == {second.holder}
    # Stable from then on: nobody gives up or takes anything.
    assert _balance(engine, first, after_s=4) == kept
    assert _balance(engine, second, after_s=5) == taken


def test_a_silent_worker_is_taken_over_once_stale_and_not_before(engine: Engine) -> None:
    first, second = _worker(), _worker()
    _balance(engine, first, after_s=0)
    _balance(engine, second, after_s=0.5)
    kept = _balance(engine, first, after_s=1)
    taken = _balance(engine, second, after_s=1.5)
    assert kept | taken == frozenset(STORES)

    # `first` stops renewing (kill -9). Within the stale bound its stores stay its own.
    assert _balance(engine, second, after_s=10.5) == taken
    assert {_holders(engine)[store] for store in kept} == {first.holder}
    # Past it they are the survivor's: every store, as it is alone.
    assert _balance(engine, second, after_s=11.5) == frozenset(STORES)
    # The silent worker, back, holds nothing more; the fair share makes room for it.
    assert _balance(engine, first, after_s=12) == frozenset()


def test_a_stopping_worker_frees_its_stores_at_once(engine: Engine) -> None:
    first, second = _worker(), _worker()
    _balance(engine, first, after_s=0)
    _balance(engine, second, after_s=0.5)
    _balance(engine, first, after_s=1)
    with session_factory(engine).begin() as session:
        leave(session, first)
        assert session.get(WorkerRow, first.holder) is None
    # Well within the stale bound, the survivor holds everything.
    assert _balance(engine, second, after_s=2) == frozenset(STORES)


def test_two_workers_looking_at_once_take_different_stores(engine: Engine) -> None:
    first, second = _worker(), _worker()
    # Both are registered and live, and no store is held yet: three stores each.
    with session_factory(engine).begin() as session:
        session.add_all(
            WorkerRow(
                holder=worker.holder,
                pid=worker.pid,
                host=worker.host,
                mqtt_client_id=worker.mqtt_client_id,
                started_at=START,
                heartbeat_at=START,
                acknowledged=0,
            )
            for worker in (first, second)
        )
        # The stores' lease rows exist (the first look of all writes them, once).
        session.add_all(StoreLeaseRow(store=store) for store in STORES)
    sessions = session_factory(engine)
    first_session = sessions()
    try:
        first_session.begin()
        # `first` balances and keeps its transaction (and its row locks) open...
        mine = balance_stores(first_session, first, now=START + timedelta(seconds=1), terms=TERMS)
        theirs: list[frozenset[str]] = []
        # ...while `second` balances in another: SKIP LOCKED, it neither waits nor
        # takes the stores `first` is taking.
        looking = threading.Thread(
            target=lambda: theirs.append(_balance(engine, second, after_s=1.5))
        )
        looking.start()
        looking.join(timeout=30)
        assert not looking.is_alive(), "the second worker waited for the first's locks"
        first_session.commit()
    finally:
        first_session.close()
    assert len(mine) == len(theirs[0]) == 3
    assert not mine & theirs[0]
    holders = _holders(engine)
    assert all(holders[store] == first.holder for store in mine)
    assert all(holders[store] == second.holder for store in theirs[0])
