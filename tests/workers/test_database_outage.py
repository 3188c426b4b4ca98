"""A worker cut from its database for longer than its leases: the network between the
`esl run` and PostgreSQL fails (tests/support/database_link.py), not its thread.

Two workers share six stores. One is cut off; the other takes its stores over and sends
a new publication to them. When the link is back, the worker that was cut off writes
nothing over the new holder (no frame put back or parked, no gateway state, no label
left on the old price), notices it lost its stores, takes back only the share the
balance gives it and serves that. The labels end showing what is due, the record says
what the panels show, and `esl health` counts no failure. A lone worker cut off the same
way waits and carries on.

Real processes, PostgreSQL, a real Mosquitto, firmware_sim store gateways; the labels
on an accelerated clock, the workers on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from esl.cli import app as cli_app
from esl.db.lease_models import StoreLeaseRow, WorkerRow
from esl.db.models import OutboxRow
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.database_link import DatabaseLink
from tests.support.pipeline import publish_prices
from tests.support.waiting import until
from tests.workers.converged import wait_every_panel_due
from tests.workers.database import STORES
from tests.workers.processes import WORKER_ENV, start_worker, stop_worker

pytestmark = pytest.mark.integration

LABELS_PER_STORE = 8
# Small windows: the new holder's frames are still on their way when the link is back.
WINDOW = 2
PRICES_A = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
PRICES_B = {"MLK-1": "3.19", "CHS-1": "9.49", "CFE-1": "57.99"}
PRICES_C = {"MLK-1": "3.29", "CHS-1": "9.19", "CFE-1": "56.99"}
# A database back is seen within a second (the default waits up to 30 s between tries).
QUICK_RETRY = {"ESL_DATABASE_RETRY_FIRST_S": "0.2", "ESL_DATABASE_RETRY_LONGEST_S": "1"}
STALE_AFTER_S = float(WORKER_ENV["ESL_STORE_LEASE_STALE_AFTER"])


# Silent: the worker's database work hangs through the cut. Refused: it fails at every
# try, and the worker rides the outage out (esl/pipeline/database_outage.py).
CUTS = pytest.mark.parametrize("refused", [False, True], ids=["silent", "refused"])


@pytest.fixture
def link(database_url: str) -> Iterator[DatabaseLink]:
    link = DatabaseLink(database_url)
    yield link
    link.close()


def _holders(chain: Chain) -> dict[str, str | None]:
    with chain.sessions() as session:
        return {row.store: row.holder for row in session.scalars(select(StoreLeaseRow))}


def _worker(chain: Chain, process: subprocess.Popen[bytes]) -> WorkerRow | None:
    with chain.sessions() as session:
        return session.scalar(select(WorkerRow).where(WorkerRow.pid == process.pid))


def _registered(chain: Chain, process: subprocess.Popen[bytes]) -> WorkerRow:
    row = _worker(chain, process)
    assert row is not None, f"worker {process.pid} is not registered"
    return row


def _held_by(chain: Chain, holder: str) -> set[str]:
    return {store for store, held in _holders(chain).items() if held == holder}


async def _converged(chain: Chain) -> None:
    await wait_every_panel_due(chain, labels_per_store=LABELS_PER_STORE, settle_s=300)
    assert chain.record_mismatches() == [], "the record says otherwise than the panels"


def _frames_received(chain: Chain) -> dict[str, int]:
    return {store: site.gateway.stats.frames_received for store, site in chain.sites.items()}


def _frames_planned(chain: Chain) -> dict[str, int]:
    with chain.sessions() as session:
        return dict(
            session.execute(select(OutboxRow.store, func.count()).group_by(OutboxRow.store)).all()
        )


def _health(
    monkeypatch: pytest.MonkeyPatch, *, database_url: str, data_dir: Path
) -> dict[str, Any]:
    """`esl health --json` as an operator on the worker's host runs it."""
    monkeypatch.setenv("ESL_DATABASE_URL", database_url)
    monkeypatch.setenv("ESL_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(cli_app, ["health", "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def _assert_healthy(report: dict[str, Any]) -> None:
    """Every label up to date, none failed, offline or waiting; the controller running,
    its database answering."""
    for store in report["stores"]:
        assert store["up_to_date"] == store["labels"] == LABELS_PER_STORE, store
        assert (store["failed"], store["offline"], store["pending"]) == (0, 0, 0), store
        assert store["failures"] == {}, store
    controller = report["controller"]
    assert controller["running"], controller
    assert controller["database_unreachable_since"] is None, controller


def _outage_said_as_one(log: str, *, refused: bool) -> None:
    """The worker's log says the database unreachable once, then again every few tries
    (`DatabaseOutage`), until it says it reachable again: nothing else about it in
    between (the stores it lost, and answers it refused, aside). A silent cut may end
    with no failed try: its connections hang, then are reset and opened again."""
    warnings = [
        line.split(" WARNING ", 1)[1]
        for line in log.splitlines()
        if " WARNING " in line and "esl.pipeline.settlement" not in line
    ]
    away = [index for index, line in enumerate(warnings) if "database unreachable since" in line]
    if refused:
        assert away, "the worker did not say its database was unreachable"
    for start in away:
        for line in warnings[start + 1 :]:
            if "database reachable again" in line:
                break
            assert "database still unreachable" in line or " lost [" in line, (
                f"said while its database was away: {line}"
            )


async def _stores_with_labels(chain: Chain) -> None:
    publish_prices(chain.sessions, PRICES_A, now=wall_clock())
    for store in STORES:
        chain.add_store(store, labels=LABELS_PER_STORE)
    await chain.start_gateways()


@CUTS
async def test_a_worker_cut_from_the_database_past_its_leases_writes_nothing_over_the_holder(
    chain: Chain,
    database_url: str,
    link: DatabaseLink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refused: bool,
) -> None:
    await _stores_with_labels(chain)
    cut_dir, other_dir = tmp_path / "cut", tmp_path / "other"
    cut_off = start_worker(
        database_url=link.url,
        broker_url=chain.mosquitto.url,
        data_dir=cut_dir,
        window=WINDOW,
        settings=QUICK_RETRY,
    )
    other = start_worker(
        database_url=database_url,
        broker_url=chain.mosquitto.url,
        data_dir=other_dir,
        window=WINDOW,
        settings=QUICK_RETRY,
    )
    try:
        await until(
            lambda: all((_worker(chain, cut_off), _worker(chain, other))),
            what="both workers registered",
            timeout_s=60,
        )
        cut_holder = _registered(chain, cut_off).holder
        other_holder = _registered(chain, other).holder
        await until(
            lambda: len(_held_by(chain, cut_holder)) == len(_held_by(chain, other_holder)) == 3,
            what="each worker holding three stores",
            timeout_s=120,
        )
        await _converged(chain)
        its_stores = _held_by(chain, cut_holder)
        received_before, planned_before = _frames_received(chain), _frames_planned(chain)

        said_before_the_cut = len((cut_dir / "worker.log").read_text())
        link.cut(refused=refused)
        publish_prices(chain.sessions, PRICES_B, now=wall_clock())
        await until(
            lambda: _held_by(chain, other_holder) == set(STORES),
            what="the other worker taking over the stores of the one cut off",
            timeout_s=STALE_AFTER_S + 60,
        )
        assert cut_off.poll() is None, "the worker cut off ended"
        # Back while the holder sends the new prices to the stores it took over.
        link.restore()

        # The worker cut off takes its share again, from the holder's surplus, and
        # serves it: a publication after that reaches every label.
        await until(
            lambda: len(_held_by(chain, cut_holder)) == len(_held_by(chain, other_holder)) == 3,
            what="the worker cut off holding its share again",
            timeout_s=120,
        )
        await _converged(chain)
        acknowledged_before = _registered(chain, cut_off).acknowledged
        publish_prices(chain.sessions, PRICES_C, now=wall_clock())
        await _converged(chain)
        await until(
            lambda: _registered(chain, cut_off).acknowledged > acknowledged_before,
            what="the worker cut off serving the stores it holds",
            timeout_s=60,
        )
        assert cut_off.poll() is None
        assert other.poll() is None

        # Sent twice: at most what the holder had in flight when it gave its surplus
        # back; nothing of the holder's put back by the worker cut off and sent again.
        received, planned = _frames_received(chain), _frames_planned(chain)
        for store in STORES:
            again = (received[store] - received_before[store]) - (
                planned[store] - planned_before[store]
            )
            assert 0 <= again <= WINDOW, f"{store}: {again} frames sent twice"
        for data_dir in (cut_dir, other_dir):
            _assert_healthy(_health(monkeypatch, database_url=database_url, data_dir=data_dir))
        log = (cut_dir / "worker.log").read_text()
        # It said it lost its stores (a fence, or a balance, found them taken over): all
        # in one line, or some to a fence and the rest to the balance that followed.
        said = {
            store
            for named in re.findall(r"(?:lost|gave up) \[([^\]]*)\]", log[said_before_the_cut:])
            for store in re.findall(r"'([^']+)'", named)
        }
        assert its_stores <= said, log[-3000:]
        _outage_said_as_one(log, refused=refused)
    finally:
        for process in (cut_off, other):
            stop_worker(process)


@CUTS
async def test_a_lone_worker_cut_from_the_database_carries_on_when_it_is_back(
    chain: Chain,
    database_url: str,
    link: DatabaseLink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refused: bool,
) -> None:
    await _stores_with_labels(chain)
    worker = start_worker(
        database_url=link.url,
        broker_url=chain.mosquitto.url,
        data_dir=tmp_path,
        window=WINDOW,
        settings=QUICK_RETRY,
    )
    try:
        await until(
            lambda: None not in _holders(chain).values() and len(_holders(chain)) == len(STORES),
            what="the worker holding every store",
            timeout_s=60,
        )
        holders = _holders(chain)
        await _converged(chain)

        link.cut(refused=refused)
        publish_prices(chain.sessions, PRICES_B, now=wall_clock())
        # Away for twice its leases' life: nobody takes them over, it comes back to them.
        await asyncio.sleep(2 * STALE_AFTER_S)
        assert worker.poll() is None, "the worker ended while its database was away"
        if refused:
            # Its tries fail: it says so, and no label is called failed or offline.
            during = _health(monkeypatch, database_url=database_url, data_dir=tmp_path)
            assert during["controller"]["database_unreachable_since"] is not None, during
            for store in during["stores"]:
                assert (store["failed"], store["offline"]) == (0, 0), store
        link.restore()

        await _converged(chain)
        assert worker.poll() is None
        assert _holders(chain) == holders, "the lone worker's stores changed hands"
        _assert_healthy(_health(monkeypatch, database_url=database_url, data_dir=tmp_path))
        _outage_said_as_one((tmp_path / "worker.log").read_text(), refused=refused)
    finally:
        stop_worker(worker)
