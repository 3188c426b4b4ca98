"""What an operator looks at in a running system: /metrics after labels took a promotion,
and /docs, /redoc served with no internet."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from esl.cli.controller_process import run_controller
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.demo.run import DemoOptions, DemoReport, run_demo
from esl.metrics import metrics_registry, render
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


async def _scrape_until(port: int, condition: Callable[[str], bool], what: str) -> str:
    text = ""
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(300):
            try:
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                if condition(text):
                    return text
            except (httpx.TransportError, AssertionError):
                pass  # not serving yet, or the sample is not there yet
            await asyncio.sleep(0.1)
    raise AssertionError(f"/metrics never said {what}: {text[-2000:]}")


async def test_esl_run_serves_the_same_metrics_on_a_port(tmp_path: Path) -> None:
    """…and they say when the controller's database does not answer, from the controller's
    own report, while the figures read from the database cannot be had."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_busy_timeout_ms=100,
        database_retry_first_s=0.1,
        controller_window=4,
        controller_poll_s=0.1,
    )
    engine = create_engine_for(settings.resolved_database_url())
    upgrade_database(engine)
    engine.dispose()
    port = free_port()
    stop = asyncio.Event()
    running = asyncio.create_task(run_controller(settings, stop=stop, metrics_port=port))
    try:
        text = await _scrape_until(
            port, lambda t: "esl_controller_up 1.0" in t, "the controller is up"
        )
        assert _sample(text, "esl_outbox_frames", status="pending") == 0
        assert _sample(text, "esl_frames_sent_total") == 0
        assert "esl_time_to_shelf_seconds_bucket" in text
        assert _sample(text, "esl_store_of_record_up") == 1
        assert _sample(text, "esl_database_unreachable_seconds") == 0
        blocker = sqlite3.connect(settings.resolved_database_url().removeprefix("sqlite:///"))
        try:
            blocker.isolation_level = None
            blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
            text = await _scrape_until(
                port,
                lambda t: _sample(t, "esl_database_unreachable_seconds") > 0,
                "the database is unreachable",
            )
            # WAL: a scrape still reads while another writer holds the lock.
            assert _sample(text, "esl_controller_up") == 1
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        text = await _scrape_until(
            port,
            lambda t: _sample(t, "esl_database_unreachable_seconds") == 0,
            "the database answers again",
        )
        assert _sample(text, "esl_database_outages_total") >= 1
        assert _sample(text, "esl_store_of_record_up") == 1
    finally:
        stop.set()
        await running


def test_keep_serving_says_how_to_reach_everything_and_previews_follow_a_price_change(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "esl"), "demo", "--stores", "1", "--labels", "2",
         "--sim-speed", "20", "--out", str(out), "--keep-serving"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("ESL_")},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("  ") and len(line.split(None, 1)) == 2:
                name, value = line.strip().split(None, 1)
                lines[name] = value
            if line.startswith("  CLI"):
                break
        api_url = lines["API"].split()[0].removesuffix("/api/v1")
        token = lines["key"].split()[0]
        assert lines["broker"].startswith("mqtt://esl@127.0.0.1:")
        assert lines["database"] == str(out / "esl.sqlite")
        assert lines["CLI"] == f"ESL_DATA_DIR={out} esl health"

        headers = {"X-API-Key": token}
        with httpx.Client(base_url=api_url, headers=headers, timeout=30) as client:
            label = client.get("/api/v1/labels").json()["items"][0]
            preview = out / "labels" / label["store"] / f"{label['id']}.png"
            before = preview.read_bytes()
            item = {"action": "set_price", "sku": label["binding"]["sku"], "channel": "store",
                    "store": label["store"], "amount": "99.99"}  # fmt: skip
            created = client.post("/api/v1/publications", json={"title": "t", "items": [item]})
            assert created.status_code == 201, created.text
            for step in ("validate", "publish"):
                answer = client.post(f"/api/v1/publications/{created.json()['id']}/{step}")
                assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 60
        while preview.read_bytes() == before:
            assert time.monotonic() < deadline, "the preview never showed the new price"
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_a_scrape_that_cannot_read_the_store_of_record_says_so_and_nothing_stale(
    tmp_path: Path,
) -> None:
    (tmp_path / "esl.sqlite").mkdir()  # a database SQLite cannot open (CANTOPEN)
    gone = create_engine_for(f"sqlite:///{tmp_path / 'esl.sqlite'}")
    registry, _ = metrics_registry(
        session_factory(gone),
        lambda: datetime.now(UTC),
        status_path=tmp_path / "controller-status.json",
        renew_every=timedelta(seconds=10),
    )
    text = render(registry).decode()
    assert _sample(text, "esl_store_of_record_up") == 0
    assert _sample(text, "esl_controller_up") == 0  # no status file: no controller reports
    assert "esl_labels" not in text
    assert "esl_frames_sent" not in text
