"""An API key's name is one line of 1-128 characters (its column's length): `esl keys
create` refuses any other in one line, exit code 1, and stores nothing. Before, on
PostgreSQL a 200-character name ended in `error: unexpected DataError:
(psycopg.errors.StringDataRightTruncation) ... report it`, the line kept for bugs, and
SQLite stored it; an empty name and one with a line break or a tab were stored too, and
`esl keys list` (name TAB role TAB store ...) then printed rows a script misreads."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.errors import InvalidItemError
from esl.services.keys import Role, create_key, list_keys
from tests.support.database import START

pytestmark = pytest.mark.integration

REFUSED = {
    "200 characters": ("k" * 200, "a key's name is at most 128 characters, not 200"),
    "line break": ("pricing\nteam", "a key's name contains '\\n' (U+000A): one line of text"),
    "tab": ("pricing\tteam", "a key's name contains '\\t' (U+0009): one line of text"),
    "empty": ("", "a key needs a name: who or what uses it"),
    "spaces": ("   ", "a key needs a name: who or what uses it"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_esl_keys_create_refuses_the_name_in_one_line(cli: CliRunner, case: str) -> None:
    name, reason = REFUSED[case]
    result = cli.invoke(app, ["keys", "create", name, "--role", "auditor"])
    assert result.exit_code == 1, f"stored a key named {name!r}"
    assert result.stdout == ""  # no token
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {reason}"), lines
    assert cli.invoke(app, ["keys", "list"]).stdout == ""


@pytest.mark.parametrize("case", REFUSED)
def test_create_key_refuses_the_name_on_every_backend(engine: Engine, case: str) -> None:
    name, reason = REFUSED[case]
    with pytest.raises(InvalidItemError) as refused, session_factory(engine).begin() as session:
        create_key(session, name=name, role=Role.AUDITOR, store=None, now=START)
    assert refused.value.message.startswith(reason)
    assert refused.value.field == "name"
    with session_factory(engine)() as session:
        assert list_keys(session) == []


def test_a_name_of_128_characters_is_stored_and_listed(engine: Engine) -> None:
    name = "Zespół cenowy " + "k" * 114
    with session_factory(engine).begin() as session:
        create_key(session, name=name, role=Role.AUDITOR, store=None, now=START)
    with session_factory(engine)() as session:
        assert [row.name for row in list_keys(session)] == [name]
