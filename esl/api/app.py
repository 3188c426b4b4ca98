"""The FastAPI application: `create_app(settings)` builds it; nothing connects at import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from esl.api.authentication import ApiKeyGate
from esl.api.dependencies import ApiContext
from esl.api.errors import install_error_handlers
from esl.api.json_text import LoneSurrogateGate
from esl.api.openapi_document import shared_openapi
from esl.api.repeated_query import RepeatedQueryGate
from esl.api.routes import (
    audit,
    ble_association,
    catalogue,
    health,
    labels,
    oepl,
    prices,
    publications,
    security,
    templates,
)
from esl.api.schemas import ErrorBody
from esl.db.engine import create_engine_for, session_factory
from esl.metrics import CONTENT_TYPE, ApiLatency, metrics_registry, render
from esl.pipeline.controller_status import controller_status_path
from esl.settings import Settings
from esl.ui import install_console

__all__ = ["API_PREFIX", "create_app", "utc_now"]

API_PREFIX = "/api/v1"
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "No or unknown API key"),
        (403, "The key's role may not do this"),
        (404, "No such resource"),
        (409, "Conflicts with the stored state"),
        (422, "The request is malformed or its content is refused"),
    )
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The API over the database named by `settings` (or `engine`); `clock` tells time."""
    engine = engine or create_engine_for(
        settings.resolved_database_url(), echo=settings.database_echo
    )
    # Swagger UI and ReDoc from the fastapi-offline package, not a CDN: /docs works offline.
    app = FastAPIOffline(
        title="ESL price sync",
        version="1",
        description="Store of record for prices, promotions, publications and labels.",
        responses=ERROR_RESPONSES,
    )
    api_context = ApiContext(settings=settings, sessions=session_factory(engine), clock=clock)
    app.state.context = api_context
    install_error_handlers(app)
    app.add_middleware(LoneSurrogateGate, prefix=API_PREFIX)  # inside the key check too
    app.add_middleware(RepeatedQueryGate)  # inside the key check: 401 comes first
    app.add_middleware(ApiKeyGate, prefix=API_PREFIX, context=api_context)
    registry, latency = metrics_registry(
        api_context.sessions,
        clock,
        status_path=controller_status_path(settings.data_dir),
        renew_every=timedelta(seconds=settings.controller_lease_renew_s),
    )
    app.add_middleware(ApiLatency, histogram=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format (docs/operations.md); no key: counts only, no prices."""
        return Response(render(registry), media_type=CONTENT_TYPE)

    for module in (catalogue, prices, publications, labels, templates, health, security, audit):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(oepl.router, prefix=API_PREFIX)  # store gateways provisioning their APs
    app.include_router(ble_association.router, prefix=API_PREFIX)  # BLE labels via a gateway
    install_console(app)  # the web console under /ui (esl/ui), with its own session sign-in
    app.openapi = shared_openapi(app)  # type: ignore[method-assign]
    return app
