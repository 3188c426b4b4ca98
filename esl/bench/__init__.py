"""Benchmark suites for `esl bench <suite> --json`.

Each suite is a module in this package exposing

    REQUIRED_KEYS: tuple[str, ...]          # figures the suite always reports
    def run(*, smoke: bool) -> dict[str, object]

`smoke=True` runs the same code at a tiny size; the test suite calls every suite that way
so a benchmark cannot rot unnoticed. Suites are found by module name, so adding one is
adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["available_suites", "load_suite"]


def available_suites() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load_suite(name: str) -> ModuleType:
    if name not in available_suites():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")
