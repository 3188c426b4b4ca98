"""`esl bench ble`: label updates through the BLE driver and the simulated bleak backend.

Each label (2.9" black/white/red, a rendered price label of its own) gets a full update,
then, after its refresh, a delta update for a price change, both through the real
`BleGateway` and `BleakClient` code with `firmware_sim.ble` standing in for the radio
(three connections at once, as on one adapter). Frames and renders are made beforehand;
only delivery is timed.

- `updates_per_s`: updates delivered and answered per second of wall time, full and
  delta together; `cpu_ms_per_update` is this process's CPU time per update, which a
  machine shared with other work disturbs less. The simulated radio costs nothing, so
  this is the driver's and the label firmware's CPU cost per update, an upper bound for
  a real adapter.
- `bytes_on_air_per_update_full` / `_delta`: every ATT PDU of the session, counted at
  the GATT layer with L2CAP (4 B) and ATT headers (docs/ble.md, "Bytes on air"):
  notification subscriptions, transfer begin and status read, Frame Data chunks and
  their write responses, the control point command and its notification, the signed
  response, Update Complete. Link-layer framing and connection setup are not counted.
- `frame_bytes_full_mean` / `_delta_mean`: the signed frames' own size, for comparison;
  `raw_image_bytes` is the panel's uncompressed planes.

The same run then sends the same kind of updates to labels on bumble's virtual link
through `gateways.ble.bumble_client` (a real Bluetooth host stack on both ends: HCI,
L2CAP, ATT, MTU exchange and service discovery on every connection), and reports
`bumble_updates_per_s` and `bumble_cpu_ms_per_update` beside the simulated figures,
the ratio of the rates (`bumble_vs_simulated`), and
`bumble_l2cap_bytes_per_update_full` / `_delta`: every L2CAP PDU that crossed the link
(header included), so connection set-up traffic the simulated count leaves out (MTU
exchange, service and characteristic discovery, descriptor discovery) is in. Fewer
labels go over bumble (`bumble_labels`): its stack costs far more CPU per update.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from firmware_sim.ble import SimulatedAir, ble_store, simulated_client_factory
from firmware_sim.ble.bumble_air import BumbleAir
from firmware_sim.hardware import hardware_for
from firmware_sim.label import SimulatedLabel
from gateways.base import Downlink
from gateways.ble.bumble_client import BumbleCentral, bumble_client_factory
from gateways.ble.driver import BleGateway
from gateways.ble.link import ClientFactory, ConnectPolicy
from gateways.protocol import (
    ImageUpdate,
    LabelFrame,
    build_image_update,
    decode_response,
    derive_label_key,
    encode_frame,
)
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from rendering.encoding import Planes, planes_from_image
from rendering.render import render_label

__all__ = ["REQUIRED_KEYS", "measure", "run"]

REQUIRED_KEYS: Final = (
    "updates_per_s",
    "bytes_on_air_per_update_full",
    "bytes_on_air_per_update_delta",
    "bumble_updates_per_s",
    "bumble_l2cap_bytes_per_update_full",
    "bumble_l2cap_bytes_per_update_delta",
)
_MODEL = get_display_model("2.9-bwr")
_T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
_SECRET = b"esl-bench-ble-site-secret-000000"
_POLICY = ConnectPolicy(attempts=3, first_delay_s=0.0, max_delay_s=0.0)


class _Clock:
    def __init__(self) -> None:
        self.now = _T0

    def __call__(self) -> datetime:
        return self.now


def _planes(index: int, price: Decimal) -> Planes:
    content = LabelContent(
        sku=f"{100000 + index}",
        name=f"Jogurt naturalny kremowy {index % 7 + 1}00 g",
        brand="Mlekovita",
        gtin="5900512300108",
        currency="PLN",
        price=price,
        unit_price=(price * 5).quantize(Decimal("0.01")),
        unit_label="1 kg",
        store_name="Warszawa Mokotów",
    )
    return planes_from_image(render_label(content, model=_MODEL), has_accent=True)


def run(*, smoke: bool) -> dict[str, object]:
    count, bumble_count = (3, 3) if smoke else (200, 50)
    return asyncio.run(measure(count, bumble_count))


class _Store:
    """Labels (2.9" BWR, each its own render), their keys, and the two updates each."""

    def __init__(self, count: int) -> None:
        self.clock = _Clock()
        self.keys = {
            f"B{i:05d}": derive_label_key(_SECRET, f"B{i:05d}") for i in range(1, count + 1)
        }
        hardware = hardware_for(_MODEL)
        labels = [
            SimulatedLabel(label_id=label_id, hardware=hardware, key=key, now=_T0)
            for label_id, key in self.keys.items()
        ]
        self.air, self.addresses = ble_store(labels, keys=self.keys, clock=self.clock)
        self.full: list[Downlink] = []
        self.delta: list[Downlink] = []
        for index, address in enumerate(self.addresses, start=1):
            before = _planes(index, Decimal("4.99") + index)
            after = _planes(index, Decimal("4.49") + index)
            key = self.keys[address.label_id]
            update = build_image_update(before, model_id=_MODEL.id)
            self.full.append(_downlink(address.label_id, 1, update, key))
            update = build_image_update(after, model_id=_MODEL.id, base=before)
            self.delta.append(_downlink(address.label_id, 2, update, key))


class _Timing:
    """Wall time of each round, and the process's CPU time over both."""

    def __init__(self) -> None:
        self.full_s = 0.0
        self.delta_s = 0.0
        self.cpu_s = 0.0


async def _deliver(
    store: _Store,
    client_factory: ClientFactory,
    timing: _Timing,
    counted: Callable[[], int],
) -> tuple[int, int, BleGateway]:
    """Full then delta updates to every label; the counter's growth over each round."""
    gateway = BleGateway(
        store.addresses,
        store="S001",
        client_factory=client_factory,
        max_connections=3,
        connect_policy=_POLICY,
        clock=store.clock,
    )
    async with gateway:
        before = counted()
        cpu_started = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(gateway.send(downlink) for downlink in store.full))
        timing.full_s = time.perf_counter() - started
        full_bytes = counted() - before
        store.clock.now += timedelta(seconds=30)  # every refresh has finished
        before = counted()
        started = time.perf_counter()
        await asyncio.gather(*(gateway.send(downlink) for downlink in store.delta))
        timing.delta_s = time.perf_counter() - started
        timing.cpu_s = time.process_time() - cpu_started
        delta_bytes = counted() - before
    _check_acknowledged(store, gateway)
    return full_bytes, delta_bytes, gateway


def _check_acknowledged(store: _Store, gateway: BleGateway) -> None:
    acked = sum(
        decode_response(delivery.signed_response, key=store.keys[label_id]).acked
        for label_id, delivery in gateway.deliveries.items()
        if delivery.signed_response is not None
    )
    if acked != len(store.addresses):
        raise RuntimeError(
            f"only {acked} of {len(store.addresses)} labels acknowledged their delta update"
        )


async def measure(count: int, bumble_count: int) -> dict[str, object]:
    """Updates per second over the simulated backend and over bumble, in one run (for
    `esl bench ble` and any suite that reports BLE beside other gateways)."""
    simulated = _Store(count)
    air: SimulatedAir = simulated.air
    simulated_timing = _Timing()
    full_bytes, delta_bytes, _ = await _deliver(
        simulated,
        simulated_client_factory(air),
        simulated_timing,
        lambda: air.counters.bytes_on_air,
    )

    over_bumble = _Store(bumble_count)
    radio = BumbleAir(over_bumble.air.labels, clock=over_bumble.clock)
    await radio.start()  # power-on is set-up, not update time
    central = BumbleCentral(radio.central_device())
    await central.power_on()
    bumble_timing = _Timing()
    try:
        bumble_full, bumble_delta, _ = await _deliver(
            over_bumble,
            bumble_client_factory(central),
            bumble_timing,
            lambda: radio.l2cap_bytes,
        )
    finally:
        await central.close()

    updates_per_s = 2 * count / (simulated_timing.full_s + simulated_timing.delta_s)
    bumble_per_s = 2 * bumble_count / (bumble_timing.full_s + bumble_timing.delta_s)
    stride = (_MODEL.width + 7) // 8
    full, delta = simulated.full, simulated.delta
    return {
        "updates_per_s": round(updates_per_s, 1),
        "bytes_on_air_per_update_full": round(full_bytes / count),
        "bytes_on_air_per_update_delta": round(delta_bytes / count),
        "frame_bytes_full_mean": round(sum(len(d.payload) for d in full) / count),
        "frame_bytes_delta_mean": round(sum(len(d.payload) for d in delta) / count),
        "raw_image_bytes": 2 * stride * _MODEL.height,
        "labels": count,
        "max_connections": 3,
        "att_mtu": air.mtu,
        "gatt_writes": air.counters.writes,
        "gatt_notifications": air.counters.notifications,
        "cpu_ms_per_update": round(1000 * simulated_timing.cpu_s / (2 * count), 2),
        "bumble_updates_per_s": round(bumble_per_s, 1),
        "bumble_cpu_ms_per_update": round(1000 * bumble_timing.cpu_s / (2 * bumble_count), 2),
        "bumble_vs_simulated": round(bumble_per_s / updates_per_s, 3),
        "bumble_l2cap_bytes_per_update_full": round(bumble_full / bumble_count),
        "bumble_l2cap_bytes_per_update_delta": round(bumble_delta / bumble_count),
        "bumble_labels": bumble_count,
        "bumble_att_mtu": central.mtu,
    }


def _downlink(label_id: str, sequence: int, command: ImageUpdate, key: bytes) -> Downlink:
    frame = LabelFrame(label_id=label_id, sequence=sequence, command=command)
    payload = encode_frame(frame, key=key)
    return Downlink(store="S001", gateway="ble0", label_id=label_id, payload=payload)
