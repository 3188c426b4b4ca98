"""`esl bench sim`: how fast simulated labels verify frames, and how small they are.

- `frames_verified_per_s`: simulated 2.9" black/white/red labels receiving full-image
  update frames on one core: parse, check every chunk CRC and the HMAC, decode the image
  with the `rendering` decoder, check its content hash, refresh, sign the answer.
  Frames are built beforehand; only the label side is timed. Five rounds of 2,000 fresh
  labels; the figure is frames per second of this process's CPU time in the best round
  (so other processes sharing the machine do not count against it);
  `frames_verified_per_s_wall` is the same round by the wall clock.
- `rss_mb_10k_labels`: peak resident memory of a separate Python process holding one
  simulated gateway with 10,000 labels, each of which has received and shows its own
  image (through the same receive path), after a round of check-ins.
  `rss_mb_empty_process` is the same process with no labels, measured the same way,
  so the difference is what the labels cost.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from rendering.display_models import get_display_model
from rendering.encoding import Planes, planes_from_image

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS: Final = (
    "frames_verified_per_s",
    "frame_bytes_mean",
    "rss_mb_10k_labels",
    "rss_mb_empty_process",
    "labels_in_rss_process",
)
_MODEL = "2.9-bwr"
_T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def shelf_label_planes(number: int, *, model_id: str = _MODEL) -> Planes:
    """A plausible price label, different for every `number`: name, price, unit price,
    a barcode and a red promotion bar (what `rendering` draws, approximately)."""
    model = get_display_model(model_id)
    rng = random.Random(number)
    image = Image.new("P", (model.width, model.height), 0)
    draw = ImageDraw.Draw(image)
    small = ImageFont.load_default(size=14)
    large = ImageFont.load_default(size=44)
    draw.text((6, 4), f"Produkt nr {number} 500 g", fill=1, font=small)
    draw.text((6, 20), f"Marka {rng.randint(1, 999)}", fill=1, font=small)
    accent = 2 if model.has_accent else 1
    draw.rectangle((150, 36, model.width - 4, 96), fill=accent)
    draw.text((158, 42), f"{rng.randint(1, 99)},{rng.randint(0, 99):02d}", fill=0, font=large)
    draw.text((6, 44), f"{rng.randint(1, 99)},{rng.randint(0, 99):02d} zł/kg", fill=1, font=small)
    draw.text((6, 62), "Najniższa cena z 30 dni", fill=1, font=small)
    x = 6
    for _ in range(30):
        width = rng.randint(1, 3)
        draw.rectangle((x, 100, x + width - 1, model.height - 4), fill=1)
        x += width + rng.randint(1, 3)
    return planes_from_image(image, has_accent=model.has_accent)


@dataclass(frozen=True)
class _Throughput:
    per_cpu_s: float
    per_wall_s: float
    frame_bytes_mean: float


def _frames_verified_per_s(*, frames: int, distinct: int, rounds: int) -> _Throughput:
    from firmware_sim.fleet import build_labels, make_fleet
    from firmware_sim.images import ImageStore
    from gateways.protocol import LabelFrame, build_image_update, encode_frame

    provisions = make_fleet(
        store="B001", gateway="gw1", count=frames, model_id=_MODEL, secret=b"bench secret 0123"
    )
    updates = [build_image_update(shelf_label_planes(i), model_id=_MODEL) for i in range(distinct)]
    encoded = [
        encode_frame(
            LabelFrame(label_id=p.label_id, sequence=1, command=updates[i % distinct]), key=p.key
        )
        for i, p in enumerate(provisions)
    ]
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        labels = build_labels(provisions, now=_T0, images=ImageStore())
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        shown = 0
        for label, frame in zip(labels, encoded, strict=True):
            label.receive(frame, now=_T0)
            shown += label.shown is not None
        best_cpu = min(best_cpu, time.process_time() - cpu_start)
        best_wall = min(best_wall, time.perf_counter() - wall_start)
        if shown != frames:
            raise RuntimeError(f"only {shown} of {frames} frames were shown")
    return _Throughput(
        per_cpu_s=frames / best_cpu,
        per_wall_s=frames / best_wall,
        frame_bytes_mean=sum(map(len, encoded)) / len(encoded),
    )


# Runs in a child process so its peak memory is the simulator's alone.
_RSS_PROBE = """
import json, sys
from datetime import UTC, datetime, timedelta
count = int(sys.argv[1])
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from esl.bench.sim import shelf_label_planes
from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from firmware_sim.store_gateway import StoreGatewaySim
from gateways.protocol import LabelFrame, build_image_update, encode_frame
t0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
images = ImageStore()
provisions = make_fleet(store="B001", gateway="gw1", count=count, secret=b"bench secret 0123")
labels = build_labels(provisions, now=t0, images=images)
pool = [shelf_label_planes(i) for i in range(min(count, 64))]
for index, (label, provision) in enumerate(zip(labels, provisions)):
    base = pool[index % len(pool)]
    black = bytearray(base.black)
    black[-16:-8] = index.to_bytes(8, "big")  # every label shows its own image
    planes = type(base)(
        width=base.width, height=base.height, black=bytes(black), accent=base.accent
    )
    update = build_image_update(planes, model_id="2.9-bwr")
    frame = LabelFrame(label_id=provision.label_id, sequence=1, command=update)
    if label.receive(encode_frame(frame, key=provision.key), now=t0) is None or label.shown is None:
        raise SystemExit("label refused its image")
del provisions
gateway = StoreGatewaySim(
    store="B001", gateway="gw1", labels={l.label_id: l for l in labels}, start=t0,
    check_in_interval_s=40.0,
)
gateway.advance(now=t0 + timedelta(seconds=41))
print(json.dumps({"rss_mb": peak_mb(), "labels": len(gateway.labels), "images": len(images)}))
"""


def _rss_of_gateway_processes(*counts: int) -> list[dict[str, float]]:
    """Peak memory of one child process per count, run side by side."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _RSS_PROBE, str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for count in counts
    ]
    results = []
    for child in children:
        out, err = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"memory probe failed: {err}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def run(*, smoke: bool) -> dict[str, object]:
    frames = 200 if smoke else 2_000
    throughput = _frames_verified_per_s(
        frames=frames, distinct=10 if smoke else 200, rounds=1 if smoke else 5
    )
    loaded, empty = _rss_of_gateway_processes(50 if smoke else 10_000, 0)
    return {
        "frames_verified_per_s": round(throughput.per_cpu_s),
        "frames_verified_per_s_wall": round(throughput.per_wall_s),
        "frames_verified_per_round": frames,
        "frame_bytes_mean": round(throughput.frame_bytes_mean),
        "display_model": _MODEL,
        "rss_mb_10k_labels": round(loaded["rss_mb"], 1),
        "rss_mb_empty_process": round(empty["rss_mb"], 1),
        "labels_in_rss_process": int(loaded["labels"]),
        "distinct_images_in_rss_process": int(loaded["images"]),
    }
