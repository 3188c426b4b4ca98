"""What an operator reads about the controller: the health API and /metrics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from esl.api.app import create_app
from esl.metrics import metrics_registry, render
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.support.clock import wall_clock

__all__ = ["controller_health", "metrics_text"]


async def controller_health(settings: Settings, engine: Engine) -> dict[str, object]:
    """GET /api/v1/health/controller, as an auditor, on the wall clock."""
    with sessionmaker(engine).begin() as session:
        _, token = create_key(session, name="ops", role=Role.AUDITOR, store=None, now=wall_clock())
    api = create_app(settings, engine=engine, clock=wall_clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://esl"
    ) as client:
        answer = await client.get("/api/v1/health/controller", headers={"X-API-Key": token})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def metrics_text(engine: Engine, status_path: Path, *, renew_every: timedelta) -> str:
    """One scrape of /metrics, on the wall clock."""
    registry, _ = metrics_registry(
        sessionmaker(engine), wall_clock, status_path=status_path, renew_every=renew_every
    )
    return render(registry).decode()
