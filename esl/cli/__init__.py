"""The `esl` command line. Each command group lives in its own module in this package."""

from __future__ import annotations

import typer

from esl.cli import (
    audit_cmd,
    bench_cmd,
    db_cmd,
    demo_cmd,
    import_cmd,
    keys_cmd,
    mqtt_cmd,
    pipeline_cmd,
    publish_cmd,
    render_cmd,
    sample_prices_cmd,
    serve_cmd,
    sim_cmd,
)

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ESL and price-sync controller.")
bench_cmd.register(app)
mqtt_cmd.register(app)
sim_cmd.register(app)
db_cmd.register(app)
import_cmd.register(app)
keys_cmd.register(app)
publish_cmd.register(app)
serve_cmd.register(app)
demo_cmd.register(app)
sample_prices_cmd.register(app)
render_cmd.register(app)
pipeline_cmd.register(app)
audit_cmd.register(app)


def main() -> None:
    app()
