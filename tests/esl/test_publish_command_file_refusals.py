"""`esl publish FILE.json` with a file that is not a publication's body ends in one or
two lines, what is wrong and what to do (README, "When something is wrong"; docs/
operations.md), exit code 2, nothing stored. Before, a file saved in a Windows code page
ended in `error: unexpected UnicodeDecodeError ... report it`, the line kept for bugs,
and every other wrong file in pydantic's multi-line dump with its
`https://errors.pydantic.dev/...` links."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = pytest.mark.integration


def _publish(cli: CliRunner, path: Path) -> tuple[int, list[str]]:
    result = cli.invoke(app, ["publish", str(path)])
    return result.exit_code, result.stderr.strip().splitlines()


def test_a_file_that_is_not_utf8_names_the_line_and_byte(cli: CliRunner, tmp_path: Path) -> None:
    """Saved by Notepad in the Polish ANSI code page (cp1250): `ł` is byte 0xB3."""
    body = {
        "title": "Taniej",
        "items": [{"action": "set_price", "sku": "MSL-1", "amount": "6.99"}],
        "note": "Masło",
    }
    path = tmp_path / "publication.json"
    path.write_bytes(json.dumps(body, ensure_ascii=False, indent=1).encode("cp1250"))
    code, lines = _publish(cli, path)
    assert code == 2
    assert lines[0] == f"error: {path}: not UTF-8 text: byte 0xB3 on line 10", lines
    assert "UTF-8" in lines[1], lines
    assert len(lines) == 2


def test_a_file_with_a_byte_order_mark_is_read_as_utf8(cli: CliRunner, tmp_path: Path) -> None:
    body = {
        "title": "Masło taniej",
        "items": [{"action": "set_price", "sku": "MSL-1", "amount": "6.99"}],
    }
    path = tmp_path / "publication.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(body, ensure_ascii=False).encode())
    result = cli.invoke(app, ["publish", str(path)])
    # Read: the SKU is unknown to this empty database, which is the refusal's reason.
    assert result.exit_code == 2, result.output
    first = result.stderr.strip().splitlines()[0]
    assert first == f"error: {path}: items[0]: unknown sku(s): MSL-1", first


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("", "Invalid JSON: EOF while parsing a value at line 1 column 0"),
        ("sku,scope,price\nMLK-1,national,3.49\n", "Invalid JSON: expected value at line 1"),
        ('{"title": "x", "items": []}', "items: List should have at least 1 item"),
        (
            json.dumps(
                {
                    "title": "x",
                    "items": [
                        {"action": "set_price", "sku": "MLK-1"},
                        {"action": "end_price"},
                        {"action": "end_price"},
                        {"action": "end_price"},
                        {"action": "end_price"},
                    ],
                }
            ),
            "items[0].set_price.amount: Field required; items[1].end_price.sku: Field "
            "required; items[2].end_price.sku: Field required (and 2 more)",
        ),
    ],
    ids=["empty", "the price CSV", "no items", "five items wrong"],
)
def test_a_wrong_file_says_what_is_wrong_in_two_lines(
    cli: CliRunner, tmp_path: Path, text: str, first_line: str
) -> None:
    path = tmp_path / "publication.json"
    path.write_text(text, encoding="utf-8")
    code, lines = _publish(cli, path)
    assert code == 2
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"error: {path}: {first_line}"), lines
    assert "POST /api/v1/publications" in lines[1], lines
    assert "errors.pydantic.dev" not in "\n".join(lines)
