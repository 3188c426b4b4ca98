"""How the `esl` processes log: a level, and plain text for people or JSON for collectors.

Configured once, at start-up, from `esl --log-level LEVEL --log-format text|json`
(or ESL_LOG_LEVEL / ESL_LOG_FORMAT). JSON lines carry `time`, `level`, `logger` and
`message`, plus whatever a record adds with `extra=` (python-json-logger).
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum

from pythonjsonlogger.json import JsonFormatter

__all__ = ["LogFormat", "LogLevel", "configure_logging"]

CHATTY_LIBRARIES = ("alembic", "amqtt", "transitions", "httpx", "bleak")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a test runner swaps it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(level: LogLevel, log_format: LogFormat) -> None:
    """Send every logger's records at `level` or above to stderr in `log_format`."""
    handler = _StderrHandler()
    if log_format is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _StderrHandler):  # ours from an earlier call; others stay
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.value.upper())
    # Libraries that narrate their internals at INFO speak up only when debugging.
    chatty = logging.WARNING if level is not LogLevel.DEBUG else logging.DEBUG
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(chatty)
    # uvicorn configures its own loggers; make them go through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
