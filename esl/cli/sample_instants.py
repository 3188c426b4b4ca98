"""`--at` and `--anchor` of the commands that price the bundled sample (render, sample-prices).

Both read an ISO 8601 instant (naive means UTC) and place the sample's day 0 on `--anchor`'s
day, or on `--at`'s when no anchor is given, so the sample is current whenever it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from esl.sample import sample_anchor

__all__ = ["AnchorOption", "AtOption", "instant_option", "sample_instants"]

AtOption = Annotated[
    str | None,
    typer.Option(
        "--at", help="Instant to price the sample at, ISO 8601 (naive = UTC). Default: now."
    ),
]
AnchorOption = Annotated[
    str | None,
    typer.Option("--anchor", help="Day 0 of the sample's dates. Default: --at's day."),
]


def instant_option(text: str | None, option: str) -> datetime:
    """`option`'s instant in UTC; no value is now."""
    if text is None:
        return datetime.now(UTC)  # the clock is read here, at the edge
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option}: not an ISO 8601 instant: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sample_instants(at: str | None, anchor: str | None) -> tuple[datetime, datetime]:
    """The instant to price at and the sample's day 0."""
    instant = instant_option(at, "--at")
    return instant, sample_anchor(instant_option(anchor, "--anchor") if anchor else instant)
