"""The `esl` command line. Each command group lives in its own module in this package."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from esl.cli import (
    audit_cmd,
    bench_cmd,
    db_cmd,
    demo_cmd,
    gateway_cmd,
    import_cmd,
    keys_cmd,
    label_cmd,
    mqtt_cmd,
    pipeline_cmd,
    publish_cmd,
    render_cmd,
    sample_prices_cmd,
    serve_cmd,
    sim_cmd,
    workers_cmd,
    zones_cmd,
)
from esl.cli.failures import ActionableErrorsGroup
from esl.cli.invocation import Invocation
from esl.log_output import LogFormat, LogLevel, configure_logging

__all__ = ["app", "main"]

app = typer.Typer(
    cls=ActionableErrorsGroup,
    no_args_is_help=True,
    help="ESL and price-sync controller.",
    pretty_exceptions_enable=False,
)


def _installed_version() -> str:
    try:
        return version("esl-price-sync")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"esl {_installed_version()}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="ESL_DEBUG", help="Show the traceback when a command fails."
        ),
    ] = False,
    log_level: Annotated[
        LogLevel,
        typer.Option("--log-level", envvar="ESL_LOG_LEVEL", case_sensitive=False),
    ] = LogLevel.INFO,
    log_format: Annotated[
        LogFormat,
        typer.Option("--log-format", envvar="ESL_LOG_FORMAT", help="text, or json for collectors."),
    ] = LogFormat.TEXT,
) -> None:
    """ESL and price-sync controller."""
    ctx.obj = Invocation(debug=debug)
    configure_logging(log_level, log_format)


bench_cmd.register(app)
gateway_cmd.register(app)
mqtt_cmd.register(app)
sim_cmd.register(app)
db_cmd.register(app)
import_cmd.register(app)
keys_cmd.register(app)
label_cmd.register(app)
publish_cmd.register(app)
serve_cmd.register(app)
demo_cmd.register(app)
sample_prices_cmd.register(app)
render_cmd.register(app)
pipeline_cmd.register(app)
workers_cmd.register(app)
audit_cmd.register(app)
zones_cmd.register(app)


def main() -> None:
    app()
