"""The composition root: where the one settings object becomes a running update controller.

`esl run`, the demo's chain (`esl.demo.chain`), the pipeline benchmark and the tests build
their controller here and nowhere else, so a new part of the controller (a worker, a store
gateway) is wired once. What differs between them is data: the `ControllerSettings`
(`controller_settings` reads them from `Settings`; the demo and tests start from there
and change what they need), the transport, the clock and the random seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from esl.pipeline import ControllerSettings, RetryPolicy, UpdateController
from esl.pipeline.controller_lease import ControllerIdentity, LeaseTerms
from esl.pipeline.database_outage import DatabaseRetry
from esl.pipeline.label_actions import LabelActionTimings
from esl.pipeline.label_keepalive import keep_in_sync_after
from esl.pipeline.label_vitals import VitalsSampling
from esl.pipeline.security_events import SecurityEventCoalescing
from esl.pipeline.store_leases import StoreLeaseTerms
from esl.settings import Settings
from gateways.base import Clock, Gateway, system_clock
from gateways.mqtt.driver import DEFAULT_CONTROLLER_CLIENT_ID, MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.packet_size import DEFAULT_MAX_PACKET_BYTES
from rendering.cache import RenderCache

__all__ = [
    "RunningController",
    "build_controller",
    "controller_settings",
    "controller_transport",
    "database_retry",
    "label_action_timings",
    "lease_terms",
    "retry_policy",
    "shares_stores",
    "store_lease_terms",
    "vitals_sampling",
    "worker_settings",
]


def retry_policy(settings: Settings) -> RetryPolicy:
    """When a frame is sent again, and when it is parked."""
    return RetryPolicy(
        ack_timeout=timedelta(seconds=settings.retry_ack_timeout_s),
        base_delay=timedelta(seconds=settings.retry_base_delay_s),
        max_delay=timedelta(seconds=settings.retry_max_delay_s),
        max_attempts=settings.retry_max_attempts,
        busy_delay=timedelta(seconds=settings.retry_busy_delay_s),
        waiting_limit=timedelta(seconds=settings.retry_waiting_limit_s),
    )


def database_retry(settings: Settings) -> DatabaseRetry:
    """The waits between tries while the database does not answer."""
    first = settings.database_retry_first_s
    return DatabaseRetry(
        first=timedelta(seconds=first),
        # A longest wait under the first is read as "no doubling", not as an error.
        longest=timedelta(seconds=max(settings.database_retry_longest_s, first)),
    )


def lease_terms(settings: Settings) -> LeaseTerms:
    return LeaseTerms(
        stale_after=timedelta(seconds=settings.controller_lease_stale_s),
        renew_every=timedelta(seconds=settings.controller_lease_renew_s),
    )


def label_action_timings(settings: Settings) -> LabelActionTimings:
    """How long a flash, ping or refresh waits for its label."""
    return LabelActionTimings(
        answer_timeout=timedelta(seconds=settings.label_action_answer_timeout_s),
        not_sent_limit=timedelta(seconds=settings.label_action_not_sent_limit_s),
        wait_limit=timedelta(seconds=settings.label_action_wait_limit_s),
        busy_retry=timedelta(seconds=settings.label_action_busy_retry_s),
    )


def vitals_sampling(settings: Settings) -> VitalsSampling:
    """How often a label's battery and signal are kept, and how long."""
    return VitalsSampling(
        every=timedelta(seconds=settings.label_vitals_every_s),
        keep=timedelta(days=settings.label_vitals_keep_days),
    )


def store_lease_terms(settings: Settings) -> StoreLeaseTerms:
    """How long a worker's store is its own without a renewal, and how often it renews."""
    return StoreLeaseTerms(
        stale_after=timedelta(seconds=settings.store_lease_stale_after),
        renew_every=timedelta(seconds=settings.store_lease_renew_s),
    )


def shares_stores(dialect: str) -> bool:
    """Whether controllers on this database run as workers sharing the stores: on
    PostgreSQL (row locks with SKIP LOCKED); SQLite keeps one controller."""
    return dialect == "postgresql"


def worker_settings(settings: Settings, **changes: Any) -> ControllerSettings:
    """`controller_settings` for one of several workers sharing the stores."""
    return controller_settings(settings, store_leases=store_lease_terms(settings), **changes)


def controller_settings(settings: Settings, **changes: Any) -> ControllerSettings:
    """The controller's policy (locale, currency, window, poll, retries, lease, label
    actions) from the settings; `changes` replace single fields (`window=8`), as
    `dataclasses.replace` does."""
    built = ControllerSettings(
        locale=settings.locale,
        currency=settings.currency,
        time_zone=settings.time_zone,
        window=settings.controller_window,
        uplinks_per_store=settings.controller_uplinks_per_store,
        security_events=SecurityEventCoalescing(
            every=timedelta(seconds=settings.security_event_interval_s),
            labels=settings.security_event_labels_per_interval,
        ),
        poll_every=timedelta(seconds=settings.controller_poll_s),
        lease=lease_terms(settings),
        policy=retry_policy(settings),
        database_retry=database_retry(settings),
        label_actions=label_action_timings(settings),
        vitals=vitals_sampling(settings),
        label_clock_tolerance=timedelta(seconds=settings.label_clock_tolerance_s)
        if settings.label_clock_tolerance_s > 0
        else None,
        keep_in_sync=keep_in_sync_after(timedelta(seconds=settings.label_offline_after_s)),
    )
    return replace(built, **changes) if changes else built


def build_controller(
    settings: ControllerSettings,
    *,
    gateway: Gateway,
    sessions: sessionmaker[Session],
    clock: Clock,
    rng: random.Random,
    cache: RenderCache | None = None,
    identity: ControllerIdentity | None = None,
    status_path: Path | None = None,
) -> UpdateController:
    """The update controller over `gateway` and the database of `sessions`."""
    return UpdateController(
        gateway=gateway,
        sessions=sessions,
        clock=clock,
        rng=rng,
        settings=settings,
        cache=cache,
        identity=identity,
        status_path=status_path,
    )


def controller_transport(
    endpoint: BrokerEndpoint,
    *,
    max_in_flight: int = 100,
    max_packet_bytes: int = DEFAULT_MAX_PACKET_BYTES,
    max_queued_per_store: int = 10_000,
    client_id: str = DEFAULT_CONTROLLER_CLIENT_ID,
    reconnect_delay_s: tuple[float, float] = (1, 30),
    stores: tuple[str, ...] | None = None,
    clock: Clock = system_clock,
) -> MqttGateway:
    """The controller's MQTT link (not yet started): at most `max_in_flight` publishes
    wait for the broker's PUBACK at once (the driver's own default unless told); a
    frame larger than the broker's packet limit `max_packet_bytes` is refused. It
    hears every store, or only `stores` (a worker: none until it holds some). `clock`
    stamps what arrives: the controller's own, as a label's clock is judged against it."""
    return MqttGateway(
        endpoint,
        client_id=client_id,
        stores=stores,
        max_in_flight=max_in_flight,
        max_packet_bytes=max_packet_bytes,
        max_queued_per_store=max_queued_per_store,
        reconnect_delay_s=reconnect_delay_s,
        clock=clock,
    )


class RunningController:
    """A controller running as a task of the current event loop over a transport it
    started; `stop` ends both (`crash=True`: cancelled mid-step, as by a kill)."""

    def __init__(self, controller: UpdateController, transport: Gateway) -> None:
        self.controller = controller
        self.transport = transport
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[None] = asyncio.create_task(controller.run(self.stop_event))

    @classmethod
    async def start(
        cls,
        settings: ControllerSettings,
        *,
        transport: Gateway,
        sessions: sessionmaker[Session],
        clock: Clock,
        rng: random.Random,
        status_path: Path | None = None,
    ) -> RunningController:
        """Start `transport`, then the controller over it; with `status_path`, the
        controller reports there that it runs (`esl health`, the API, /metrics), as
        `esl run`'s does."""
        await transport.start()
        controller = build_controller(
            settings,
            gateway=transport,
            sessions=sessions,
            clock=clock,
            rng=rng,
            status_path=status_path,
        )
        return cls(controller, transport)

    async def stop(self, *, crash: bool = False) -> None:
        try:
            if crash:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
            else:
                self.stop_event.set()
                await self.task
        finally:
            await self.transport.stop()
