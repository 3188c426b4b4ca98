"""What the `esl` command prints when a command fails: what is wrong and what to do.

Every error we raise on purpose (`EslError`) and the few operating-system failures a
person causes (a port in use, a file that cannot be read) end in one or two lines on
stderr and exit code 1. Anything else is a bug: one line naming it and how to see the
traceback. `--debug` or ESL_DEBUG=1 lets every exception through with its traceback.

A command that documents another exit code for its refusals (`esl audit`'s 2, whose 1
means labels wrong for too long) or prints a result before failing ends them with
`exiting_with` / `show_traceback_if_debug`: the same lines, and the traceback under
`--debug`, with its own exit code.
"""

from __future__ import annotations

import errno
import os
import socket
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from esl.cli.invocation import Invocation
from esl.db.readiness import DatabaseNotReadyError
from gateways.errors import GatewayConnectError, InvalidBrokerUrlError
from pricing.errors import EslError

__all__ = [
    "ActionableErrorsGroup",
    "debug_requested",
    "exiting_with",
    "explain",
    "show_traceback_if_debug",
]

BROKER_HINT = (
    "is the broker running there, and does it take this user? "
    "(mqtt://USER:PASSWORD@HOST:PORT; the embedded broker takes any user name)"
)


def debug_requested(ctx: Any = None) -> bool:
    if os.environ.get("ESL_DEBUG", "").strip() not in ("", "0", "false", "no"):
        return True
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, Invocation) and root.obj.debug)


def explain(error: BaseException) -> list[str]:
    """The lines to print for `error`: what is wrong, then what to do (when we know)."""
    if isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        return explain(error.exceptions[0])  # a task group's single failure
    if isinstance(error, DatabaseNotReadyError):
        return [f"error: {error.message}", f"  {error.hint}"]
    if isinstance(error, GatewayConnectError):
        return [f"error: {error.message}", f"  {BROKER_HINT}"]
    if isinstance(error, InvalidBrokerUrlError):
        return [
            f"error: {error.message}",
            "  write it as mqtt://USER:PASSWORD@HOST:1883 or mqtts://HOST:8883",
        ]
    if isinstance(error, EslError):
        hint = error.fields.get("hint")
        return [f"error: {error.message}"] + ([f"  {hint}"] if hint else [])
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return [
            f"error: the port is already in use ({error.strerror})",
            "  stop what listens there, or choose another port "
            "(esl serve --port, esl run --metrics-port, esl mqtt broker --port)",
        ]
    if isinstance(error, socket.gaierror) or (
        isinstance(error, OSError) and error.errno in (errno.EADDRNOTAVAIL, errno.EACCES)
    ):
        # An address to listen on that is not this machine's, a name that does not
        # resolve, or a port below 1024 without the right: an operator's setting.
        return [
            f"error: cannot listen there: {error.strerror or error}",
            "  check --host / ESL_API_HOST (an address of this machine, e.g. 127.0.0.1 or "
            "0.0.0.0) and the port (1024 and above without root)",
        ]
    if isinstance(error, OSError) and error.filename is not None:
        return [f"error: {error.filename}: {error.strerror}"]
    if isinstance(error, (TimeoutError, ConnectionError)):
        return [
            f"error: {type(error).__name__}: {error or 'no answer in time'}",
            "  check that the broker and database named in ESL_BROKER_URL / "
            "ESL_DATABASE_URL are reachable",
        ]
    first_line = (str(error).strip().splitlines() or [""])[0]
    return [
        f"error: unexpected {type(error).__name__}: {first_line}",
        "  run again with --debug (or ESL_DEBUG=1) for the traceback, and report it",
    ]


class ActionableErrorsGroup(TyperGroup):
    """The root command: turns a failing command's exception into `explain`'s lines."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as error:
            if debug_requested(ctx):
                raise
            for line in explain(error):
                typer.echo(line, err=True)
            raise typer.Exit(1) from None


def show_traceback_if_debug(ctx: Any, error: BaseException) -> None:
    """Under --debug, the traceback of an `error` a command ends itself (the root command
    would have let it through): where it came from is what --debug is asked for."""
    if debug_requested(ctx):
        typer.echo("".join(traceback.format_exception(error)), err=True, nl=False)


@contextmanager
def exiting_with(ctx: Any, exit_code: int) -> Iterator[None]:
    """An `EslError` raised in the block ends as the root command ends it (`explain`'s
    lines, the hint with them; the traceback first under --debug), but with `exit_code`,
    which the command documents, under --debug too."""
    try:
        yield
    except EslError as error:
        show_traceback_if_debug(ctx, error)
        for line in explain(error):
            typer.echo(line, err=True)
        raise typer.Exit(exit_code) from None
