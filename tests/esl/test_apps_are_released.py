"""An app the API built and served with is freed with everything it holds (its database
engine, metrics, routes) once nothing uses it: `esl.api.route_templates` kept the last
eight apps' compiled operations in an lru_cache keyed by the app, and with them the apps."""

from __future__ import annotations

import gc
import weakref

import httpx
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.settings import Settings
from tests.support.api import forget_fastapi_endpoints


async def test_an_app_that_served_requests_is_freed_once_dropped(engine: Engine) -> None:
    app = create_app(Settings.defaults(), engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://esl") as client:
        # Each request's latency is recorded per operation: it reads the compiled ones.
        assert (await client.get("/api/v1/labels")).status_code == 401
        assert (await client.get("/metrics")).status_code == 200
    released = weakref.ref(app)
    del app, transport, client
    forget_fastapi_endpoints()
    gc.collect()
    assert released() is None, [type(r).__name__ for r in gc.get_referrers(released())]
