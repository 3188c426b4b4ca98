"""`esl bench planning`: what planning holds in memory as a change grows, and its rate.

Three sizes of one chain (full size 20,000, 60,000 and 180,000 labels over 10, 30 and
90 stores), each a fresh SQLite database: `stores` stores of `per_store`
labels each, bound to `stores * SKUS_PER_STORE` products (the SKUs reached grow with the
chain too). At each size a publication changing every product's price everywhere is
published, then one planning pass (`esl.bench._planning_process`: the controller as
`esl run` builds it, in a fresh process, with a transport that sends nothing) plans it
and re-plans every label, as a controller does at start.

Figures, all from the same run:

- `planning_rss_mb[labels]`: the planning process's peak resident memory at each size;
- `baseline_rss_mb`: its resident memory before planning (interpreter, imports, empty
  caches), the smallest size's: the fixed part, whatever the change;
- `rss_mb_per_100k_labels_planned`: the slope, (peak at the largest size - peak at the
  smallest) per 100,000 labels more: what memory grows by with the change, not the
  fixed part divided by the labels (`esl bench scale` used to report that); a peak that
  does not grow at all may come out a little lower at the larger size (allocator noise),
  reported as 0;
- `labels_per_s[labels]`: labels planned per second of the pass (wall clock).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from esl.bench.pipeline import _publish, seed_chain
from esl.db.engine import create_engine_for, session_factory, upgrade_database

__all__ = ["REQUIRED_KEYS", "run", "run_sized"]

REQUIRED_KEYS = (
    "labels",
    "planning_rss_mb",
    "baseline_rss_mb",
    "rss_mb_per_100k_labels_planned",
    "labels_per_s",
)

SKUS_PER_STORE = 10  # products in the chain per store: the SKUs reached grow with it


def run(*, smoke: bool) -> dict[str, object]:
    if smoke:
        return run_sized(store_counts=(1, 2, 3), per_store=10)
    return run_sized(store_counts=(10, 30, 90), per_store=2_000)


def run_sized(*, store_counts: tuple[int, ...], per_store: int) -> dict[str, object]:
    """The benchmark at other sizes (`run` is the full one and the smoke one)."""
    if len(set(store_counts)) < 2:
        raise ValueError(f"a slope needs two sizes at least, not {store_counts}")
    measured: dict[int, dict[str, float]] = {}
    for stores in store_counts:
        with tempfile.TemporaryDirectory(prefix="esl-bench-planning-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'esl.sqlite'}"
            _seed_and_publish(url, stores=stores, per_store=per_store)
            measured[stores * per_store] = _plan_in_fresh_process(url)
    sizes = sorted(measured)
    smallest, largest = measured[sizes[0]], measured[sizes[-1]]
    slope = (largest["peak_rss_mb"] - smallest["peak_rss_mb"]) * 100_000 / (sizes[-1] - sizes[0])
    return {
        "labels": sizes,
        "stores": list(store_counts),
        "labels_per_store": per_store,
        "planning_rss_mb": {str(n): measured[n]["peak_rss_mb"] for n in sizes},
        "baseline_rss_mb": smallest["baseline_rss_mb"],
        "rss_mb_per_100k_labels_planned": round(max(slope, 0.0), 1),
        "labels_per_s": {str(n): round(n / measured[n]["seconds"], 1) for n in sizes},
        "frames_planned": {str(n): int(measured[n]["planned"]) for n in sizes},
        "cpu_s": {str(n): measured[n]["cpu_s"] for n in sizes},
    }


def _plan_in_fresh_process(url: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "esl.bench._planning_process", url],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _seed_and_publish(url: str, *, stores: int, per_store: int) -> None:
    engine = create_engine_for(url)
    upgrade_database(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    products = stores * SKUS_PER_STORE
    with sessions.begin() as session:
        # Each store shows its own spread of the chain's products.
        seed_chain(
            session,
            products=products,
            stores=stores,
            per_store=per_store,
            digits=3,
            spread=True,
            now=now,
        )
    _publish(sessions, products, 99, now)  # every product's price
    engine.dispose()
