"""The console's label page says what the controller is doing after a re-bind: "pending,
its image is being planned" until the new product's image is planned, never "up to date"
for the product it no longer shows (the real app over the controller's database, the
controller stepped by hand)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.pipeline.small_world import T0, World
from tests.support.api import AppSwitch


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


def _state_text(console: httpx.Client, label_id: str) -> str:
    page = console.get(f"/ui/labels/{label_id}")
    assert page.status_code == 200
    found = re.search(r'id="label-state">([^<]*)<', page.text)
    assert found is not None
    return found.group(1)


async def test_after_a_rebind_the_page_says_the_new_image_is_being_planned(
    world: World, engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    await world.converge()
    label_id = sorted(world.labels)[0]
    with world.sessions.begin() as session:
        _, key = create_key(session, name="shelf", role=Role.STORE, store="S01", now=T0)
    switch, url = http_server
    switch.app = create_app(Settings.defaults(), engine=engine, clock=world.clock)
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as console:
        assert console.post("/ui/sign-in", data={"api_key": key}).status_code == 200
        assert _state_text(console, label_id) == "up to date"
        page = console.get(f"/ui/labels/{label_id}").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        bound = console.post(
            f"/ui/labels/{label_id}/bind", data={"csrf": csrf.group(1), "code": "CHS-1"}
        )
        assert bound.status_code == 200
        assert "CHS-1" in bound.text
        # Nothing planned yet: the record still describes the old product's image.
        assert _state_text(console, label_id) == "pending: new product, its image is being planned"
        world.controller.plan_due_work()
        assert _state_text(console, label_id).startswith("pending")
        await world.converge()
        assert _state_text(console, label_id) == "up to date"
    switch.app = None
