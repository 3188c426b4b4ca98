"""`esl bench <suite> --json`: run one benchmark suite and print one JSON object."""

from __future__ import annotations

import json

import typer

from esl.bench import available_suites, load_suite


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        suite: str = typer.Argument(..., help="Suite name: " + ", ".join(available_suites())),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        smoke: bool = typer.Option(False, "--smoke", help="Tiny sizes: checks the suite runs."),
    ) -> None:
        """Measure one part of the system and print its figures."""
        try:
            module = load_suite(suite)
        except KeyError:
            typer.echo(f"unknown suite {suite!r}; known: {', '.join(available_suites())}", err=True)
            raise typer.Exit(2) from None
        figures = module.run(smoke=smoke)
        figures = {"suite": suite, "smoke": smoke, **figures}
        if as_json:
            typer.echo(json.dumps(figures, sort_keys=True, default=str))
        else:
            for key, value in figures.items():
                typer.echo(f"{key:32} {value}")
