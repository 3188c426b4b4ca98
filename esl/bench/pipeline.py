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
   memory of this process (the controller) before the flood rounds.
5. The flood (`esl/bench/_pipeline_flood.py`): after the rounds above, the same running
   controller takes six more publications, alternately quiet and while the last store's
   gateway login floods its `up` topic with `mosquitto_pub -l`. `flood_quiet_acked_per_s`
   and `flood_acked_per_s`: the other stores' labels / seconds from the commit to their
   last acknowledgement, median of three each (`..._each`); `flood_ratio` = flooded /
   quiet; `flood_uplinks_dropped`: the flooding store's uplinks the controller dropped
   over its bound (`flood_uplinks_per_store`, the default; 20 at the smoke size, so the
   smoke run drops some); `flood_controller_rss_mb`: peak memory after the flood. The
   flooding store's own answers dropped cost their frames a resend after the answer
   timeout (10 s), waited for untimed after each flooded round.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from esl.bench._mosquitto import bench_broker
from esl.bench._pipeline_flood import (
    FloodLogin,
    RoundEnd,
    flood_login,
    flooding,
    last_outbox_id,
    nothing_waiting,
    until_stores_settled,
)
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
from pricing.gtin import gtin_with_check_digit

__all__ = ["REQUIRED_KEYS", "run", "seed_chain", "seed_store"]

REQUIRED_KEYS = (
    "labels",
    "seconds",
    "acked_per_s",
    "raw_roundtrips_per_s",
    "ratio",
    "controller_rss_mb",
    "flood_quiet_acked_per_s",
    "flood_acked_per_s",
    "flood_uplinks_dropped",
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
# The flood rounds' publications: (quiet, flooded) per round, every one a change.
_FLOOD_CENTS = ((19, 39), (59, 79), (89, 99))
# The smoke size's bound of waiting uplinks per store: low enough that its short flood
# drops some; full size runs with the default an operator runs with.
_SMOKE_UPLINKS_PER_STORE = 20


def run(*, smoke: bool) -> dict[str, object]:
    stores, per_store, products = (2, 10, 5) if smoke else (10, 1_000, 500)
    speed = 100.0 if smoke else SPEED
    rounds = 1 if smoke else ROUNDS
    bound = _SMOKE_UPLINKS_PER_STORE if smoke else Settings.defaults().controller_uplinks_per_store
    with tempfile.TemporaryDirectory(prefix="esl-bench-pipeline-") as tmp:
        # The last store floods, logged in as its own gateway (as `_seed` names it).
        login = flood_login(Path(tmp), store=f"S{stores:02d}", gateway=f"gw{stores:02d}")
        with bench_broker("pipeline", extra_config=login.broker_config) as endpoint:
            figures = asyncio.run(
                _measure(
                    Path(tmp),
                    endpoint,
                    stores=stores,
                    per_store=per_store,
                    products=products,
                    speed=speed,
                    rounds=rounds,
                    flood=(login, bound),
                )
            )
            raw_each = _raw_each(endpoint, figures, stores * per_store, rounds)
    seconds_each = list(figures["seconds_each"])
    seconds = statistics.median(seconds_each)
    raw = statistics.median(raw_each)
    acked_per_s = stores * per_store / seconds
    quiet_each = [end.acked / end.seconds for end in figures["flood_quiet_rounds"]]
    flood_each = [end.acked / end.seconds for end in figures["flood_rounds"]]
    quiet, flooded = statistics.median(quiet_each), statistics.median(flood_each)
    return {
        "labels": stores * per_store,
        "stores": stores,
        "seconds": round(seconds, 3),
        "acked_per_s": round(acked_per_s, 1),
        "raw_roundtrips_per_s": round(raw, 1),
        "ratio": round(acked_per_s / raw, 3),
        "seconds_each": [round(value, 3) for value in seconds_each],
        "raw_roundtrips_per_s_each": [round(value, 1) for value in raw_each],
        "controller_rss_mb": figures["controller_rss_mb"],
        "frame_bytes": int(figures["frame_bytes"]),
        "window_per_gateway": WINDOW,
        "check_in_interval_real_s": CHECK_IN_S / speed,
        "labels_listening": LISTENING,
        "flood_store": login.store,
        "flood_quiet_stores": stores - 1,
        "flood_quiet_acked_per_s": round(quiet, 1),
        "flood_acked_per_s": round(flooded, 1),
        "flood_ratio": round(flooded / quiet, 3),
        "flood_quiet_acked_per_s_each": [round(v, 1) for v in quiet_each],
        "flood_acked_per_s_each": [round(v, 1) for v in flood_each],
        "flood_seconds_each": [round(end.seconds, 3) for end in figures["flood_rounds"]],
        # Quiet stores' frames given up (parked) in the flooded rounds, and in the quiet.
        "flood_quiet_parked": sum(end.parked for end in figures["flood_rounds"]),
        "flood_quiet_parked_unflooded": sum(end.parked for end in figures["flood_quiet_rounds"]),
        "flood_uplinks_dropped": figures["flood_uplinks_dropped"],
        "flood_uplinks_per_store": bound,
        "flood_controller_rss_mb": _peak_rss_mb(),
    }


def _raw_each(
    endpoint: BrokerEndpoint, figures: dict[str, Any], labels: int, rounds: int
) -> list[float]:
    return [
        measure_raw_roundtrips(
            endpoint,
            frame_bytes=int(figures["frame_bytes"]),
            window=WINDOW,
            frames=max(300, labels),
        ).roundtrips_per_s
        for _ in range(rounds)
    ]


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _products_csv(count: int) -> str:
    lines = [
        "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,"
        "on_sale_since,web_url"
    ]
    for number in range(count):
        gtin = gtin_with_check_digit(f"590{number:09d}")
        lines.append(
            f"P{number:05d},Produkt {number},Marka {number % 17},{gtin},"
            f"cat{number % 20},5,500,g,no,2025-01-01T00:00:00Z,"
        )
    return "\n".join(lines) + "\n"


def _skus(count: int) -> list[str]:
    """The SKUs of `_products_csv(count)`, in its order."""
    return [f"P{number:05d}" for number in range(count)]


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
    engine: Engine, state_dir: Path, *, stores: int, per_store: int, products: int
) -> tuple[sessionmaker[Session], list[str]]:
    """Migrate `engine`'s database and seed the benches' chain into it (`seed_chain`);
    each gateway's provisioning for the simulated labels goes into a new `state_dir`.
    The database's sessions and the chain's "store:gateway" pairs."""
    upgrade_database(engine)
    sessions = session_factory(engine)
    state_dir.mkdir()
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
    return sessions, pairs


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
    endpoint: BrokerEndpoint,
    sessions: sessionmaker[Session],
    *,
    stores: int,
    uplinks_per_store: int | None = None,
) -> AsyncIterator[UpdateController]:
    """The benches' controller, running on its own task over `endpoint` until the block
    ends: window `WINDOW` per gateway, polling every 50 ms, the simulated clock `_now`;
    at most `uplinks_per_store` uplinks of a store waiting (the settings' default)."""
    settings = Settings.defaults()
    bound = uplinks_per_store or settings.controller_uplinks_per_store
    transport = controller_transport(
        endpoint, max_in_flight=WINDOW * stores, max_queued_per_store=bound
    )
    async with transport:
        controller = build_controller(
            controller_settings(
                settings,
                window=WINDOW,
                uplinks_per_store=bound,
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
    flood: tuple[FloodLogin, int],
) -> dict[str, Any]:
    engine = create_engine_for(f"sqlite:///{tmp / 'esl.sqlite'}")
    state_dir = tmp / "sim"
    sessions, pairs = _seed(
        engine, state_dir, stores=stores, per_store=per_store, products=products
    )
    labels = stores * per_store
    _publish(sessions, products, 0, _now())
    login, bound = flood
    try:
        with _gateways(endpoint, state_dir, pairs, speed=speed):
            async with running_controller(
                endpoint, sessions, stores=stores, uplinks_per_store=bound
            ) as controller:
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
                rss_mb = _peak_rss_mb()
                measured_until = last_outbox_id(sessions)
                stores_of = [pair.split(":")[0] for pair in pairs]
                quiet = tuple(store for store in stores_of if store != login.store)
                flood_each: dict[bool, list[RoundEnd]] = {False: [], True: []}
                for pair_of_cents in _FLOOD_CENTS[:rounds]:
                    for flooded, cents in zip((False, True), pair_of_cents, strict=True):
                        await asyncio.sleep(20 / speed)
                        end = await _flood_round(
                            sessions, endpoint, login if flooded else None,
                            quiet=quiet, labels=per_store * len(quiet), products=products,
                            cents=cents,
                        )  # fmt: skip
                        flood_each[flooded].append(end)
                dropped = controller.uplinks_dropped().get(login.store, 0)
        with sessions() as session:
            acked = session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.status == "acked", OutboxRow.id <= measured_until)
            )
            frame_bytes = session.scalar(
                select(func.avg(func.length(OutboxRow.payload))).where(
                    # the measured publications' frames (not the flood rounds')
                    OutboxRow.id > labels,
                    OutboxRow.id <= measured_until,
                )
            )
    finally:
        engine.dispose()
    if acked != (1 + rounds) * labels:
        raise RuntimeError(f"{acked} frames acknowledged for {1 + rounds} x {labels} updates")
    return {
        "seconds_each": seconds_each,
        "frame_bytes": float(frame_bytes or 0),
        "controller_rss_mb": rss_mb,
        "flood_quiet_rounds": flood_each[False],
        "flood_rounds": flood_each[True],
        "flood_uplinks_dropped": dropped,
    }


async def _flood_round(
    sessions: sessionmaker[Session],
    endpoint: BrokerEndpoint,
    login: FloodLogin | None,
    *,
    quiet: tuple[str, ...],
    labels: int,
    products: int,
    cents: int,
) -> RoundEnd:
    """One publication changing every label, flooded by `login` (None: quiet); how the
    `quiet` stores' frames ended. Then, untimed, until no frame waits for an answer (the
    flooding store's dropped answers: after their resends)."""
    after_id = last_outbox_id(sessions)
    publication_id = _prepare(sessions, products, cents, _now())
    async with contextlib.AsyncExitStack() as flood:
        if login is not None:
            await flood.enter_async_context(flooding(endpoint, login))
            await asyncio.sleep(0.5)  # the flood in full swing before the commit
        started = await asyncio.to_thread(_release, sessions, publication_id, _now())
        end = await until_stores_settled(
            sessions, quiet, after_id=after_id, labels=labels, started=started, timeout_s=600
        )
    deadline = time.monotonic() + 600
    while not await asyncio.to_thread(nothing_waiting, sessions):
        if time.monotonic() > deadline:
            raise TimeoutError("frames still waiting for an answer 600 s after the round")
        await asyncio.sleep(0.2)
    return end
