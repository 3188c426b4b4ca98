"""`esl demo --keep-serving`: the controller it keeps running says so, where `esl run`'s
does (`esl health`, GET /api/v1/health/controller)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.demo.run import DemoOptions, DemoReport, run_demo
from tests.esl_demo.test_pipeline_demo import FAST

pytestmark = [pytest.mark.integration]


async def test_the_serving_demo_says_its_controller_is_running(tmp_path: Path) -> None:
    """The demo prints `ESL_DATA_DIR=... esl health`; both it and the API said
    "controller: not running" (running false) while the demo's controller ran."""
    out = tmp_path / "demo"
    options = DemoOptions(out_dir=out, stores=1, labels=2, timeout_s=60, timings=FAST)
    stop = asyncio.Event()
    ready: dict[str, str] = {}

    def on_ready(report: DemoReport, token: str) -> None:
        ready["url"], ready["token"] = report.api_url, token

    async def look() -> tuple[dict[str, object], str]:
        try:
            while "url" not in ready:
                await asyncio.sleep(0.1)
            body: dict[str, object] = {}
            async with httpx.AsyncClient(
                base_url=ready["url"], headers={"X-API-Key": ready["token"]}, timeout=10
            ) as client:
                for _ in range(50):  # up to 5 s for a status report
                    body = (await client.get("/api/v1/health/controller")).json()
                    if body.get("running"):
                        break
                    await asyncio.sleep(0.1)
            health = await asyncio.to_thread(
                CliRunner().invoke, app, ["health"], env={"ESL_DATA_DIR": str(out)}
            )
            return body, health.output
        finally:
            stop.set()

    report, (controller, health_output) = await asyncio.gather(
        run_demo(options, progress=lambda *_: None, keep_serving=stop, on_ready=on_ready),
        look(),
    )
    assert report.acked == 2
    assert controller["running"] is True, controller
    assert "controller: not running" not in health_output, health_output
    # Stopped, it leaves no report of a running controller behind.
    assert not (out / "controller-status.json").exists()
