"""`esl bench pipeline`: a publication changing every label, to all acknowledged.

Full size: 10,000 labels across 10 stores (one simulated gateway each, 1,000 labels),
one Mosquitto on loopback, a SQLite database in a temporary directory. The simulated
gateways run in a separate process (so the controller's time and memory are its own)
on a clock 10x faster than the wall clock. Their labels listen between check-ins (every
20 simulated seconds) and take a frame as it arrives, as the raw baseline's echo does:
waiting for a check-in would add the simulated radio's latency, not the pipeline's. The
controller keeps 500 frames in flight per gateway.

1. Every label is bound to one of 500 products; a first publication sets every price
   and the controller brings every label to it (not measured).
2. `seconds`: from the commit of a publication that changes every price to the moment
   every label's frame is acknowledged (the running controller finds it at its next
   poll, every 50 ms); the median of three such publications (`seconds_each`).
   `acked_per_s` = labels / seconds. It covers planning (resolve, render once per
   distinct content, delta, sign, outbox), dispatch with a window per gateway,
   verification and the database work of each answer.
3. `raw_roundtrips_per_s`: plain paho publish + echo acknowledgement
   (`gateways/mqtt/raw_roundtrip.py`) of 10,000 frames of the measured publications'
   average size, through the same broker, with the same window (500 in flight to one
   gateway), in the same run; the median of three runs (`raw_roundtrips_per_s_each`).
4. `ratio` = acked_per_s / raw_roundtrips_per_s; `controller_rss_mb`: peak resident
   memory of this process (the controller).
"""

from __future__ import annotations

import asyncio
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from esl.bench._mosquitto import bench_broker
from esl.composition import build_controller, controller_settings, controller_transport
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import (
    LabelBindingRow,
    OutboxRow,
    PlannedPublicationRow,
    PublicationRow,
    StoreRow,
    core_table,
)
from esl.imports import import_products
from esl.pipeline import RetryPolicy, UpdateController
from esl.pipeline.provisioning import register_provisioned_labels
from esl.services.publication import (
    create_publication,
    publish_publication,
    validate_publication,
)
from esl.services.publication_commands import SetPrice
from esl.settings import Settings
from firmware_sim.fleet import make_fleet, write_provisioning
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.raw_roundtrip import measure_raw_roundtrips
from gateways.protocol import LabelProvision

__all__ = ["REQUIRED_KEYS", "run", "seed_chain", "seed_store"]

REQUIRED_KEYS = (
    "labels",
    "seconds",
    "acked_per_s",
    "raw_roundtrips_per_s",
    "ratio",
    "controller_rss_mb",
)

SPEED = 10.0
CHECK_IN_S = 20.0  # simulated seconds
# Labels listening between check-ins take a frame as it arrives, as the raw baseline's
# echo does; a label waiting for its check-in adds up to CHECK_IN_S / SPEED of radio
# latency that is the simulated shelf's, not the pipeline's.
LISTENING = True
WINDOW = 500  # frames in flight per gateway
# Publications measured (each changes every label), and raw runs: medians of each, as
# one run of either varies by a tenth from one to the next on a shared machine.
ROUNDS = 3
_MEASURED_CENTS = (49, 29, 69)


def run(*, smoke: bool) -> dict[str, object]:
    stores, per_store, products = (2, 10, 5) if smoke else (10, 1_000, 500)
    speed = 100.0 if smoke else SPEED
    rounds = 1 if smoke else ROUNDS
    with (
        tempfile.TemporaryDirectory(prefix="esl-bench-pipeline-") as tmp,
        bench_broker("pipeline") as endpoint,
    ):
        figures = asyncio.run(
            _measure(
                Path(tmp),
                endpoint,
                stores=stores,
                per_store=per_store,
                products=products,
                speed=speed,
                rounds=rounds,
            )
        )
        raw_each = [
            measure_raw_roundtrips(
                endpoint,
                frame_bytes=int(figures["frame_bytes"]),
                window=WINDOW,
                frames=max(300, stores * per_store),
            ).roundtrips_per_s
            for _ in range(rounds)
        ]
    seconds_each = list(figures["seconds_each"])
    seconds = statistics.median(seconds_each)
    raw = statistics.median(raw_each)
    acked_per_s = stores * per_store / seconds
    return {
        "labels": stores * per_store,
        "stores": stores,
        "seconds": round(seconds, 3),
        "acked_per_s": round(acked_per_s, 1),
        "raw_roundtrips_per_s": round(raw, 1),
        "ratio": round(acked_per_s / raw, 3),
        "seconds_each": [round(value, 3) for value in seconds_each],
        "raw_roundtrips_per_s_each": [round(value, 1) for value in raw_each],
        "controller_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "frame_bytes": int(figures["frame_bytes"]),
        "window_per_gateway": WINDOW,
        "check_in_interval_real_s": CHECK_IN_S / speed,
        "labels_listening": LISTENING,
    }


def _products_csv(count: int) -> str:
    lines = [
        "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,"
        "on_sale_since,web_url"
    ]
    for number in range(count):
        lines.append(
            f"P{number:05d},Produkt {number},Marka {number % 17},{_gtin(number)},"
            f"cat{number % 20},5,500,g,no,2025-01-01T00:00:00Z,"
        )
    return "\n".join(lines) + "\n"


def _skus(count: int) -> list[str]:
    """The SKUs of `_products_csv(count)`, in its order."""
    return [f"P{number:05d}" for number in range(count)]


def _gtin(number: int) -> str:
    body = f"590{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _publish(sessions: sessionmaker[Session], products: int, cents: int, now: datetime) -> None:
    _release(sessions, _prepare(sessions, products, cents, now), now)


def _prepare(sessions: sessionmaker[Session], products: int, cents: int, now: datetime) -> int:
    """A validated publication changing every product's price (the pricing team's work
    before it is published); its id."""
    items = [
        SetPrice(sku=f"P{n:05d}", amount=Decimal(f"{5 + n % 40}.{cents:02d}"))
        for n in range(products)
    ]
    with sessions.begin() as session:
        publication_id = create_publication(
            session, title="bench", effective_at=None, items=items, created_by="bench", now=now
        ).id
    with sessions.begin() as session:
        validate_publication(session, publication_id, now=now, currency="PLN")
    return publication_id


def _release(sessions: sessionmaker[Session], publication_id: int, now: datetime) -> float:
    """Publish; the `perf_counter` instant of the commit."""
    with sessions.begin() as session:
        publish_publication(session, publication_id, published_by="bench", now=now, currency="PLN")
    return time.perf_counter()


def _now() -> datetime:
    return datetime.now(UTC)


def _seed(
    sessions: sessionmaker[Session], state_dir: Path, *, stores: int, per_store: int, products: int
) -> list[str]:
    pairs = []
    with sessions.begin() as session:
        chain = seed_chain(
            session, products=products, stores=stores, per_store=per_store, digits=2, now=_now()
        )
        for store, gateway, fleet in chain:
            write_provisioning(
                state_dir / f"{store}-{gateway}-provisioning.json",
                fleet,
                store=store,
                gateway=gateway,
            )
            pairs.append(f"{store}:{gateway}")
    return pairs


def seed_chain(
    session: Session,
    *,
    products: int,
    stores: int,
    per_store: int,
    digits: int,
    spread: bool = False,
    now: datetime,
) -> list[tuple[str, str, list[LabelProvision]]]:
    """The benches' chain: `products` products (`_products_csv`), then stores S1..S`stores`
    with gateways gw1.. (numbers `digits` wide), each `seed_store` with `per_store` labels
    bound to the products in order; `spread`: each store from its own offset
    (number * per_store), so the chain shows a spread of its products. Each store's
    (store, gateway, fleet)."""
    skus = _skus(products)
    import_products(session, _products_csv(products), currency="PLN", imported_by="bench", now=now)
    chain = []
    for number in range(1, stores + 1):
        store, gateway = f"S{number:0{digits}d}", f"gw{number:0{digits}d}"
        fleet = seed_store(
            session,
            store,
            gateway,
            number=number,
            labels=per_store,
            skus=skus,
            first=number * per_store if spread else 0,
            now=now,
        )
        chain.append((store, gateway, fleet))
    return chain


def seed_store(
    session: Session,
    store: str,
    gateway: str,
    *,
    number: int,
    labels: int,
    skus: Sequence[str],
    first: int = 0,
    now: datetime,
) -> list[LabelProvision]:
    """One store of a chain of simulated labels: its row and a fleet of `labels` labels
    on `gateway`, registered, label i bound to skus[(first + i) mod len(skus)]."""
    session.add(StoreRow(code=store, name=f"Sklep {number}", zone=None))
    session.flush()
    fleet = make_fleet(store=store, gateway=gateway, count=labels)
    register_provisioned_labels(session, fleet, store=store, gateway=gateway, now=now)
    session.execute(
        core_table(LabelBindingRow).insert(),
        [
            {
                "label_id": provision.label_id,
                "sku": skus[(first + index) % len(skus)],
                "template": "standard",
                "bound_at": now,
                "bound_by": "bench",
            }
            for index, provision in enumerate(fleet)
        ],
    )
    return fleet


@contextmanager
def _gateways(
    endpoint: BrokerEndpoint, state_dir: Path, pairs: list[str], *, speed: float
) -> Iterator[None]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "esl.bench._pipeline_gateways",
            endpoint.url,
            str(state_dir),
            str(speed),
            str(CHECK_IN_S),
            "1" if LISTENING else "0",
            *pairs,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the simulated gateways did not start")
        yield
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _open_rows(sessions: sessionmaker[Session]) -> int:
    """Frames still open, counting a publication not yet planned as one."""
    with sessions() as session:
        unplanned = session.scalar(
            select(func.count())
            .select_from(PublicationRow)
            .outerjoin(
                PlannedPublicationRow, PlannedPublicationRow.publication_id == PublicationRow.id
            )
            .where(
                PublicationRow.status == "published",
                PlannedPublicationRow.publication_id.is_(None),
            )
        )
        open_rows = session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.status.in_(("pending", "sent", "parked")))
        )
        return (unplanned or 0) + (open_rows or 0)


@asynccontextmanager
async def running_controller(
    endpoint: BrokerEndpoint, sessions: sessionmaker[Session], *, stores: int
) -> AsyncIterator[UpdateController]:
    """The benches' controller, running on its own task over `endpoint` until the block
    ends: window `WINDOW` per gateway, polling every 50 ms, the simulated clock `_now`."""
    transport = controller_transport(endpoint, max_in_flight=WINDOW * stores)
    async with transport:
        controller = build_controller(
            controller_settings(
                Settings.defaults(),
                window=WINDOW,
                poll_every=timedelta(milliseconds=50),
                policy=RetryPolicy(
                    ack_timeout=timedelta(seconds=10),
                    base_delay=timedelta(seconds=1),
                    max_delay=timedelta(seconds=10),
                ),
                # The simulated labels run on an accelerated clock, ahead by design.
                label_clock_tolerance=None,
            ),
            gateway=transport,
            sessions=sessions,
            clock=_now,
            rng=random.Random(7),
        )
        stop = asyncio.Event()
        running = asyncio.create_task(controller.run(stop))
        try:
            yield controller
        finally:
            stop.set()
            await running


async def _until_all_acked(
    controller: UpdateController,
    sessions: sessionmaker[Session],
    *,
    acks: int,
    timeout_s: float,
) -> None:
    """Until `acks` more frames are acknowledged and the outbox has nothing open.

    Watches the dispatcher's counter, and asks the database only to confirm: a count of
    the outbox every 50 ms would load the controller it is measuring.
    """
    deadline = time.monotonic() + timeout_s
    target = controller.dispatcher.counts.acked + acks
    await asyncio.sleep(0.01)
    while time.monotonic() < deadline:
        if controller.dispatcher.counts.acked >= target and controller.dispatcher.in_flight == 0:
            if _open_rows(sessions) == 0:
                return
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.01)
    raise TimeoutError(f"{_open_rows(sessions)} frames still open after {timeout_s} s")


async def _measure(
    tmp: Path,
    endpoint: BrokerEndpoint,
    *,
    stores: int,
    per_store: int,
    products: int,
    speed: float,
    rounds: int,
) -> dict[str, Any]:
    engine = create_engine_for(f"sqlite:///{tmp / 'esl.sqlite'}")
    upgrade_database(engine)
    sessions = session_factory(engine)
    state_dir = tmp / "sim"
    state_dir.mkdir()
    pairs = _seed(sessions, state_dir, stores=stores, per_store=per_store, products=products)
    labels = stores * per_store
    _publish(sessions, products, 0, _now())
    try:
        with _gateways(endpoint, state_dir, pairs, speed=speed):
            async with running_controller(endpoint, sessions, stores=stores) as controller:
                await _until_all_acked(controller, sessions, acks=labels, timeout_s=600)
                seconds_each = []
                for cents in _MEASURED_CENTS[:rounds]:
                    # Let the panels finish the last refresh (15 simulated seconds).
                    await asyncio.sleep(20 / speed)
                    publication_id = _prepare(sessions, products, cents, _now())
                    # Published from another thread, as the API would from another
                    # process: the controller's event loop keeps running meanwhile.
                    started = await asyncio.to_thread(_release, sessions, publication_id, _now())
                    # The running controller finds the publication at its next poll.
                    await _until_all_acked(controller, sessions, acks=labels, timeout_s=600)
                    seconds_each.append(time.perf_counter() - started)
        with sessions() as session:
            acked = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "acked")
            )
            frame_bytes = session.scalar(
                select(func.avg(func.length(OutboxRow.payload))).where(
                    OutboxRow.id > labels  # the measured publication's frames
                )
            )
    finally:
        engine.dispose()
    if acked != (1 + rounds) * labels:
        raise RuntimeError(f"{acked} frames acknowledged for {1 + rounds} x {labels} updates")
    return {"seconds_each": seconds_each, "frame_bytes": float(frame_bytes or 0)}
