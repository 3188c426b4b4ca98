"""`esl demo`: the whole system on one machine, from a published promotion to the pixels
on every simulated shelf label.

1. a fresh SQLite store of record, seeded with the bundled Polish sample catalogue;
2. a broker (embedded amqtt unless `--broker` names one) and the HTTP API;
3. per store, a simulated gateway with labels bound to the sample's products, registered
   from the gateway's provisioning file;
4. the update controller: every label first gets its current price;
5. a promotion published through the API, as the pricing team would;
6. waiting, with progress, until every reachable label has acknowledged it; then a PNG of
   what each label shows and a summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from esl.api.app import create_app
from esl.api.server import ServerThread
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import OutboxRow, PlannedPublicationRow
from esl.demo.chain import ChainTimings, SimulatedChain
from esl.demo.output_lock import holding_output_dir
from esl.mqtt.broker_choice import configured_broker
from esl.pipeline.controller_status import STATUS_FILE_NAME, controller_status_path
from esl.sample import load_sample, sample_anchor
from esl.sample.seeding import seed_sample_catalogue
from esl.services.health import StoreHealth, label_health
from esl.services.keys import Role, create_key
from esl.services.label_status import StatusThresholds
from esl.settings import Settings
from firmware_sim.faults import FaultPlan, RadioConditions
from gateways.base import TransportKind
from gateways.mqtt.endpoint import BrokerEndpoint

__all__ = ["DemoOptions", "DemoReport", "demo_settings", "run_demo"]

Progress = Callable[[str, int, int], None]  # phase, labels done, labels in all


@dataclass(frozen=True, slots=True)
class DemoOptions:
    out_dir: Path = Path("demo-output")
    stores: int = 2
    labels: int = 20  # per store
    loss: float = 0.0
    offline: int = 0  # labels out of radio range for the whole run, over all stores
    broker_url: str | None = None
    transport: TransportKind = TransportKind.MQTT
    # Stores on OpenEPaperLink: emulated AP and tags behind `esl gateway oepl`, over MQTT.
    oepl: bool = False
    seed: int = 7
    timeout_s: float = 120.0
    timings: ChainTimings = field(default_factory=ChainTimings)


@dataclass(frozen=True, slots=True)
class DemoReport:
    labels: int
    acked: int
    pending: int
    failed: int
    seconds: float
    stores: list[dict[str, Any]]
    api_url: str
    previews: str
    database: str = ""
    broker_url: str = ""  # with its user, never its password
    retries: int = 0  # frames sent again: unanswered in time, or answered busy
    frames_lost: int = 0  # transmissions the simulated radio dropped (`--loss`)
    offline: int = 0  # labels out of radio range all run long (`--offline`)

    @property
    def unacknowledged(self) -> int:
        """Labels in radio range that did not acknowledge the promotion by the deadline
        (pending, or failed after every attempt): the demo did not show what it should."""
        return max(0, self.labels - self.offline - self.acked)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"unacknowledged": self.unacknowledged}


# `--offline`: out of radio range for the whole run, however long it serves and however
# fast simulated time runs (a fault plan's window is simulated seconds): a century.
OUT_OF_RANGE_ALL_RUN_S = 100 * 365 * 24 * 3600.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def _fresh_out_dir(out_dir: Path) -> None:
    """Each run starts from an empty store of record and new labels."""
    # A killed run's SQLite journal must not meet the new database.
    for name in (
        "esl.sqlite",
        "esl.sqlite-wal",
        "esl.sqlite-shm",
        "esl.sqlite-journal",
        "sim",
        "labels",
        "summary.json",
        STATUS_FILE_NAME,
    ):
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def demo_settings(settings: Settings, out_dir: Path) -> Settings:
    """`settings` with the demo's data dir and SQLite database in `out_dir`."""
    database_url = f"sqlite:///{(out_dir / 'esl.sqlite').as_posix()}"
    return settings.model_copy(update={"data_dir": out_dir, "database_url": database_url})


def _offline_per_store(options: DemoOptions) -> list[int]:
    base, extra = divmod(options.offline, options.stores)
    return [base + (1 if index < extra else 0) for index in range(options.stores)]


def _totals(health: list[StoreHealth]) -> tuple[int, int, int, int]:
    labels = sum(h.labels for h in health)
    return (
        labels,
        sum(h.up_to_date for h in health),
        sum(h.pending + h.unplanned for h in health),
        sum(h.failed for h in health),
    )


async def _wait_settled(
    chain: SimulatedChain,
    *,
    phase: str,
    reachable: int,
    deadline: float,
    progress: Progress,
    thresholds: StatusThresholds,
    publication_id: int | None = None,
) -> None:
    """Until every reachable label is up to date and the unreachable ones are parked.

    With `publication_id`, nothing counts until the controller has planned that
    publication: before that, every label is still "up to date" on the old price.
    """
    while time.monotonic() <= deadline:
        with chain.sessions() as session:
            planned = publication_id is None or (
                session.get(PlannedPublicationRow, publication_id) is not None
            )
            health = label_health(session, now=chain.clock(), thresholds=thresholds)
        labels, acked, pending, _ = _totals(health)
        if not planned:
            progress(phase, 0, labels)
        else:
            progress(phase, acked, labels)
            if acked >= reachable and pending == 0:
                return
        await asyncio.sleep(0.25)


def _promotion(categories: list[str]) -> dict[str, Any]:
    return {
        "title": "Black Week: -15% na wszystko w sklepach i online",
        "items": [
            {
                "action": "upsert_promotion",
                "promotion_id": "DEMO-BLACK-WEEK",
                "name": "Black Week",
                "kind": "percent_off",
                "percent": "15",
                "categories": categories,
                "channels": ["store", "web"],
            }
        ],
    }


def _publish_through_the_api(api_url: str, token: str, body: dict[str, Any]) -> int:
    headers = {"X-API-Key": token}
    with httpx.Client(base_url=api_url, headers=headers, timeout=30.0) as client:
        created = client.post("/api/v1/publications", json=body)
        created.raise_for_status()
        publication_id = int(created.json()["id"])
        for step in ("validate", "publish"):
            response = client.post(f"/api/v1/publications/{publication_id}/{step}")
            response.raise_for_status()
    return publication_id


async def run_demo(
    options: DemoOptions,
    *,
    progress: Progress,
    keep_serving: asyncio.Event | None = None,
    on_ready: Callable[[DemoReport, str], None] | None = None,
    clock: Callable[[], datetime] = utc_now,
    settings: Settings | None = None,
) -> DemoReport:
    """Run the demo; with `keep_serving`, keep everything up until that event is set.

    `settings` are the installation's (`esl demo` passes the ones every command reads:
    ESL_ and ESL_ENV_FILE; None: the environment's ESL_ alone); the demo keeps its data
    and database in `options.out_dir` whatever they say."""
    if options.stores < 1:
        raise ValueError("--stores must be at least 1")
    if options.transport is TransportKind.BLE and (options.loss or options.offline):
        raise ValueError("--loss and --offline simulate the MQTT store gateways' radio; not BLE")
    if options.transport is TransportKind.BLE and options.broker_url:
        # Refused rather than ignored: the demo would not touch the broker it was given.
        raise ValueError("--transport ble reaches labels over Bluetooth, not a broker: no --broker")
    if options.oepl and (
        options.loss or options.offline or options.transport is not TransportKind.MQTT
    ):
        raise ValueError("--transport oepl has no --loss or --offline (the AP's radio is emulated)")
    out_dir = options.out_dir
    settings = demo_settings(Settings() if settings is None else settings, out_dir)
    now = clock()
    sample = load_sample(anchor=sample_anchor(now), history_until=now)
    store_codes = sorted(sample.catalogue.stores)
    if options.stores > len(store_codes):
        raise ValueError(
            f"--stores: the sample catalogue has {len(store_codes)} stores "
            f"({', '.join(store_codes)}); ask for at most that many"
        )
    # The last run's output goes only once what was asked for is known to be sound, and
    # while this demo alone holds the folder (serving included): another's would delete
    # the database under it.
    with holding_output_dir(out_dir):
        _fresh_out_dir(out_dir)
        engine = create_engine_for(settings.resolved_database_url())
        upgrade_database(engine)
        with session_factory(engine).begin() as session:
            seed_sample_catalogue(session, sample, now=now)
            _, token = create_key(session, name="demo-admin", role=Role.ADMIN, store=None, now=now)

        # The one definition of up to date, offline and low battery (as `esl health`).
        thresholds = StatusThresholds.from_settings(settings)
        server = ServerThread(create_app(settings, engine=engine)).start()
        deadline = time.monotonic() + options.timeout_s
        try:
            over_mqtt = options.transport is TransportKind.MQTT
            broker_context = (
                configured_broker(options.broker_url) if over_mqtt else contextlib.nullcontext(None)
            )
            async with broker_context as broker:
                chain = SimulatedChain(
                    engine=engine,
                    broker=broker,
                    state_dir=out_dir / "sim",
                    clock=clock,
                    settings=settings,
                    timings=options.timings,
                    transport=options.transport,
                    oepl=options.oepl,
                    controller_status_path=controller_status_path(out_dir),
                )
                try:
                    skus = sorted(sample.catalogue.products)
                    for index, (store, offline) in enumerate(
                        zip(store_codes[: options.stores], _offline_per_store(options), strict=True)
                    ):
                        chain.install_store(
                            store,
                            labels=options.labels,
                            skus=skus,
                            faults=FaultPlan(
                                seed=options.seed + index,
                                radio=RadioConditions(loss_rate=options.loss),
                                offline_labels=offline,
                                offline_for_s=OUT_OF_RANGE_ALL_RUN_S,
                            )
                            if over_mqtt and not options.oepl
                            else None,
                        )
                    reachable = options.stores * options.labels - options.offline
                    await chain.start_gateways()
                    await chain.start_controller(seed=options.seed)
                    await _wait_settled(
                        chain,
                        phase="current prices",
                        reachable=reachable,
                        deadline=deadline,
                        progress=progress,
                        thresholds=thresholds,
                    )
                    categories = sorted({p.category for p in sample.catalogue.products.values()})
                    started = time.monotonic()
                    publication_id = await asyncio.to_thread(
                        _publish_through_the_api, server.url, token, _promotion(categories)
                    )
                    await _wait_settled(
                        chain,
                        phase="promotion",
                        reachable=reachable,
                        deadline=max(deadline, time.monotonic() + options.timeout_s / 2),
                        progress=progress,
                        thresholds=thresholds,
                        publication_id=publication_id,
                    )
                    seconds = time.monotonic() - started
                    report = _report(
                        chain,
                        server.url,
                        out_dir,
                        seconds,
                        broker,
                        thresholds=thresholds,
                        offline=options.offline,
                    )
                    (out_dir / "summary.json").write_text(json.dumps(report.to_json(), indent=2))
                    if on_ready is not None:
                        on_ready(report, token)
                    if keep_serving is not None:
                        await _keep_previews_fresh(chain, Path(report.previews), keep_serving)
                    return report
                finally:
                    await chain.close()
        finally:
            server.stop()
            engine.dispose()


def _write_previews(chain: SimulatedChain, previews: Path, written: dict[str, bytes]) -> int:
    """Write the PNG of every label whose panel changed since `written`; how many."""
    changed = 0
    for store, shelf in chain.labels.items():
        (previews / store).mkdir(parents=True, exist_ok=True)
        for label_id in shelf:
            png = chain.label_png(store, label_id)
            if written.get(label_id) != png:
                (previews / store / f"{label_id}.png").write_bytes(png)
                written[label_id] = png
                changed += 1
    return changed


async def _keep_previews_fresh(
    chain: SimulatedChain, previews: Path, stop: asyncio.Event, every_s: float = 1.0
) -> None:
    """While serving, a price changed through the API or a CSV import shows in the PNGs."""
    written: dict[str, bytes] = {}
    _write_previews(chain, previews, written)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        _write_previews(chain, previews, written)


def _report(
    chain: SimulatedChain,
    api_url: str,
    out_dir: Path,
    seconds: float,
    broker: BrokerEndpoint | None,
    *,
    thresholds: StatusThresholds,
    offline: int,
) -> DemoReport:
    previews = out_dir / "labels"
    _write_previews(chain, previews, {})
    with chain.sessions() as session:
        health = label_health(session, now=chain.clock(), thresholds=thresholds)
        retries = session.scalar(
            select(func.coalesce(func.sum(OutboxRow.attempts - 1), 0)).where(OutboxRow.attempts > 1)
        )
    labels, acked, pending, failed = _totals(health)
    return DemoReport(
        labels=labels,
        acked=acked,
        pending=pending,
        failed=failed,
        seconds=round(seconds, 2),
        stores=[asdict(h) for h in health],
        api_url=api_url,
        previews=str(previews),
        database=str(out_dir / "esl.sqlite"),
        # The URL a person can paste, with the user the broker wants; never the password.
        broker_url="" if broker is None else dataclasses.replace(broker, password=None).url,
        retries=int(retries or 0),
        frames_lost=sum(site.gateway.radio.lost for site in chain.sites.values()),
        offline=offline,
    )
