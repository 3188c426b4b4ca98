"""Files of their owner's alone: the umask most hosts run under, and what `ls -l` shows.

The fixture `usual_umask` is imported by the test modules that use it
(`# noqa: F401 - fixture`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["file_modes", "private", "usual_umask"]


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """Umask 022 for the test (files 0644, folders 0755 unless made otherwise)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def file_modes(*paths: Path) -> dict[str, str]:
    """Each path's name and its mode as `ls -l` writes it ("-rw-------")."""
    return {p.name: stat.filemode(p.stat().st_mode) for p in paths}


def private(found: dict[str, str]) -> bool:
    """Whether no mode of `found` (`file_modes`) lets its group or others in."""
    return all(mode.endswith("------") for mode in found.values())
