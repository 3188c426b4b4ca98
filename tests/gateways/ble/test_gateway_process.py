"""`esl gateway ble` as its own process, on real parts: the controller (composition root,
paho driver) -> Mosquitto -> the gateway process -> bumble's host stack -> HCI over TCP
-> a controller on bumble's virtual link -> simulated Bluetooth ESL labels (bumble
peripherals with the label firmware behind their GATT servers).

The labels live in this test's process and the gateway in another, joined by HCI bytes
on a TCP socket, as a gateway box and its USB dongle are: so the test sees each panel,
and killing the gateway kills its host stack, not the labels (they keep their images, as
real ones do). The gateway holds no label keys: every answer below is signed by a label.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from esl.composition import RunningController
from esl.db.console_models import LabelActionRow
from esl.db.engine import session_factory
from esl.db.models import LabelStateRow
from esl.pipeline.action_kinds import ActionKind, ActionStatus
from esl.services.label_actions import request_action
from firmware_sim.ble import BleLabel
from firmware_sim.ble.bumble_air import BumbleAir
from firmware_sim.ble.gatt_label import BleLink, Notification
from firmware_sim.hardware import hardware_for
from firmware_sim.label import SimulatedLabel
from gateways.ble.control_point import EslAddress
from gateways.ble.store_radio import BleGatewayLabel, ble_gateway_labels_json
from gateways.protocol import LabelProvision, generate_label_key, to_wire_ms
from rendering.encoding import Planes
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.ble.ble_store import MODEL, address_of
from tests.support.cli_process import ROOT
from tests.support.clock import wall_clock
from tests.support.outbox import open_outbox_rows
from tests.support.pipeline import ADMIN, SKUS, expected_planes, publish_prices, register_and_bind
from tests.support.store_chain import start_wall_clock_controller, wait_converged
from tests.support.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STORE = "S01"  # seeded by the reference data
GATEWAY = "S01-ble1"
LABELS = 4
# A 2.9" three-colour panel takes about 15 s to refresh; these take 0.3 s, so a label
# is not busy for a quarter of a minute after every image on the test's wall clock.
HARDWARE = dataclasses.replace(hardware_for(MODEL), refresh_ms=300)
# A subprocess imports bumble, bleak and paho on a loaded 2-core machine: generous.
START_TIMEOUT_S = 120.0

Write = Callable[..., list[Notification]]


@dataclasses.dataclass
class BleChain:
    engine: Engine
    broker: MosquittoProcess
    air: BumbleAir
    hci: asyncio.Server
    state_dir: Path
    labels: dict[str, BleLabel]
    bindings: dict[str, str] = dataclasses.field(default_factory=dict)
    gateway: subprocess.Popen[bytes] | None = None
    said: list[Path] = dataclasses.field(default_factory=list)  # each start's stderr
    controller: RunningController | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def hci_port(self) -> int:
        return int(self.hci.sockets[0].getsockname()[1])

    def start_gateway(self, *options: str) -> None:
        self.said.append(self.state_dir.parent / f"gateway-{len(self.said) + 1}.stderr")
        with self.said[-1].open("wb") as stderr:
            self.gateway = subprocess.Popen(
                [sys.executable, "-c", "from esl.cli import main; main()", "gateway", "ble",
                 "--store", STORE, "--gateway", GATEWAY, "--broker", self.broker.url,
                 "--state-dir", str(self.state_dir), "--backend", "bumble",
                 "--hci", f"tcp-client:127.0.0.1:{self.hci_port}", *options],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stderr=stderr,
            )  # fmt: skip

    def start_line(self, start: int) -> str:
        """What the gateway said it starts with, at its `start`th start (from 1)."""
        lines = self.said[start - 1].read_text().splitlines()
        return next(line for line in lines if line.startswith(f"{STORE}/{GATEWAY}: "))

    def kill_when(self, condition: Callable[[], bool]) -> dict[str, Planes | None]:
        """Kill the gateway in the same instant a label's firmware makes `condition` true
        (checked after each GATT write a label takes); return what every panel showed."""
        shown: dict[str, Planes | None] = {}
        for ble in self.labels.values():

            def write(
                uuid: str, value: bytes, *, link: BleLink, now: datetime, take: Write = ble.write
            ) -> list[Notification]:
                notifications = take(uuid, value, link=link, now=now)
                if not shown and condition():
                    self.kill_gateway()
                    shown.update({i: x.label.shown for i, x in self.labels.items()})
                return notifications

            ble.write = write  # type: ignore[method-assign]
        return shown

    def kill_gateway(self) -> None:
        assert self.gateway is not None
        self.gateway.kill()  # a power cut: no goodbye, the broker fires the will
        self.gateway.wait(timeout=30)
        self.gateway = None

    async def stop_gateway(self) -> int:
        assert self.gateway is not None
        self.gateway.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(self.gateway.wait, 60)
        self.gateway = None
        return code

    async def start_controller(self) -> None:
        self.controller = await start_wall_clock_controller(
            self.broker.url, self.sessions, ack_timeout=timedelta(seconds=8), max_attempts=40
        )

    def due(self) -> dict[str, Planes]:
        with self.sessions() as session:
            return {
                label_id: expected_planes(session, label_id=label_id, sku=sku, at=wall_clock())
                for label_id, sku in self.bindings.items()
            }

    def mismatches(self) -> list[str]:
        due = self.due()
        return [i for i, label in self.labels.items() if label.label.shown != due[i]]

    def open_rows(self) -> int:
        return open_outbox_rows(self.sessions)

    async def wait_converged(self, *, timeout_s: float = START_TIMEOUT_S) -> None:
        await wait_converged(self.mismatches, self.open_rows, timeout_s=timeout_s)

    async def close(self) -> None:
        if self.gateway is not None:
            self.kill_gateway()
        if self.controller is not None:
            await self.controller.stop()
        self.hci.close()
        await self.hci.wait_closed()


@pytest.fixture
async def ble_chain(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[BleChain]:
    """Labels registered at the controller with their keys and bound to products; the
    same labels associated (address, ESL ID, key) and on the air; the gateway's labels
    file, which holds no keys."""
    keys = {f"S01-ble-{i:04d}": generate_label_key() for i in range(1, LABELS + 1)}
    labels: dict[str, BleLabel] = {}
    for index, (label_id, key) in enumerate(keys.items(), start=1):
        firmware = SimulatedLabel(label_id=label_id, hardware=HARDWARE, key=key, now=wall_clock())
        labels[label_id] = BleLabel(address=address_of(index), label=firmware, key=key)
        labels[label_id].esl_address = EslAddress(esl_id=index)
    air = BumbleAir(labels.values(), clock=wall_clock)
    hci = await air.serve_hci()
    entries = [
        BleGatewayLabel(label_id=i, model=MODEL.id, address=label.address, esl_id=index)
        for index, (i, label) in enumerate(labels.items(), start=1)
    ]
    state_dir = tmp_path / "gateway"
    state_dir.mkdir()
    (state_dir / f"{GATEWAY}-ble.json").write_text(
        ble_gateway_labels_json(entries, store=STORE, gateway=GATEWAY)
    )
    chain = BleChain(
        engine=engine, broker=mosquitto, air=air, hci=hci, state_dir=state_dir, labels=labels
    )
    with chain.sessions.begin() as session:
        chain.bindings = register_and_bind(
            session,
            [LabelProvision(label_id=i, model_id=MODEL.id, key=k) for i, k in keys.items()],
            store=STORE,
            gateway=GATEWAY,
            skus=SKUS,
            now=wall_clock(),
        )
    yield chain
    await chain.close()


async def test_prices_and_staff_actions_reach_ble_labels_through_the_gateway_and_a_crash(
    ble_chain: BleChain,
) -> None:
    chain = ble_chain
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    # One label connected at a time, so the crash below leaves work for the restart.
    chain.start_gateway("--max-connections", "1")
    await chain.start_controller()
    await chain.wait_converged()
    assert chain.start_line(1) == (
        f"{STORE}/{GATEWAY}: {LABELS} BLE labels ({LABELS} new), 0 frames and 0 answers kept "
        f"from the last run; backend bumble on tcp-client:127.0.0.1:{chain.hci_port}"
    )

    # Staff flash, ping and refresh labels (what POST /api/v1/labels/{id}/flash|ping|
    # refresh queue): the controller signs a Flash LED, Ping or Refresh Display frame,
    # the gateway turns it into the control point command, the label acts and its signed
    # answer is the action's answer.
    flashed, pinged, refreshed = list(chain.labels)[:3]
    sequence_before = chain.labels[refreshed].label.last_sequence
    drawn_before = chain.labels[refreshed].label.refreshes
    asked = wall_clock()
    with chain.sessions.begin() as session:
        action_ids = {
            kind: request_action(
                session, principal=ADMIN, label_id=label_id, kind=kind, now=asked
            ).id
            for kind, label_id in (
                (ActionKind.FLASH, flashed),
                (ActionKind.PING, pinged),
                (ActionKind.REFRESH, refreshed),
            )
        }

    def actions() -> dict[ActionKind, LabelActionRow]:
        with chain.sessions() as session:
            rows = {kind: session.get(LabelActionRow, i) for kind, i in action_ids.items()}
        return {kind: row for kind, row in rows.items() if row is not None}

    def all_answered() -> bool:
        return all(a.status == ActionStatus.ANSWERED.value for a in actions().values())

    await until(all_answered, what="every staff action answered", timeout_s=START_TIMEOUT_S)
    answered = actions()
    flash, ping = answered[ActionKind.FLASH], answered[ActionKind.PING]
    assert (flash.reason, flash.led_on) == ("SUCCESS", True)
    assert flash.rssi_dbm == chain.labels[flashed].label.rssi_dbm
    # Lit by this action (it lights for 30 s from when the label took the frame).
    assert chain.labels[flashed].label.led_until_ms > to_wire_ms(asked)
    assert (ping.reason, ping.rssi_dbm) == ("SUCCESS", chain.labels[pinged].label.rssi_dbm)
    # Refresh: the image went out again (a new signed frame the label took), the label
    # confirmed it (still the due price), and Refresh Display had its panel drawn again.
    assert chain.labels[refreshed].label.last_sequence > sequence_before
    refresh = answered[ActionKind.REFRESH]
    assert (refresh.reason, refresh.detail) == ("SUCCESS", "the label drew its image again")
    assert chain.labels[refreshed].label.refreshes == drawn_before + 1
    assert not chain.mismatches()

    # New prices go out and the gateway dies half way (kill -9, at the very moment the
    # first label takes its new image): no goodbye, frames in its queue and at the
    # broker. No label shows anything but an old or a new due price.
    old = chain.due()
    publish_prices(
        chain.sessions, {"MLK-1": "3.19", "CHS-1": "9.49", "CFE-1": "57.99"}, now=wall_clock()
    )
    new = chain.due()
    assert all(old[i] != new[i] for i in chain.labels)
    shown_at_kill = chain.kill_when(
        lambda: any(x.label.shown == new[i] for i, x in chain.labels.items())
    )
    await until(lambda: chain.gateway is None, what="the gateway killed", timeout_s=START_TIMEOUT_S)
    assert sorted(shown_at_kill[i] == new[i] for i in chain.labels) == [False] * (LABELS - 1) + [
        True
    ]
    assert all(shown_at_kill[i] in (old[i], new[i]) for i in chain.labels)

    chain.start_gateway()
    await chain.wait_converged()
    # It says what it kept of the run the kill cut short: the labels, none new.
    assert chain.start_line(2).startswith(f"{STORE}/{GATEWAY}: {LABELS} BLE labels (0 new), ")

    # What the controller recorded is what each label shows, and its health came from the
    # label's own signed answers (the gateway has no key to sign anything with).
    with chain.sessions() as session:
        states = {row.label_id: row for row in session.scalars(select(LabelStateRow))}
    for label_id, label in chain.labels.items():
        assert label.label.shown_hash is not None
        assert states[label_id].displayed_hash == label.label.shown_hash.hex()
        assert states[label_id].rssi_dbm == label.label.rssi_dbm
        assert states[label_id].battery_mv is not None
        assert states[label_id].last_seen is not None
    assert (
        "key" not in json.loads((chain.state_dir / f"{GATEWAY}-ble.json").read_text())["labels"][0]
    )
    assert await chain.stop_gateway() == 0
