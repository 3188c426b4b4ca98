"""`esl zones put CODE --name NAME` creates or renames a pricing zone as `PUT /zones` does
(`esl.services.zones.save_zone`), so a store file can then name it; bad input is refused
with one line and saves nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.models import StoreRow, ZoneRow
from esl.errors import ImportRejectedError
from esl.imports.by_kind import import_file
from tests.support.api import Api
from tests.support.database import START, database_url


@pytest.fixture
def runner(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    return CliRunner()


def _zones(engine: Engine) -> dict[str, str]:
    with session_factory(engine)() as session:
        return {row.code: row.name for row in session.scalars(select(ZoneRow))}


def _import_stores(engine: Engine, text: str) -> None:
    """The store file, as `esl import stores` loads it (in-process: that command's engine
    is its own)."""
    with session_factory(engine).begin() as session:
        import_file(session, "stores", text, currency="PLN", imported_by="test", now=START)


def test_a_zone_put_from_the_command_line_can_be_named_by_the_store_file(
    runner: CliRunner, engine: Engine
) -> None:
    stores = "code,name,zone\nS01,Gdańsk Oliwa,north\n"
    with pytest.raises(ImportRejectedError) as refused:
        _import_stores(engine, stores)
    (problem,) = refused.value.problems
    assert "zone 'north' of store S01 does not exist" in str(problem["reason"])

    created = runner.invoke(app, ["zones", "put", "north", "--name", "Północ"])
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "created zone north: Północ"
    renamed = runner.invoke(app, ["zones", "put", "north", "--name", "Pomorze"])
    assert renamed.exit_code == 0, renamed.output
    assert renamed.stdout.strip() == "saved zone north: Pomorze"
    assert _zones(engine) == {"north": "Pomorze"}
    listed = runner.invoke(app, ["zones", "list"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout == "north\tPomorze\n"

    _import_stores(engine, stores)
    with session_factory(engine)() as session:
        store = session.get(StoreRow, "S01")
        assert store is not None
        assert store.zone == "north"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["zones", "put", "north/east", "--name", "X"], "zone code 'north/east': 1 to 32"),
        (["zones", "put", "n" * 33, "--name", "X"], "1 to 32 letters, digits"),
        (["zones", "put", "", "--name", "X"], "zone code '': 1 to 32"),
        (["zones", "put", "north", "--name", "  "], "a zone needs a name"),
        (["zones", "put", "north", "--name", "N" * 129], "zone name of 129 characters"),
    ],
)
def test_bad_input_is_refused_in_one_line_and_nothing_is_saved(
    runner: CliRunner, engine: Engine, arguments: list[str], message: str
) -> None:
    assert runner.invoke(app, ["zones", "put", "north", "--name", "Północ"]).exit_code == 0
    refused = runner.invoke(app, arguments)
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith("error: "), refused.stderr
    assert message in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "Traceback" not in refused.output
    assert _zones(engine) == {"north": "Północ"}


def test_a_zone_without_a_name_is_a_usage_error(runner: CliRunner, engine: Engine) -> None:
    refused = runner.invoke(app, ["zones", "put", "north"])
    assert refused.exit_code == 2
    assert "--name" in refused.output
    assert _zones(engine) == {}


def test_the_api_refuses_what_the_command_line_refuses(api: Api) -> None:
    """PUT /zones saves through the same `save_zone`: a blank name is a 422 there too."""
    admin = api.headers("admin")
    refused = api.client.put("/api/v1/zones/east", json={"name": "  "}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_item", refused.text
    saved = api.client.put("/api/v1/zones/east", json={"name": "Wschód"}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"code": "east", "name": "Wschód"}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (" Północ\u00a0", "Północ"),
        ("\tPomorze  Gdańskie ", "Pomorze  Gdańskie"),
        # Too long only by its blanks: counted trimmed, as a file counts a cell.
        (f" {'N' * 128} ", "N" * 128),
    ],
)
def test_a_zone_name_is_trimmed_the_same_by_the_api_and_the_command_line(
    api: Api, runner: CliRunner, engine: Engine, sent: str, stored: str
) -> None:
    """Every other text an admin or a file sends is trimmed (docs/api.md, blanks); a
    zone's name was stored with its blanks by both `PUT /zones` and `esl zones put`, and
    one padded past 128 characters was refused by the API alone."""
    by_api = api.client.put("/api/v1/zones/east", json={"name": sent}, headers=api.headers("admin"))
    assert by_api.status_code == 200, by_api.text
    assert by_api.json() == {"code": "east", "name": stored}

    by_cli = runner.invoke(app, ["zones", "put", "west", "--name", sent])
    assert by_cli.exit_code == 0, by_cli.output
    assert by_cli.stdout == f"created zone west: {stored}\n"

    assert {code: name for code, name in _zones(engine).items() if code in {"east", "west"}} == {
        "east": stored,
        "west": stored,
    }


@pytest.mark.parametrize("sent", ["", " \u00a0\t"])
def test_a_zone_name_of_blanks_only_is_refused_by_both(
    api: Api, runner: CliRunner, sent: str
) -> None:
    by_api = api.client.put("/api/v1/zones/east", json={"name": sent}, headers=api.headers("admin"))
    assert by_api.status_code == 422, by_api.text
    by_cli = runner.invoke(app, ["zones", "put", "west", "--name", sent])
    assert by_cli.exit_code == 1, by_cli.output
    assert "a zone needs a name" in by_cli.stderr


@pytest.mark.parametrize(
    ("sent", "named"),
    [("Pół\nnoc", "a line break"), ("Północ\x00", "U+0000"), ("\u202eNorth", "U+202E")],
)
def test_a_zone_name_of_more_than_one_line_is_refused_by_both(
    api: Api, runner: CliRunner, engine: Engine, sent: str, named: str
) -> None:
    """A zone's name is a name like a store's (`esl.one_line_text`): a line break, a
    control character or a direction control is refused by `PUT /zones` and by
    `esl zones put`, naming the character, and nothing is saved (both stored it)."""
    by_api = api.client.put("/api/v1/zones/east", json={"name": sent}, headers=api.headers("admin"))
    assert by_api.status_code == 422, by_api.text
    error = by_api.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_item", "name"), error
    assert named in error["message"], error
    by_cli = runner.invoke(app, ["zones", "put", "west", "--name", sent])
    assert by_cli.exit_code == 1, by_cli.output
    assert named in by_cli.stderr, by_cli.stderr
    assert len(by_cli.stderr.strip().splitlines()) == 1, by_cli.stderr
    assert set(_zones(engine)).isdisjoint({"east", "west"})
