"""A whole chain on one machine: stores with simulated labels, the update controller, one
database.

The demo runs it; it is also the easiest way to try the system by hand. Every part is
the real one. Over MQTT, each store has a `firmware_sim` store gateway (its own paho
client, the real signed protocol, the real decoder) on one broker, and the controller
talks to them through the `gateways.mqtt` driver. Over BLE, the controller's
`gateways.ble` driver talks to simulated labels behind a bleak backend, one adapter per
store. Either way the labels are registered from provisioning records, keys included,
and the controller sees one `Gateway`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from esl.composition import (
    RunningController,
    controller_settings,
    controller_transport,
    vitals_sampling,
)
from esl.db.engine import session_factory
from esl.pipeline import ControllerSettings, RetryPolicy, UpdateController
from esl.pipeline.provisioning import register_provisioned_labels
from esl.services.keys import Principal, Role
from esl.services.labels import bind_label
from esl.settings import Settings
from firmware_sim.faults import FaultPlan
from firmware_sim.fleet import build_labels, make_fleet, read_provisioning
from firmware_sim.images import ImageStore
from firmware_sim.mqtt_gateway import BrokerSettings, MqttStoreGateway
from firmware_sim.simulation import SimulatedSite, SiteConfig, open_simulated_gateway
from gateways.base import Gateway, TransportKind
from gateways.errors import GatewayConnectError
from gateways.group import GatewayGroup
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.protocol import LabelProvision

if TYPE_CHECKING:
    from esl.demo.oepl_site import OeplSite

__all__ = ["ChainTimings", "ShownPanel", "SimulatedChain"]

_INSTALLER = Principal(name="demo-installer", role=Role.ADMIN, store=None)


class ShownPanel(Protocol):
    """A label whose exact pixels the demo can show (simulated label, emulated OEPL tag)."""

    def display_png(self, *, now: datetime | None = None) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ChainTimings:
    """How fast the simulated world moves. Real labels check in about every 40 s; a demo
    that should finish in a minute lets them check in every couple of seconds."""

    check_in_interval_s: float = 2.0
    ack_timeout: timedelta = timedelta(seconds=6)
    retry_base_delay: timedelta = timedelta(milliseconds=500)
    retry_max_delay: timedelta = timedelta(seconds=3)
    max_attempts: int = 4
    # A busy label is refreshing its panel: about 15 s of simulated time on 2.9" BWR.
    busy_delay: timedelta = timedelta(seconds=16)
    window: int = 64
    poll_every: timedelta = timedelta(milliseconds=100)
    # Simulated time runs this many times faster than the controller's clock (check-ins,
    # panel refreshes); 1.0 is real time.
    sim_speed: float = 1.0
    # How often a store gateway looks at its radio, and how long it stays away when it
    # restarts (a fault plan's crash).
    gateway_tick_s: float = 0.05
    gateway_restart_downtime_s: float = 1.0
    # How long a starting store gateway may take to log in before the chain gives up.
    gateway_connect_timeout_s: float = 10.0
    # The controller's MQTT link: publishes awaiting the broker's PUBACK (None: one
    # window), and its reconnect backoff.
    max_in_flight: int | None = None
    reconnect_delay_s: tuple[float, float] = (1, 5)
    # Battery and signal samples kept per label: often enough that the label page's chart
    # moves while someone watches the demo (an installation keeps one an hour).
    vitals_every: timedelta = timedelta(seconds=30)

    def controller_settings(self, settings: Settings, **changes: Any) -> ControllerSettings:
        """The controller's settings: the installation's (locale, currency, lease, database
        retry) with this world's pace; `changes` replace single fields."""
        policy = RetryPolicy(
            ack_timeout=self.ack_timeout,
            base_delay=self.retry_base_delay,
            max_delay=self.retry_max_delay,
            max_attempts=self.max_attempts,
            # The panel refresh runs on simulated time.
            busy_delay=self.busy_delay / self.sim_speed,
        )
        paced: dict[str, Any] = {
            "window": self.window,
            "poll_every": self.poll_every,
            "policy": policy,
            "vitals": replace(vitals_sampling(settings), every=self.vitals_every),
        }
        if self.sim_speed != 1.0:
            # Simulated labels then live on an accelerated clock, ahead of the controller's
            # by design: their clocks are neither set nor judged.
            paced["label_clock_tolerance"] = None
        return controller_settings(settings, **(paced | changes))


@dataclass
class SimulatedChain:
    engine: Engine
    broker: BrokerEndpoint | None  # None: every store is a BLE store
    state_dir: Path
    clock: Callable[[], datetime]
    settings: Settings
    timings: ChainTimings = field(default_factory=ChainTimings)
    transport: TransportKind = TransportKind.MQTT
    model_id: str = "2.9-bwr"
    # Stores on OpenEPaperLink: an emulated AP and the real `esl gateway oepl` process,
    # reached over the broker like the simulated MQTT gateways (`esl demo --transport oepl`).
    oepl: bool = False
    # Where the controller reports that it runs (`esl demo` passes its data dir's, so
    # `esl health` and the API see it); None: it does not report.
    controller_status_path: Path | None = None
    sites: dict[str, SimulatedSite] = field(default_factory=dict)  # MQTT stores
    oepl_sites: dict[str, OeplSite] = field(default_factory=dict)
    labels: dict[str, dict[str, ShownPanel]] = field(default_factory=dict)  # store -> id -> label
    bindings: dict[str, str] = field(default_factory=dict)  # label id -> SKU
    _ble_gateways: dict[tuple[str, str], Gateway] = field(default_factory=dict)
    runners: dict[str, MqttStoreGateway] = field(default_factory=dict)
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    running: RunningController | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    def install_store(
        self,
        store: str,
        *,
        labels: int,
        skus: Sequence[str],
        faults: FaultPlan | None = None,
        gateway: str | None = None,
        check_in_interval_s: float | None = None,
    ) -> None:
        """Put `labels` new labels in `store`, register them and bind them to `skus` in
        turn, as a store's staff would after unpacking a box of labels. `gateway` names
        its gateway, `check_in_interval_s` replaces the timings' for this store."""
        only_mqtt_faults = self.transport is TransportKind.BLE or self.oepl
        if only_mqtt_faults and faults is not None and faults != FaultPlan(seed=faults.seed):
            raise ValueError("radio faults are simulated for MQTT store gateways only")
        if self.oepl:
            gateway, provisions = self._install_oepl_store(store, labels)
        elif self.transport is TransportKind.BLE:
            gateway, provisions = self._install_ble_store(store, labels, gateway or f"{store}-ble0")
        else:
            gateway, provisions = self._install_mqtt_store(
                store,
                labels,
                faults or FaultPlan(),
                gateway=gateway or f"{store}-gw1",
                check_in_interval_s=check_in_interval_s or self.timings.check_in_interval_s,
            )
        now = self.clock()
        with self.sessions.begin() as session:
            register_provisioned_labels(session, provisions, store=store, gateway=gateway, now=now)
            for index, provision in enumerate(provisions):
                sku = skus[index % len(skus)]
                bind_label(
                    session,
                    principal=_INSTALLER,
                    label_id=provision.label_id,
                    sku=sku,
                    template="standard",
                    now=now,
                )
                self.bindings[provision.label_id] = sku

    def _install_mqtt_store(
        self,
        store: str,
        labels: int,
        faults: FaultPlan,
        *,
        gateway: str,
        check_in_interval_s: float,
    ) -> tuple[str, list[LabelProvision]]:
        config = SiteConfig(
            store=store,
            gateway=gateway,
            state_dir=self.state_dir,
            label_count=labels,
            model_id=self.model_id,
            faults=faults,
            check_in_interval_s=check_in_interval_s,
            report_check_ins=True,
        )
        site = open_simulated_gateway(config, now=self.clock())
        self.sites[store] = site
        self.labels[store] = dict(site.gateway.labels)
        return gateway, read_provisioning(config.manifest_path)

    def _install_oepl_store(self, store: str, labels: int) -> tuple[str, list[LabelProvision]]:
        from esl.demo.oepl_site import OeplSite  # uvicorn and httpx only when asked for

        site, provisions = OeplSite.install(
            store,
            labels=labels,
            state_dir=self.state_dir,
            check_in_s=self.timings.check_in_interval_s / self.timings.sim_speed,
            radio_speed=5_000.0 * self.timings.sim_speed,
        )
        self.oepl_sites[store] = site
        self.labels[store] = dict(site.ap.tags)
        return site.gateway, provisions

    def _install_ble_store(
        self, store: str, labels: int, gateway: str
    ) -> tuple[str, list[LabelProvision]]:
        # bleak is imported only when a BLE store is asked for.
        from firmware_sim.ble import ble_store, simulated_client_factory
        from gateways.ble.driver import BleGateway

        provisions = make_fleet(store=store, gateway=gateway, count=labels, model_id=self.model_id)
        simulated = build_labels(provisions, now=self.clock(), images=ImageStore())
        keys = {provision.label_id: provision.key for provision in provisions}
        air, addresses = ble_store(simulated, keys=keys, clock=self.simulated_clock)
        self.labels[store] = {label.label_id: label for label in simulated}
        self._ble_gateways[(store, gateway)] = BleGateway(
            addresses,
            store=store,
            gateway=gateway,
            client_factory=simulated_client_factory(air),
            clock=self.clock,
        )
        return gateway, provisions

    async def start_gateways(self) -> None:
        """Connect the MQTT store gateways to the broker (BLE labels need nothing)."""
        for oepl_site in self.oepl_sites.values():
            assert self.broker is not None, "OpenEPaperLink stores need a broker"
            await oepl_site.start(self.broker, poll_s=0.1)
        for store in self.sites:
            await self.start_gateway(store)

    def gateway_clock(self) -> Callable[[], datetime]:
        """The clock a store gateway starting now runs on: simulated time."""
        return self.simulated_clock

    def gateway_endpoint(self, store: str) -> BrokerEndpoint:
        """Where `store`'s gateway logs in: the chain's one broker."""
        assert self.broker is not None, "MQTT stores need a broker"
        return self.broker

    async def start_gateway(self, store: str) -> None:
        """Connect one MQTT store's gateway to the broker (again, after `stop_gateway`)."""
        endpoint = self.gateway_endpoint(store)
        settings = BrokerSettings(
            host=endpoint.host,
            port=endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
        )
        runner = MqttStoreGateway(
            self.sites[store],
            settings,
            clock=self.gateway_clock(),
            tick_s=self.timings.gateway_tick_s,
            restart_downtime_s=self.timings.gateway_restart_downtime_s,
        )
        self.runners[store] = runner
        self._tasks[store] = asyncio.create_task(runner.run())
        try:
            await runner.wait_connected(self.timings.gateway_connect_timeout_s)
        except TimeoutError:
            reason = f"refused: {runner.refusal}" if runner.refusal else "no answer in time"
            raise GatewayConnectError(
                host=settings.host, port=settings.port, reason=reason
            ) from None

    async def stop_gateway(self, store: str) -> None:
        """Disconnect one store's gateway (its labels keep their state)."""
        self.runners.pop(store).stop()
        with contextlib.suppress(asyncio.CancelledError):
            await self._tasks.pop(store)

    async def start_controller(self, *, seed: int = 0, **changes: Any) -> UpdateController:
        """Start the update controller (the composition root's) over the stores' gateways;
        `changes` replace single `ControllerSettings` fields of the timings'."""
        timings = self.timings
        settings = timings.controller_settings(self.settings, **changes)
        transport: Gateway
        if self.transport is TransportKind.BLE:
            transport = GatewayGroup(self._ble_gateways)
        else:
            assert self.broker is not None, "MQTT stores need a broker"
            transport = controller_transport(
                self.broker,
                max_in_flight=timings.max_in_flight or settings.window,
                max_packet_bytes=self.settings.mqtt_max_packet_bytes,
                reconnect_delay_s=timings.reconnect_delay_s,
            )
        self.running = await RunningController.start(
            settings,
            transport=transport,
            sessions=self.sessions,
            clock=self.clock,
            rng=random.Random(seed),
            status_path=self.controller_status_path,
        )
        return self.running.controller

    async def stop_controller(self, *, crash: bool = False) -> None:
        """Stop the controller and its link (`crash`: cancelled mid-step, as by a kill)."""
        running, self.running = self.running, None
        if running is not None:
            await running.stop(crash=crash)

    def __post_init__(self) -> None:
        speed = self.timings.sim_speed
        origin = self.clock()

        def simulated_now() -> datetime:
            return origin + (self.clock() - origin) * speed

        # One origin for the whole run: every simulated label lives on the same time line.
        self.simulated_clock: Callable[[], datetime] = self.clock if speed == 1.0 else simulated_now

    def label_png(self, store: str, label_id: str) -> bytes:
        """Exactly the pixels the label's panel shows now."""
        return self.labels[store][label_id].display_png(now=self.simulated_clock())

    async def close(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self.stop_controller()
        for oepl_site in self.oepl_sites.values():
            await oepl_site.close()
        for store in list(self.runners):
            await self.stop_gateway(store)
        for site in self.sites.values():
            site.save()
            site.close()
