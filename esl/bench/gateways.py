"""`esl bench gateways`: what a real store gateway's radio can carry.

OpenEPaperLink (one access point, one tag at a time, about 5 kB/s, tags checking in
about every 40 s; /work/shared/domain.md §4):

- oepl_raw_bytes: a 2.9" BWR image as raw planes, what old tags take (9,472 bytes:
  the "about 2 s per image" users see); oepl_anchor_labels_per_hour is 3600 s over that;
- oepl_zlib_bytes_avg / oepl_full_zlib_labels_per_hour: OEPL's own way for current tags,
  a full zlib image per update (4-byte size + zlib 9 of the planes), radio time only;
- delta_bytes_avg / delta_labels_per_hour: this project's delta for a price change of
  the same labels, had the radio carried it (OEPL tags cannot take it: the gateway
  decodes our frames and the AP sends a full image);
- full_bytes_avg / full_labels_per_hour: this project's full format, likewise;
- oepl_measured_labels_per_hour: measured end to end, the real driver (JPEG upload,
  409 backoff, delivery confirmed by the stored pixels) against the emulated AP with
  `oepl_measured_tags` tags checking in every 40 s and a 5 kB/s radio, both run
  `oepl_time_scale` times faster than real time and scaled back. Enough tags that the
  radio, not the check-ins, is the limit; the figure includes every wait for a check-in
  and the process's own time (multiplied by the scale: a pessimistic figure).

Store gateway relay (`store_gateway_uplinks_*`, from `esl.bench._gateway_uplinks`): signed
answers a second from a store gateway's state file (the real `StoreGatewayProcess`) to
the controller's side of a Mosquitto reached through a loopback link that holds every
byte half of `store_gateway_uplinks_round_trip_ms` each way (`esl.bench._delayed_link`),
as a store's link across a WAN to its controller's broker; `store_gateway_uplinks_measured`
answers, one per label:

- store_gateway_uplinks_per_s: `store_gateway_uplinks_in_flight` on their way at once
  (the gateway's default, `UPLINKS_IN_FLIGHT`);
- store_gateway_uplinks_one_at_a_time_per_s: one at a time, each waiting for the
  broker's acknowledgement (the gateway before it kept several on their way), in the
  same run; store_gateway_uplinks_vs_one_at_a_time: their ratio.

Bluetooth (`ble_*`, from `esl.bench.ble.measure`, the same run as `esl bench ble`): label
updates through the real `BleGateway`/`BleakClient` code to simulated labels, once over
the simulated bleak backend and once over bumble (a real host stack on both ends of a
virtual link: HCI, L2CAP, ATT, MTU exchange, discovery on every connection):

- ble_updates_per_s / ble_bumble_updates_per_s: updates answered per second of wall time
  (a full image then a price-change delta per label, three connections at once);
- ble_bumble_vs_simulated: their ratio; ble_cpu_ms_per_update /
  ble_bumble_cpu_ms_per_update: this process's CPU per update, steadier on a loaded host;
- ble_bytes_on_air_per_update_* (modelled ATT) and ble_bumble_l2cap_bytes_per_update_*
  (every L2CAP PDU counted on the link), full and delta.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import zlib
from typing import Any

from esl.bench import ble
from esl.bench._gateway_uplinks import uplinks_per_s
from esl.bench._mosquitto import bench_broker
from esl.bench.render import _price_changed, corpus
from firmware_sim.oepl_ap.access_point import AccessPointConfig, EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.store_gateway.uplinks import UPLINKS_IN_FLIGHT
from rendering.cache import RenderCache
from rendering.display_models import get_display_model
from rendering.encoding import Planes, encode_delta, encode_full, raw_planes

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS = (
    "oepl_raw_bytes",
    "oepl_anchor_labels_per_hour",
    "oepl_zlib_bytes_avg",
    "oepl_full_zlib_labels_per_hour",
    "full_bytes_avg",
    "full_labels_per_hour",
    "delta_bytes_avg",
    "delta_labels_per_hour",
    "oepl_measured_labels_per_hour",
    "oepl_measured_tags",
    "oepl_time_scale",
    "store_gateway_uplinks_per_s",
    "store_gateway_uplinks_one_at_a_time_per_s",
    "store_gateway_uplinks_vs_one_at_a_time",
    "store_gateway_uplinks_in_flight",
    "store_gateway_uplinks_round_trip_ms",
    "store_gateway_uplinks_measured",
    "ble_updates_per_s",
    "ble_bumble_updates_per_s",
    "ble_bumble_vs_simulated",
    "ble_labels",
    "ble_bumble_labels",
)

RADIO_BYTES_PER_S = 5_000.0
CHECK_IN_S = 40.0
_HW_29_BWR = 0xB3


def _per_hour(size: float) -> int:
    return round(3600 / (size / RADIO_BYTES_PER_S))


async def _measure(images: list[Planes], *, scale: float) -> float:
    """Labels per hour per AP, in emulated time, for pushing `images` to as many tags."""
    ap = EmulatedAccessPoint(
        AccessPointConfig(
            check_in_interval_s=CHECK_IN_S / scale,
            radio_bytes_per_s=RADIO_BYTES_PER_S * scale,
            upload_processing_s=0.0,
            page_size=50,
        )
    )
    now = time.time()
    macs = [
        ap.add_tag(EmulatedTag(mac=f"0000BE4C{n:08X}", hw_type=_HW_29_BWR), now=now).mac
        for n in range(1, len(images) + 1)
    ]
    async with ServedAccessPoint(ap, tick_s=0.002) as served:
        driver = AccessPointDriver(
            AccessPointClient(served.url),
            timings=DriverTimings(poll_s=0.02, confirm_timeout_s=30 * CHECK_IN_S / scale),
        )
        try:
            started = time.monotonic()
            await asyncio.gather(
                *(
                    driver.push_image(m, p, model="2.9-bwr")
                    for m, p in zip(macs, images, strict=True)
                )
            )
            elapsed = time.monotonic() - started
        finally:
            await driver.close()
    return len(images) / (elapsed * scale) * 3600


def _uplink_figures(smoke: bool) -> dict[str, Any]:
    messages, round_trip_s = (8, 0.01) if smoke else (300, 0.05)
    with bench_broker("gateways") as endpoint:
        rates = {
            in_flight: asyncio.run(
                uplinks_per_s(
                    endpoint, messages=messages, in_flight=in_flight, round_trip_s=round_trip_s
                )
            )
            for in_flight in (1, UPLINKS_IN_FLIGHT)
        }
    return {
        "store_gateway_uplinks_per_s": round(rates[UPLINKS_IN_FLIGHT], 1),
        "store_gateway_uplinks_one_at_a_time_per_s": round(rates[1], 1),
        "store_gateway_uplinks_vs_one_at_a_time": round(rates[UPLINKS_IN_FLIGHT] / rates[1], 1),
        "store_gateway_uplinks_in_flight": UPLINKS_IN_FLIGHT,
        "store_gateway_uplinks_round_trip_ms": round(round_trip_s * 1000),
        "store_gateway_uplinks_measured": messages,
    }


def _ble_figures(smoke: bool) -> dict[str, Any]:
    count, bumble_count = (3, 3) if smoke else (200, 50)
    figures = asyncio.run(ble.measure(count, bumble_count))
    return {f"ble_{key}": value for key, value in figures.items()}


def run(*, smoke: bool) -> dict[str, object]:
    count, tags, scale = (4, 6, 50.0) if smoke else (60, 120, 10.0)
    model = get_display_model("2.9-bwr")
    cache = RenderCache()
    rng = random.Random(7)
    contents = corpus(count)
    before = [cache.render(c, model=model).planes for c in contents]
    after = [cache.render(_price_changed(c, rng), model=model).planes for c in contents]
    raw = len(raw_planes(before[0]))
    zlib_sizes = [4 + len(zlib.compress(raw_planes(p), 9)) for p in after]
    full_sizes = [len(encode_full(p)) for p in after]
    delta_sizes = [len(encode_delta(b, a)) for b, a in zip(before, after, strict=True)]
    images = [after[i % len(after)] for i in range(tags)]
    measured = asyncio.run(_measure(images, scale=scale))
    zlib_avg = statistics.fmean(zlib_sizes)
    full_avg = statistics.fmean(full_sizes)
    delta_avg = statistics.fmean(delta_sizes)
    return {
        "oepl_raw_bytes": raw,
        "oepl_anchor_labels_per_hour": _per_hour(raw),
        "oepl_zlib_bytes_avg": round(zlib_avg),
        "oepl_full_zlib_labels_per_hour": _per_hour(zlib_avg),
        "full_bytes_avg": round(full_avg),
        "full_labels_per_hour": _per_hour(full_avg),
        "delta_bytes_avg": round(delta_avg),
        "delta_labels_per_hour": _per_hour(delta_avg),
        "oepl_measured_labels_per_hour": round(measured),
        "oepl_measured_tags": tags,
        "oepl_time_scale": scale,
        **_uplink_figures(smoke),
        **_ble_figures(smoke),
    }
