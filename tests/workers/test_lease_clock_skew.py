"""Clock skew between worker hosts (docs/scale.md, *Lease semantics*). Before, leases
compared heartbeats each worker wrote with its own clock: two workers renewing every 2 s
(stale after 10 s), one host 9 s ahead, and the fast one took every store from the live
one for good; at 8.5 s with a wandering balance phase the stores moved back and forth.
Now every lease instant is the database's clock (esl/pipeline/database_clock.py).

A host ahead by `skew` is simulated as it is: both its controller clock (`now`) and its
wall clock (`wall`, what it measures the database's clock against) read `skew` ahead.
The database is the test's PostgreSQL, on this host's real clock."""

from __future__ import annotations

import itertools
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.lease_models import WorkerRow
from esl.pipeline.controller_lease import ControllerIdentity, LeaseTerms, take_lease
from esl.pipeline.errors import ControllerAlreadyRunningError
from esl.pipeline.store_leases import StoreLeaseTerms, balance_stores, record_acknowledged
from tests.support.database import START
from tests.workers.database import STORES

TERMS = StoreLeaseTerms(stale_after=timedelta(seconds=10), renew_every=timedelta(seconds=2))
SKEW = timedelta(seconds=9)  # the second host's clock is ahead; under the stale bound


def _host_ahead_by(skew_s: float) -> float:
    return time.time() + skew_s


def _balance(
    engine: Engine,
    worker: ControllerIdentity,
    *,
    clock_s: float,
    skew_s: float = 0.0,
    start: datetime = START,
) -> frozenset[str]:
    """`worker` balances at `clock_s` on its clock, its host `skew_s` ahead of the
    database's."""
    with session_factory(engine).begin() as session:
        return balance_stores(
            session,
            worker,
            now=start + timedelta(seconds=clock_s),
            terms=TERMS,
            wall=lambda: _host_ahead_by(skew_s),
        )


def test_a_live_worker_keeps_its_share_under_a_skew_below_the_stale_bound(engine: Engine) -> None:
    slow = ControllerIdentity.of_this_process(now=START)
    fast = ControllerIdentity.of_this_process(now=START)
    skew = SKEW.total_seconds()
    held: dict[str, frozenset[str]] = {}
    history: list[tuple[float, int, int]] = []
    # Real time t: `slow` balances at t (its clock: t), `fast` at t + 1.5 s (its clock:
    # t + 1.5 + skew). Both renew every 2 s, as their balance threads do; neither stalls.
    for step in range(15):
        t = 2.0 * step
        held["slow"] = _balance(engine, slow, clock_s=t)
        held["fast"] = _balance(engine, fast, clock_s=t + 1.5 + skew, skew_s=skew)
        history.append((t, len(held["slow"]), len(held["fast"])))
    assert held["slow"] | held["fast"] == frozenset(STORES)
    assert len(held["slow"]) == len(held["fast"]) == 3, (
        "a live worker renewing every 2 s lost its stores to a host 9 s ahead "
        f"(real second, stores held by slow, by fast): {history}"
    )


def test_stores_do_not_move_between_two_live_workers_under_a_small_skew(engine: Engine) -> None:
    """An 8.5 s skew, balance threads whose phase wanders by a few tenths of a second (a
    loaded host): the stores must settle, not move between the two live workers."""
    slow = ControllerIdentity.of_this_process(now=START)
    fast = ControllerIdentity.of_this_process(now=START)
    skew = 8.5
    holders: list[tuple[frozenset[str], frozenset[str]]] = []
    for step in range(20):
        t = 2.0 * step
        phase = 1.3 if step % 3 else 1.8  # the fast worker's balance lands 1.3-1.8 s later
        mine = _balance(engine, slow, clock_s=t)
        theirs = _balance(engine, fast, clock_s=t + phase + skew, skew_s=skew)
        holders.append((mine, theirs))
    settled = holders[5:]  # past the joining
    moves = sum(1 for before, after in itertools.pairwise(settled) if before != after)
    assert moves == 0, (
        f"stores moved {moves} times between two live workers in 30 s: "
        f"{[(len(a), len(b)) for a, b in holders]}"
    )


def test_a_killed_worker_is_taken_over_by_a_skewed_host_after_the_stale_bound(
    engine: Engine,
) -> None:
    """Skew neither hastens nor delays a takeover: a host 9 s behind takes a killed
    worker's stores once its heartbeat is 10 s old in the database's time, not 19 s."""
    killed = ControllerIdentity.of_this_process(now=START)
    behind = ControllerIdentity.of_this_process(now=START)
    _balance(engine, killed, clock_s=0)
    _balance(engine, behind, clock_s=0.5 - 9, skew_s=-9)
    kept = _balance(engine, killed, clock_s=1)
    taken = _balance(engine, behind, clock_s=1.5 - 9, skew_s=-9)
    assert kept | taken == frozenset(STORES)
    # `killed` stops renewing at 1 s. At 10.5 s its leases are fresh; at 11.5 s stale.
    assert _balance(engine, behind, clock_s=10.5 - 9, skew_s=-9) == taken
    assert _balance(engine, behind, clock_s=11.5 - 9, skew_s=-9) == frozenset(STORES)


def test_a_host_far_ahead_does_not_forget_a_live_workers_row(engine: Engine) -> None:
    """Workers silent for 10 stale bounds are forgotten; before, a host 2 minutes ahead
    deleted a live worker's row at each balance, and its acknowledged tally with it."""
    live = ControllerIdentity.of_this_process(now=START)
    ahead = ControllerIdentity.of_this_process(now=START)
    _balance(engine, live, clock_s=0)
    with session_factory(engine).begin() as session:
        record_acknowledged(session, live, 5)
    _balance(engine, ahead, clock_s=1 + 120, skew_s=120)
    with session_factory(engine)() as session:
        row = session.get(WorkerRow, live.holder)
        assert row is not None, "a live worker's row was deleted by a host 2 min ahead"
        assert row.acknowledged == 5


def test_a_controller_lease_is_not_taken_from_a_live_controller_by_a_host_ahead(
    engine: Engine,
) -> None:
    """The single controller's lease (`controller_leases`) is on the database's clock too."""
    terms = LeaseTerms(stale_after=timedelta(seconds=60), renew_every=timedelta(seconds=10))
    sessions = session_factory(engine)
    running = ControllerIdentity.of_this_process(now=START)
    ahead = ControllerIdentity.of_this_process(now=START)
    take_lease(sessions, running, now=START, terms=terms, wall=time.time)
    skew = timedelta(seconds=70)  # more than the stale bound
    with pytest.raises(ControllerAlreadyRunningError):
        take_lease(
            sessions,
            ahead,
            now=START + timedelta(seconds=5) + skew,
            terms=terms,
            wall=lambda: _host_ahead_by(skew.total_seconds()),
        )
    # Once the running one has been silent for the stale bound, it is taken over.
    take_lease(
        sessions,
        ahead,
        now=START + timedelta(seconds=61) + skew,
        terms=terms,
        wall=lambda: _host_ahead_by(skew.total_seconds()),
    )


def test_esl_workers_and_the_log_name_a_host_whose_clock_is_off(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Leases no longer mind a skewed host, but label flips and ledger instants do: the
    worker says so once in its log, and `esl workers` names its host. Lease ages read on
    the database's clock: the host ahead renewed 1 s ago, not 8 s in the future."""
    now = datetime.now(UTC)
    right = ControllerIdentity.of_this_process(now=now)
    ahead = ControllerIdentity.of_this_process(now=now)
    skew = SKEW.total_seconds()
    with caplog.at_level(logging.INFO, logger="esl.pipeline.store_leases"):
        _balance(engine, right, clock_s=-2, start=now)
        for clock_s in (-5 + skew, -3 + skew, -1 + skew):
            _balance(engine, ahead, clock_s=clock_s, skew_s=skew, start=now)
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert f"this host ({ahead.host}) is 9.0 s ahead of the database's" in warnings[0]
    assert "fix its NTP" in warnings[0]

    result = CliRunner().invoke(app, ["workers", "--json"], env={"ESL_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    by_worker = {view["client_id"]: view for view in json.loads(result.stdout)["workers"]}
    assert by_worker[ahead.mqtt_client_id]["clock_offset_s"] == pytest.approx(skew, abs=0.1)
    assert by_worker[right.mqtt_client_id]["clock_offset_s"] == 0
    assert 1 <= by_worker[ahead.mqtt_client_id]["heartbeat_age_s"] < 1 + 60
    assert 2 <= by_worker[right.mqtt_client_id]["heartbeat_age_s"] < 2 + 60
    assert f"the clock of {ahead.host} (worker {ahead.mqtt_client_id}) is 9.0 s ahead" in (
        result.stderr
    )
    assert right.mqtt_client_id not in result.stderr

    # The host's clock put right: the worker says so, and `esl workers` names nobody.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="esl.pipeline.store_leases"):
        _balance(engine, ahead, clock_s=0, start=now)
    assert [record.levelname for record in caplog.records] == ["INFO"]
    assert "agrees with the database's again" in caplog.records[0].getMessage()
    table = CliRunner().invoke(app, ["workers"], env={"ESL_DATABASE_URL": database_url})
    assert table.exit_code == 0, table.output
    assert "fix its NTP" not in table.stderr
    assert "clock_offset_s" in table.stdout
