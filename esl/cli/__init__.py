"""The `esl` command line. Each command group lives in its own module in this package."""

from __future__ import annotations

import typer

from esl.cli import bench_cmd

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ESL and price-sync controller.")
bench_cmd.register(app)


def main() -> None:
    app()
