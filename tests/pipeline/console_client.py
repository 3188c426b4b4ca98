"""The real console over the pipeline's stepped test world (tests/pipeline/small_world.py:
one database, one test clock), read by an HTTP client signed in with a key of a role."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch

__all__ = ["csrf", "form_fields", "labels_listed", "serve_console", "signed_in", "typed_time"]


@contextmanager
def serve_console(
    world: World, engine: Engine, http_server: tuple[AppSwitch, str]
) -> Iterator[str]:
    """The app of the world's database and clock in the worker's server; its URL."""
    switch, url = http_server
    switch.app = create_app(Settings.defaults(), engine=engine, clock=world.clock)
    try:
        yield url
    finally:
        switch.app = None


@contextmanager
def signed_in(
    world: World, url: str, role: Role, store: str | None = None
) -> Iterator[httpx.Client]:
    """A client signed in to the console with a new key of `role` (of `store`)."""
    name = f"{role}-{store or 'chain'}-{uuid.uuid4().hex[:8]}"  # key names are unique
    with world.sessions.begin() as session:
        _, key = create_key(session, name=name, role=role, store=store, now=world.clock.now)
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client:
        answer = client.post("/ui/sign-in", data={"api_key": key})
        assert answer.status_code == 200, answer.text[-400:]
        yield client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def form_fields(page: str, action: str) -> dict[str, str]:
    """What a browser sends for the page's form posting to `action`: its hidden inputs
    and textareas."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form is not None, f"no form posting to {action}"
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[1]
        )
    }
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form[1], re.S):
        fields[name] = html.unescape(value)
    return fields


def labels_listed(page: str) -> set[str]:
    """The label ids a store view lists."""
    return set(re.findall(r'<span class="id">([^<]+)</span>', page))


def typed_time(at: datetime) -> str:
    """What a pricing user types in the console's "Publish at" field for the instant `at`:
    the time a clock in the chain's zone shows then (the field holds no offset)."""
    zone = Settings.defaults().installation_time_zone or "UTC"
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def read_on_the_chains_clock(at: datetime) -> str:
    """How the console shows the instant `at`: the time a clock in the chain's zone shows
    then, with its offset ("2026-03-02 10:00:05 (+01:00)"; seconds only when some)."""
    zone = Settings.defaults().installation_time_zone or "UTC"
    local = at.astimezone(ZoneInfo(zone))
    reading = f"{local:%Y-%m-%d %H:%M:%S}" if local.second else f"{local:%Y-%m-%d %H:%M}"
    return f"{reading} ({local.isoformat()[-6:]})"
