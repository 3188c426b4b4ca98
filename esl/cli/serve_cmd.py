"""`esl serve`: the API with uvicorn, on ESL_API_HOST:ESL_API_PORT."""

from __future__ import annotations

import typer
import uvicorn

from esl.api import create_app
from esl.settings import load_settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, "--host", help="Default: ESL_API_HOST."),
        port: int | None = typer.Option(None, "--port", help="Default: ESL_API_PORT."),
    ) -> None:
        """Serve the HTTP API (OpenAPI at /docs). Run `esl db upgrade` first."""
        settings = load_settings()
        uvicorn.run(
            create_app(settings),
            host=host or settings.api_host,
            port=port or settings.api_port,
            log_level="info",
        )
