"""The layering rules of docs/architecture.md, checked rather than hoped for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.cli_process import libraries_loaded_by

ROOT = Path(__file__).resolve().parent.parent

# Pure packages take values and return values: no I/O libraries, no application code.
PURE_PACKAGES = ("pricing", "rendering")
FORBIDDEN_IN_PURE = (
    "esl",
    "gateways",
    "firmware_sim",
    "paho",
    "bleak",
    "sqlalchemy",
    "fastapi",
    "amqtt",
    "socket",
    "asyncio",
    "requests",
    "httpx",
)
# Time is a parameter: nothing in the pure packages reads the clock itself.
FORBIDDEN_CALLS = ("now", "utcnow", "today", "time", "monotonic", "perf_counter")


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_import_no_io_library_and_no_application_code(package: str) -> None:
    offenders = []
    for path in _python_files(package):
        if path.parent.name == "bench":
            continue
        roots = _imported_roots(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [
            f"{path.relative_to(ROOT)}: {r}" for r in sorted(roots & set(FORBIDDEN_IN_PURE))
        ]
    assert offenders == []


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_never_read_the_clock(package: str) -> None:
    offenders = []
    for path in _python_files(package):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in FORBIDDEN_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"datetime", "date", "time"}
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_importing_gateways_does_not_pull_in_a_transport_library() -> None:
    transports = ("bleak", "paho", "sqlalchemy", "fastapi")
    assert libraries_loaded_by("gateways, pricing, rendering, firmware_sim", transports) == []


def test_the_cli_starts_without_the_web_stack_the_pipeline_or_the_simulator() -> None:
    """`esl` builds every command to start any one: a command's heavy modules are
    imported when it runs (a store gateway, a test's dozens of `esl` processes and an
    operator's `esl --help` each waited two seconds more for the API and the pipeline)."""
    heavy = ("fastapi", "uvicorn", "bleak", "esl.pipeline", "esl.demo", "firmware_sim")
    assert libraries_loaded_by("esl.cli", heavy) == []
