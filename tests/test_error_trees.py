"""The error trees drawn in the errors modules' docstrings are the real class hierarchy.

A reader learns what `except X` catches from the drawing (pricing/errors.py draws the
whole system's top level), so a class moved, added or re-parented without redrawing fails
here rather than misleading them.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pricing.errors import EslError

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pricing", "rendering", "gateways", "firmware_sim", "esl")
DRAWN_IN = (
    "pricing.errors",
    "esl.errors",
    "rendering.errors",
    "gateways.errors",
    "gateways.protocol.errors",
    "gateways.ble.errors",
    "gateways.oepl.errors",
    "esl.pipeline.errors",
    "esl.mqtt.errors",
)
_NODE = re.compile(r"\+-- ([A-Z]\w*)")
_ROOT = re.compile(r"^(\s*)([A-Z]\w*Error)\b")


def _drawn_edges(doc: str) -> list[tuple[str, str]]:
    """(child, parent) for every `+--` line of the trees in `doc`."""
    edges: list[tuple[str, str]] = []
    # Name column -> name: a `+--` at column c hangs below the name that starts at c.
    names_at: dict[int, str] = {}
    lines = doc.splitlines()
    for number, line in enumerate(lines):
        node = _NODE.search(line)
        if node is not None:
            column = line.index("+--")
            parent = names_at.get(column)
            assert parent is not None, f"{line!r} hangs below nothing"
            edges.append((node.group(1), parent))
            names_at = {c: n for c, n in names_at.items() if c <= column}
            names_at[node.start(1)] = node.group(1)
            continue
        root = _ROOT.match(line)
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if root is not None and "+--" in following:
            names_at = {len(root.group(1)): root.group(2)}
    return edges


def _classes() -> dict[str, type]:
    found: dict[str, type] = {"EslError": EslError}
    for name in DRAWN_IN:
        module = importlib.import_module(name)
        found |= {
            key: value
            for key, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Exception)
        }
    return found


# Run in a child process: in CPython 3.11 an `ast.parse` that races another thread's
# (3.11 parses a source line for the carets of every traceback it prints, so a thread an
# earlier test left behind can) fails with "AST constructor recursion depth mismatch"
# (python/cpython#106905). The child has no other thread.
_SCAN = """
import ast, json, sys
from pathlib import Path

root, drawn = Path(sys.argv[1]), set(sys.argv[2].split(","))
found = set()
for package in sys.argv[3].split(","):
    for path in (root / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    if isinstance(base, ast.Name) and base.id in drawn:
                        found.add((node.name, base.id))
print(json.dumps(sorted(found)))
"""


def _defined_subclasses(drawn: set[str]) -> set[tuple[str, str]]:
    """(class, base) for every class in the source tree whose base is a drawn error."""
    scanned = subprocess.run(
        [sys.executable, "-c", _SCAN, str(ROOT), ",".join(sorted(drawn)), ",".join(PACKAGES)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {(name, base) for name, base in json.loads(scanned.stdout)}


@pytest.mark.parametrize("module_name", DRAWN_IN)
def test_each_drawn_edge_is_the_real_base_class(module_name: str) -> None:
    module = importlib.import_module(module_name)
    edges = _drawn_edges(module.__doc__ or "")
    assert edges, f"{module_name} draws no tree"
    classes = _classes()
    wrong = [
        f"{child} drawn below {parent}"
        for child, parent in edges
        if child in classes and classes[child].__bases__ != (classes[parent],)
    ]
    assert wrong == []


@pytest.mark.parametrize("module_name", DRAWN_IN)
def test_every_error_a_module_defines_is_in_its_drawing(module_name: str) -> None:
    module = importlib.import_module(module_name)
    drawn = {child for child, _ in _drawn_edges(module.__doc__ or "")}
    defined = {
        name
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, EslError)
        and value.__module__ == module_name
    }
    assert defined - drawn - {"EslError"} == set()


def test_every_subclass_of_a_drawn_error_is_drawn_somewhere() -> None:
    edges = {
        edge
        for name in DRAWN_IN
        for edge in _drawn_edges(importlib.import_module(name).__doc__ or "")
    }
    drawn = {child for child, _ in edges} | {"EslError"}
    assert _defined_subclasses(drawn) - edges == set()


def test_the_drawing_parser_reads_nesting_and_side_branches() -> None:
    doc = """
        EslError
        +-- AError           text
        |   +-- BError
        |       +-- CError
        +-- DError
    """
    assert _drawn_edges(doc) == [
        ("AError", "EslError"),
        ("BError", "AError"),
        ("CError", "BError"),
        ("DError", "EslError"),
    ]
