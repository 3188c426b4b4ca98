"""Every setting an operator can give is in docs/operations.md, with its real default."""

from __future__ import annotations

import re
from pathlib import Path

from esl.settings import Settings

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _documented() -> dict[str, str]:
    rows = re.findall(r"^\| `(ESL_[A-Z_]+)` \| ([^|]+) \|", OPERATIONS.read_text(), re.M)
    return {name: default.strip().strip("`") for name, default in rows}


def test_every_setting_is_documented_with_its_default() -> None:
    documented = _documented()
    fields = Settings.model_fields
    assert set(documented) == {f"ESL_{name.upper()}" for name in fields}
    for name, info in fields.items():
        default = info.default
        shown = documented[f"ESL_{name.upper()}"]
        if default is None:
            assert shown == "(unset)", name
        elif isinstance(default, bool):
            assert shown == str(default).lower(), name
        elif isinstance(default, int | float):
            assert float(shown) == float(default), name
        else:
            assert shown == str(default), name
