"""`esl publish --by` and `esl import ... --by` name who did it in one line of at most 128
characters (publications.created_by), refused before anything is stored: on PostgreSQL,
which enforces the column's length, a 200-character name ended in "unexpected DataError
... value too long ... report it", and SQLite stored it whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.models import PublicationRow
from tests.support.database import database_url

pytestmark = pytest.mark.integration

LONG = "Dział cen, centrala Gdańsk: import nocny z systemu ERP " * 4  # 220 characters


@pytest.fixture
def cli(seeded: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(seeded))
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ESL_ENV_FILE", raising=False)
    return CliRunner()


def _publications(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(PublicationRow)) or 0


def _publication_file(tmp_path: Path) -> Path:
    body = {
        "title": "mleko",
        "items": [{"action": "set_price", "sku": "MLK-1", "amount": "3.49", "currency": "PLN"}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _prices_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,national,,,3.49,PLN,,\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("by", "said"),
    [
        (LONG, "a name of 220 characters: at most 128"),
        ("ceny\ncentrala", "line break"),
        ("  ", "a name is needed"),
    ],
)
@pytest.mark.parametrize("command", ["publish", "import prices"])
def test_a_by_name_that_cannot_be_recorded_is_refused_before_anything_is_stored(
    cli: CliRunner, seeded: Engine, tmp_path: Path, command: str, by: str, said: str
) -> None:
    before = _publications(seeded)
    path = _publication_file(tmp_path) if command == "publish" else _prices_file(tmp_path)
    result = cli.invoke(app, [*command.split(), str(path), "--by", by])
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert "unexpected" not in result.output
    assert _publications(seeded) == before


@pytest.mark.parametrize("command", ["publish", "import prices"])
def test_a_by_name_of_128_characters_is_recorded(
    cli: CliRunner, seeded: Engine, tmp_path: Path, command: str
) -> None:
    by = LONG[:128]
    path = _publication_file(tmp_path) if command == "publish" else _prices_file(tmp_path)
    result = cli.invoke(app, [*command.split(), str(path), "--by", by])
    assert result.exit_code == 0, result.output
    with session_factory(seeded)() as session:
        assert by in set(session.scalars(select(PublicationRow.created_by)))
