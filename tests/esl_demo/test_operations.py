"""What an operator looks at in a running system: /metrics after labels took a promotion,
and /docs, /redoc served with no internet."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from esl.cli.pipeline_cmd import run_controller
from esl.db.engine import create_engine_for, upgrade_database
from esl.demo.run import DemoOptions, DemoReport, run_demo
from esl.settings import Settings
from tests.esl_demo.test_pipeline_demo import FAST
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name:
            found = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
            if found == wanted:
                return float(match[3])
    raise AssertionError(f"no sample {name}{{{wanted}}}")


async def test_metrics_and_offline_docs_of_a_running_demo(tmp_path: Path) -> None:
    options = DemoOptions(out_dir=tmp_path / "demo", stores=1, labels=3, timeout_s=60, timings=FAST)
    stop = asyncio.Event()
    seen: dict[str, str] = {}

    def ready(report: DemoReport, token: str) -> None:
        with httpx.Client(base_url=report.api_url, timeout=10) as client:
            client.get("/api/v1/stores", headers={"X-API-Key": token}).raise_for_status()
            seen["metrics"] = client.get("/metrics").text
            docs = client.get("/docs").text
            redoc = client.get("/redoc").text
            seen["docs"], seen["redoc"] = docs, redoc
            assets = re.findall(r'(?:src|href)="(/static-offline-docs/[^"]+)"', docs + redoc)
            seen["assets"] = " ".join(
                f"{path}:{client.get(path).status_code}:{len(client.get(path).content)}"
                for path in sorted(set(assets))
            )
        stop.set()

    report = await run_demo(options, progress=lambda *_: None, keep_serving=stop, on_ready=ready)
    assert report.acked == 3

    metrics = seen["metrics"]
    store = report.stores[0]["store"]
    assert _sample(metrics, "esl_labels", store=store, state="up_to_date") == 3
    assert _sample(metrics, "esl_labels", store=store, state="failed") == 0
    acked = _sample(metrics, "esl_frames_acked_total")
    assert acked >= 3  # the current prices on each of 3 labels, then the promotion
    assert _sample(metrics, "esl_frames_sent_total") >= acked
    assert _sample(metrics, "esl_time_to_shelf_seconds_count") == acked
    assert _sample(metrics, "esl_outbox_frames", status="pending") == 0
    assert _sample(
        metrics, "esl_api_request_duration_seconds_count", method="GET", route="/api/v1/stores",
        status="200",
    ) == 1  # fmt: skip

    assert "cdn" not in seen["docs"] + seen["redoc"]
    assets = dict(item.split(":", 1) for item in seen["assets"].split())
    assert set(assets) == {
        "/static-offline-docs/swagger-ui-bundle.js",
        "/static-offline-docs/swagger-ui.css",
        "/static-offline-docs/redoc.standalone.js",
        "/static-offline-docs/favicon.png",
    }
    for status_and_size in assets.values():
        status, size = status_and_size.split(":")
        assert status == "200"
        assert int(size) > 1_000


async def test_esl_run_serves_the_same_metrics_on_a_port(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    engine = create_engine_for(settings.resolved_database_url())
    upgrade_database(engine)
    engine.dispose()
    port = free_port()
    stop = asyncio.Event()
    running = asyncio.create_task(
        run_controller(settings, window=4, poll_s=0.1, stop=stop, metrics_port=port)
    )
    try:
        text = ""
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(100):
                try:
                    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        assert _sample(text, "esl_outbox_frames", status="pending") == 0
        assert _sample(text, "esl_frames_sent_total") == 0
        assert "esl_time_to_shelf_seconds_bucket" in text
    finally:
        stop.set()
        await running
