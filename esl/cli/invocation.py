"""What one `esl` invocation shares between the root command and the command it runs.

The root callback makes one `Invocation` per run of `esl` and puts it on the Typer
context; commands ask it for the settings (`settings_of(ctx)`). The settings are read from
the environment once, when a command first needs them: `esl --version` or `esl render`
never read them, so a bad `ESL_` variable stops only the commands that use it.

The database engine is opened the same way, once, when a command first asks for sessions
(`sessions_of(ctx)`), and disposed when the command ends (its root context closes): no
connection outlives the command, which matters when commands run in-process (the tests'
`CliRunner`) against a PostgreSQL server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from esl.one_line_text import one_line_problem
from esl.settings import Settings, SettingsFileError, UnknownSettingError, load_settings
from esl.text_lengths import PRINCIPAL_LENGTH

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Invocation", "checked_principal", "sessions_of", "settings_of"]


@dataclass
class Invocation:
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    def settings(self, command: str) -> Settings:
        """The settings, read once; unusable ones end `command` with what is wrong (exit 2)."""
        if self._settings is None:
            try:
                self._settings = load_settings()
            except ValidationError as error:
                problems = "; ".join(_named(problem) for problem in error.errors())
                typer.echo(f"{command}: settings: {problems}", err=True)
                raise typer.Exit(2) from None
            except (SettingsFileError, UnknownSettingError) as error:
                typer.echo(f"{command}: settings: {error.message}", err=True)
                raise typer.Exit(2) from None
        return self._settings


def _named(problem: ErrorDetails) -> str:
    """One setting's problem, naming its variable (a field's own check does not)."""
    message = str(problem["msg"]).removeprefix("Value error, ")
    if not problem["loc"]:  # a check across settings names them itself
        return message
    name = f"ESL_{str(problem['loc'][0]).upper()}"
    return message if name in message else f"{name}: {message}"


def _invocation(ctx: typer.Context) -> Invocation:
    root = ctx.find_root()
    if not isinstance(root.obj, Invocation):
        # A command invoked without the root callback (a test calling a sub-app alone).
        root.obj = Invocation()
    return root.obj


def settings_of(ctx: typer.Context) -> Settings:
    """The invocation's settings, from any command's context."""
    invocation = _invocation(ctx)
    names = []
    context: Any = ctx  # typer's own (vendored) click Context above the first
    while context.parent is not None:
        names.append(context.info_name or "")
        context = context.parent
    return invocation.settings(" ".join(["esl", *reversed(names)]))


def sessions_of(ctx: typer.Context) -> sessionmaker[Session]:
    """Sessions on the invocation's database (migrated and reachable, or a clear error);
    one engine per invocation, disposed when the command ends."""
    invocation = _invocation(ctx)
    if invocation._sessions is None:
        # Imported here: commands that need no database (`esl render`) skip SQLAlchemy's
        # start-up.
        from esl.db.engine import session_factory
        from esl.db.readiness import open_ready_engine

        engine = open_ready_engine(settings_of(ctx).resolved_database_url())
        ctx.find_root().call_on_close(engine.dispose)
        invocation._sessions = session_factory(engine)
    return invocation._sessions


def checked_principal(value: str) -> str:
    """A `--by` name (who published or imported), checked before anything is stored: it is
    recorded in a column of PRINCIPAL_LENGTH characters, which PostgreSQL enforces ("value
    too long ... report it" before) and SQLite does not."""
    if not value.strip():
        raise typer.BadParameter("a name is needed: who is publishing or importing")
    if len(value) > PRINCIPAL_LENGTH:
        raise typer.BadParameter(f"a name of {len(value)} characters: at most {PRINCIPAL_LENGTH}")
    problem = one_line_problem(value)
    if problem is not None:
        raise typer.BadParameter(problem)
    return value
