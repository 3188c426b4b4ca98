"""`esl bench database`: what the pipeline writes to PostgreSQL per label, and how fast
PostgreSQL on this machine takes writes of those shapes.

A throwaway PostgreSQL server (default settings: fsync and synchronous commit on), one
Mosquitto on loopback, the simulated gateways of `esl bench pipeline` in a process of
their own. Full size: 3 stores of 1,000 labels, 500 products.

1. Per label, measured (`writes_per_label`): a first publication brings every label to
   its price (not measured); a second, changing every price, is published with the
   controller stopped; the controller then starts afresh and runs until every label's
   frame is acknowledged, and stops. PostgreSQL's own counters (pg_stat_user_tables,
   pg_stat_wal), read once every backend of that run exited (a backend reports its
   counts when it ends), give the rows inserted, updated and deleted per label, by
   table (`writes_per_label_by_table`), the WAL bytes and WAL flushes (`wal_syncs`: a
   durable commit each, at most) per label. `pipeline_acked_per_s`: labels / the time
   from the controller's start to the last acknowledgement (planning included).
2. Rates: the pipeline's own write code on the tables it writes, with copies of the rows
   part 1 wrote, in transactions of `PLAN_CHUNK` (500) rows, by one writer process, then
   by three at once (`writers_3`, summed; each on its own third of the labels, as
   workers on their own stores), each form for `seconds` (5):
   - `insert_rows_per_s`: outbox frames inserted (`insert_rows`, as planning does);
   - `update_rows_per_s`: label states updated row by row (`save_label_states` with the
     columns an answer changes: one executemany, as settlement does);
   - `update_in_list_rows_per_s`: outbox rows marked acknowledged by one UPDATE ...
     WHERE id IN (...) (`save_outbox_entries`, as settlement and dispatch do);
   - `commits_per_s`: one-row write transactions (a settlement round with one answer):
     the floor a small transaction costs, its WAL flush.
3. `labels_per_s_database_bound`: the labels per second these rates sustain for the
   measured writes per label: 1 / (inserts / insert rate + updates / row-by-row update
   rate + WAL flushes / commit rate). The slower update form and a flush per commit
   make it a floor, not a ceiling, of what this server absorbs (one writer; and three).
4. Planning's lock: planning reads every label state of a chunk `FOR UPDATE`, unchanged
   labels included (so two workers never sign one label's sequence twice). The same
   writers read chunks of label states without a lock (`read_states_rows_per_s`, the
   baseline) and `FOR UPDATE` (`lock_states_rows_per_s`), each in its own transaction
   of `PLAN_CHUNK` rows; `lock_seconds_per_label` is the difference per label, as
   one writer sees it (alone, and among three), and `lock_share_of_pipeline` that time
   as a share of a label's time through the whole pipeline of part 1
   (1 / `pipeline_acked_per_s`).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from esl.bench._mosquitto import bench_broker
from esl.bench._postgres import throwaway_postgres
from esl.bench.pipeline import (
    _gateways,
    _now,
    _prepare,
    _publish,
    _release,
    _seed,
    _until_all_acked,
    running_controller,
)
from esl.db.bulk import insert_rows
from esl.db.engine import create_engine_for, session_factory
from esl.db.repositories import in_chunks
from esl.delivery_states import OutboxStatus
from esl.pipeline.controller import PLAN_CHUNK
from esl.pipeline.label_states import ANSWERED_COLUMNS, load_label_states, save_label_states
from esl.pipeline.outbox_rows import OUTBOX, outbox_entries, save_outbox_entries
from gateways.mqtt.endpoint import BrokerEndpoint

__all__ = ["REQUIRED_KEYS", "run"]

Rates = dict[str, float]  # rows per second by write form

REQUIRED_KEYS = (
    "labels",
    "writes_per_label",
    "inserts_per_label",
    "updates_per_label",
    "wal_syncs_per_label",
    "wal_bytes_per_label",
    "pipeline_acked_per_s",
    "insert_rows_per_s",
    "update_rows_per_s",
    "update_in_list_rows_per_s",
    "commits_per_s",
    "labels_per_s_database_bound",
    "read_states_rows_per_s",
    "lock_states_rows_per_s",
    "lock_seconds_per_label",
    "lock_share_of_pipeline",
)

WINDOW = 500  # frames in flight per gateway, as `esl bench pipeline`
WRITERS = 3  # writers at once in the second measurement of rates, as three workers
SPEED = 10.0


@dataclass(frozen=True)
class _Counters:
    """PostgreSQL's cumulative write counters for one database."""

    tables: dict[str, tuple[int, int, int]]  # inserted, updated, deleted rows
    wal_bytes: int
    wal_syncs: int

    def since(self, before: _Counters) -> _Counters:
        tables = {}
        for name, (ins, upd, dele) in self.tables.items():
            was = before.tables.get(name, (0, 0, 0))
            tables[name] = (ins - was[0], upd - was[1], dele - was[2])
        return _Counters(
            tables={name: row for name, row in tables.items() if any(row)},
            wal_bytes=self.wal_bytes - before.wal_bytes,
            wal_syncs=self.wal_syncs - before.wal_syncs,
        )


def run(*, smoke: bool) -> dict[str, object]:
    stores, per_store, products = (2, 10, 5) if smoke else (3, 1_000, 500)
    seconds = 0.3 if smoke else 5.0
    with (
        tempfile.TemporaryDirectory(prefix="esl-bench-database-") as tmp,
        bench_broker("database") as endpoint,
        throwaway_postgres() as url,
    ):
        engine = create_engine_for(url)
        try:
            state_dir = Path(tmp) / "sim"
            sessions, pairs = _seed(
                engine, state_dir, stores=stores, per_store=per_store, products=products
            )
            labels = stores * per_store
            with _gateways(endpoint, state_dir, pairs, speed=100.0 if smoke else SPEED):
                _publish(sessions, products, 0, _now())
                asyncio.run(_drive(sessions, endpoint, labels=labels, stores=stores))
                # The measured publication, published while no controller runs.
                _release(sessions, _prepare(sessions, products, 49, _now()), _now())
                before = _quiet_counters(engine)
                started = time.perf_counter()
                asyncio.run(_drive(sessions, endpoint, labels=labels, stores=stores))
                pipeline_s = time.perf_counter() - started
                written = _quiet_counters(engine).since(before)
            rates = _rates(sessions, url, seconds=seconds)
        finally:
            engine.dispose()
    framed = written.tables.get("outbox", (0, 0, 0))[0]
    if framed != labels:
        # One frame per changed label: anything else is not the run this measures.
        raise RuntimeError(f"{framed} frames planned for {labels} changed labels")
    return _figures(labels, stores, written, pipeline_s, rates)


def _figures(
    labels: int, stores: int, written: _Counters, pipeline_s: float, rates: dict[int, Rates]
) -> dict[str, object]:
    inserts = sum(row[0] for row in written.tables.values())
    updates = sum(row[1] for row in written.tables.values())
    deletes = sum(row[2] for row in written.tables.values())
    per_label = {
        name: [round(count / labels, 3) for count in row]
        for name, row in sorted(written.tables.items())
    }
    syncs = written.wal_syncs / labels

    def bound(rate: Rates) -> float:
        seconds_per_label = (
            inserts / labels / rate["insert_rows_per_s"]
            + (updates + deletes) / labels / rate["update_rows_per_s"]
            + syncs / rate["commits_per_s"]
        )
        return round(1 / seconds_per_label, 1)

    def rounded(rate: Rates) -> dict[str, float]:
        return {name: round(value, 1) for name, value in rate.items()}

    def lock(rate: Rates) -> dict[str, float]:
        # What planning's lock adds to a label: a locked read less a plain one, per label
        # (each writer's), and that time as a share of a label's time through the whole
        # pipeline (same run).
        seconds = max(0.0, 1 / rate["lock_states_rows_per_s"] - 1 / rate["read_states_rows_per_s"])
        return {
            "lock_seconds_per_label": round(seconds, 7),
            "lock_share_of_pipeline": round(seconds * labels / pipeline_s, 4),
        }

    return {
        "labels": labels,
        "stores": stores,
        "writes_per_label": round((inserts + updates + deletes) / labels, 3),
        "inserts_per_label": round(inserts / labels, 3),
        "updates_per_label": round(updates / labels, 3),
        "deletes_per_label": round(deletes / labels, 3),
        "writes_per_label_by_table": per_label,
        "by_table_columns": ["inserted", "updated", "deleted"],
        "wal_syncs_per_label": round(syncs, 4),
        "wal_bytes_per_label": round(written.wal_bytes / labels, 1),
        "pipeline_acked_per_s": round(labels / pipeline_s, 1),
        **rounded(rates[1]),
        "rows_per_transaction": PLAN_CHUNK,
        "labels_per_s_database_bound": bound(rates[1]),
        **lock(rates[1]),
        f"writers_{WRITERS}": {
            **rounded(rates[WRITERS]),
            "labels_per_s_database_bound": bound(rates[WRITERS]),
            # Summed rates: one writer's rows go at a WRITERS-th of the sum.
            **lock({name: value / WRITERS for name, value in rates[WRITERS].items()}),
        },
        "cores": os.cpu_count(),
    }


async def _drive(
    sessions: sessionmaker[Session], endpoint: BrokerEndpoint, *, labels: int, stores: int
) -> None:
    """A controller from start to every label acknowledged, then stopped."""
    async with running_controller(endpoint, sessions, stores=stores) as controller:
        await _until_all_acked(controller, sessions, acks=labels, timeout_s=600)


def _quiet_counters(engine: Engine, *, timeout_s: float = 60.0) -> _Counters:
    """The counters once no other backend is connected to the database: a backend reports
    its counts when its transaction ends or, at the latest, when it exits."""
    engine.dispose()
    deadline = time.monotonic() + timeout_s
    with engine.connect() as connection:
        while connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("other connections to the bench database stayed open")
            connection.rollback()
            time.sleep(0.05)
        connection.rollback()
    # A fresh backend: its statistics snapshot is taken after the others reported.
    engine.dispose()
    with engine.connect() as connection:
        tables = {
            str(name): (int(ins), int(upd), int(dele))
            for name, ins, upd, dele in connection.execute(
                text("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
            )
        }
        wal_bytes, wal_syncs = connection.execute(
            text("SELECT wal_bytes, wal_sync FROM pg_stat_wal")
        ).one()
    engine.dispose()
    return _Counters(tables=tables, wal_bytes=int(wal_bytes), wal_syncs=int(wal_syncs))


def _rates(sessions: sessionmaker[Session], url: str, *, seconds: float) -> dict[int, Rates]:
    """Each write form's rows per second with 1 writer, then WRITERS writers at once, each
    on its own share of the labels (as workers on their own stores)."""
    with sessions() as session:
        frames = [
            dict(row._mapping)
            for row in session.execute(
                select(*(column for column in OUTBOX.c if column.name != "id"))
            )
        ]
        frame_ids = list(session.scalars(select(OUTBOX.c.id).order_by(OUTBOX.c.id)))
    label_ids = sorted({str(frame["label_id"]) for frame in frames})
    rates = {}
    for writers in (1, WRITERS):
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(writers)
        results: multiprocessing.Queue[Rates] = context.Queue()
        processes = [
            context.Process(
                target=_writer,
                args=(
                    url,
                    seconds,
                    Shares(frames[n::writers], label_ids[n::writers], frame_ids[n::writers]),
                    barrier,
                    results,
                ),
            )
            for n in range(writers)
        ]
        for process in processes:
            process.start()
        each = [results.get(timeout=600) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            if process.exitcode != 0:
                raise RuntimeError(f"a writer process ended with {process.exitcode}")
        rates[writers] = {name: sum(rate[name] for rate in each) for name in each[0]}
    return rates


@dataclass(frozen=True)
class Shares:
    """One writer's rows: frames to insert, labels to update, outbox ids to settle."""

    frames: list[dict[str, Any]]
    label_ids: list[str]
    frame_ids: list[int]


def _writer(
    url: str,
    seconds: float,
    shares: Shares,
    barrier: Any,
    results: multiprocessing.Queue[Rates],
) -> None:
    """One writer process: each write form in turn, started together with the others."""
    engine = create_engine_for(url)
    sessions = session_factory(engine)
    forms: list[tuple[str, Callable[[Session, list[Any]], object], list[Any], int]] = [
        ("insert_rows_per_s", _insert_frames, shares.frames, PLAN_CHUNK),
        ("update_rows_per_s", _answer_states, shares.label_ids, PLAN_CHUNK),
        ("update_in_list_rows_per_s", _settle_frames, shares.frame_ids, PLAN_CHUNK),
        ("commits_per_s", _answer_states, shares.label_ids, 1),
        ("read_states_rows_per_s", _read_states, shares.label_ids, PLAN_CHUNK),
        ("lock_states_rows_per_s", _lock_states, shares.label_ids, PLAN_CHUNK),
    ]
    try:
        rates = {}
        for name, write, rows, size in forms:
            barrier.wait(timeout=120)
            rates[name] = _rows_per_s(
                sessions, seconds, write, itertools.cycle(rows), per_transaction=size
            )
        results.put(rates)
    finally:
        engine.dispose()


def _insert_frames(session: Session, frames: list[dict[str, Any]]) -> None:
    insert_rows(session, OUTBOX, frames)


def _answer_states(session: Session, label_ids: list[str]) -> None:
    """What an answer changes in a label's state, for each label (read, changed, written
    back as settlement does)."""
    states = load_label_states(session, label_ids, create=False)
    now = _now()
    for state in states.values():
        state.displayed_hash, state.confirmed_hash = state.confirmed_hash, state.desired_hash
        state.battery_mv = 2900 + (state.battery_mv or 0) % 100
        state.last_seen = now
        state.changed = True
    save_label_states(session, states.values(), columns=ANSWERED_COLUMNS)


def _read_states(session: Session, label_ids: list[str]) -> None:
    """A chunk's label states read without a lock: the baseline of `_lock_states`."""
    load_label_states(session, label_ids, create=False)


def _lock_states(session: Session, label_ids: list[str]) -> None:
    """A chunk's label states read `FOR UPDATE`, as planning reads every label of a chunk
    (unchanged ones included) before it signs: PostgreSQL marks each row locked in its
    page, a write, though no column changes."""
    load_label_states(session, label_ids, create=False, lock=True)


def _settle_frames(session: Session, ids: list[int]) -> None:
    """Frames marked acknowledged (read, settled, written back as settlement does)."""
    now = _now()
    entries = [
        entry
        for chunk in in_chunks(ids)
        for entry in outbox_entries(session, OUTBOX.c.id.in_(chunk))
    ]
    for entry in entries:
        entry.settle(OutboxStatus.ACKED, at=now)
    save_outbox_entries(session, entries)


def _rows_per_s(
    sessions: sessionmaker[Session],
    seconds: float,
    write: Callable[[Session, list[Any]], object],
    source: Iterator[Any],
    *,
    per_transaction: int,
) -> float:
    """Transactions of `per_transaction` rows from `source`, each written by `write` and
    committed, for at least `seconds` (and two transactions); rows per second."""
    rows = transactions = 0
    started = time.perf_counter()
    while transactions < 2 or time.perf_counter() - started < seconds:
        part = [next(source) for _ in range(per_transaction)]
        with sessions.begin() as session:
            write(session, part)
        rows += len(part)
        transactions += 1
    return rows / (time.perf_counter() - started)
