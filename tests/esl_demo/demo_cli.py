"""Running `esl demo --json` in-process, as a user would from a shell."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from esl.cli import app


def demo_json(args: list[str]) -> tuple[int, dict[str, Any]]:
    """The exit code and the demo's JSON summary (or its output, when it printed none)."""
    result = CliRunner().invoke(app, ["demo", *args, "--json"])
    lines = [line for line in result.stdout.strip().splitlines() if line.startswith("{")]
    return result.exit_code, (json.loads(lines[-1]) if lines else {"output": result.output})
