"""The HTTP API harness: one uvicorn per test worker, each test installing its own app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies import models as fastapi_dependencies
from sqlalchemy import Engine, create_engine

from esl.api.app import create_app
from esl.settings import Settings
from tests.support.clock import Clock

__all__ = ["MILK_PRODUCT", "Api", "AppSwitch", "forget_fastapi_endpoints", "openapi_document"]

# A product body for `PUT /api/v1/products/{sku}` (a SKU of dairy, sold since 2025).
MILK_PRODUCT = {
    "name": "Mleko UHT 3,2% 1 l",
    "brand": "Łaciate",
    "category": "dairy",
    "vat_rate": "5",
    "net_content": "1",
    "net_unit": "l",
    "on_sale_since": "2025-01-01T00:00:00Z",
}


def forget_fastapi_endpoints() -> None:
    """Empty FastAPI's module-level LRU caches of the endpoints and dependencies it has
    classified (4,096 entries each): through those functions' closures every app a test
    process builds, its engine, metrics registry and pydantic schemas stayed alive, and
    the test workers grew past 1.7 GB. A server builds one app, so only tests need this.
    FastAPI's private names: a rename makes this do nothing, and workers grow again."""
    for name in (
        "_is_gen_callable_cached",
        "_is_async_gen_callable_cached",
        "_is_coroutine_callable_cached",
    ):
        cached = getattr(fastapi_dependencies, name, None)
        if cached is not None:
            cached.cache_clear()


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, of an app over an in-memory database given as an
    engine (through the settings one is refused: no command could use it)."""
    return create_app(Settings.defaults(), engine=create_engine("sqlite://")).openapi()


class AppSwitch:
    """An ASGI app that forwards to whichever app the current test installed.

    One uvicorn per test worker serves every test; each test brings its own database.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        assert self.app is not None, "no app installed"
        await self.app(scope, receive, send)  # type: ignore[arg-type]


@dataclass
class Api:
    client: httpx.Client
    keys: dict[str, str]
    clock: Clock
    engine: Engine

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def add_labels(self, stores: dict[str, str], *, model: str = "2.9-bwr") -> None:
        """Register each label (id -> its store) through `POST /api/v1/labels` as an admin."""
        for label_id, store in stores.items():
            label = {"id": label_id, "store": store, "model": model}
            response = self.client.post("/api/v1/labels", json=label, headers=self.headers("admin"))
            assert response.status_code == 201, response.text

    def import_csv(self, kind: str, text: str, *, role: str = "pricing") -> httpx.Response:
        """`text` uploaded as the CSV file of `POST /api/v1/imports/{kind}`."""
        return self.client.post(
            f"/api/v1/imports/{kind}",
            files={"file": (f"{kind}.csv", text, "text/csv")},
            headers=self.headers(role),
        )
