"""`esl serve`: the API with uvicorn, on ESL_API_HOST:ESL_API_PORT."""

from __future__ import annotations

import socket

import typer

from esl.cli.invocation import settings_of

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: str | None = typer.Option(None, "--host", help="Default: ESL_API_HOST."),
        port: int | None = typer.Option(
            None, "--port", min=1, max=65535, help="Default: ESL_API_PORT."
        ),
    ) -> None:
        """Serve the HTTP API (OpenAPI at /docs). Run `esl db upgrade` first."""
        # Imported here: `esl` starts every command, and the web stack would cost each.
        import uvicorn

        from esl.api.app import create_app
        from esl.db.readiness import open_ready_engine

        settings = settings_of(ctx)
        engine = open_ready_engine(settings.resolved_database_url(), echo=settings.database_echo)
        host = host or settings.api_host
        port = port if port is not None else settings.api_port
        # Bound here, not by uvicorn, so a port in use is our one-line error, not its log.
        # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so (see ServerThread).
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError:
            listener.close()
            raise
        typer.echo(
            f"API on http://{host}:{port}/api/v1 (documentation: /docs), console on /ui/",
            err=True,
        )
        config = uvicorn.Config(create_app(settings, engine=engine), log_config=None)
        uvicorn.Server(config).run(sockets=[listener])
