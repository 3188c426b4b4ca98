"""In a real browser: a label whose panel shows another image than the one the record
confirms (it drew a price whose answer was lost, and said so in its check-in) is drawn on
its page with the image it reported, captioned so, and the due image beside it, never the
confirmed one beside "pending".

The label is a simulated one in the pipeline's stepped test world (one test clock,
`tests/pipeline/small_world.py`), stepped in a thread of its own: Playwright's sync API
holds this thread's event loop.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.pipeline.console_client import read_on_the_chains_clock
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.waiting import run_in_a_thread_of_its_own

DRAWN = {"MLK-1": "2.89"}  # on the panel, its answer lost
DUE = {"MLK-1": "2.59"}  # published before the label answered again


def _stepped(world_of: World) -> None:
    async def scenario() -> None:
        (label_id,) = world_of.labels
        await world_of.converge()
        world_of.clock.advance(timedelta(minutes=1))
        await world_of.drew_a_superseded_frame(label_id, drawn=DRAWN, due=DUE)

    run_in_a_thread_of_its_own(scenario, name="small-world")


@pytest.fixture
def world(engine: Engine) -> World:
    world = World.priced(engine, count=1)
    _stepped(world)
    return world


@pytest.fixture
def console_url(
    world: World, engine: Engine, http_server: tuple[AppSwitch, str]
) -> Iterator[tuple[str, str]]:
    """The console over the world's database and clock, and a store key for it."""
    with world.sessions.begin() as session:
        _, key = create_key(
            session, name="shelf", role=Role.STORE, store="S01", now=world.clock.now
        )
    switch, url = http_server
    switch.app = create_app(Settings.defaults(), engine=engine, clock=world.clock)
    yield url, key
    switch.app = None


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def test_the_page_draws_the_image_the_label_reported(
    page: Page, world: World, console_url: tuple[str, str]
) -> None:
    url, key = console_url
    (label_id,) = world.labels
    panel = world.labels[label_id]
    assert panel.shown_hash is not None
    state = world.state(label_id)
    assert state.confirmed_hash not in (None, panel.shown_hash.hex())
    page.goto(f"{url}/ui/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{url}/ui/labels/{label_id}")
    expect(page.locator("#label-state")).to_have_text("pending")
    shown = page.get_by_role("img", name="The image the label reported showing")
    expect(shown).to_have_js_property("complete", True)
    expect(shown).to_have_js_property("naturalWidth", 296)
    expect(page.locator("#label-shown figcaption")).to_have_text(
        f"Shows (reported by the label at {read_on_the_chains_clock(world.clock.now)})"
    )
    src = shown.get_attribute("src")
    assert src is not None
    assert src.endswith(f"h={panel.shown_hash.hex()}")
    # The pixels the browser drew are the panel's, not the confirmed image's.
    drawn = page.request.get(f"{url}{src}")
    assert _pixels(drawn.body()) == _pixels(panel.display_png(now=world.clock.now))
    due = page.get_by_role("img", name="The image due on the label")
    expect(due).to_have_js_property("complete", True)
    assert (due.get_attribute("src") or "").endswith(f"h={state.desired_hash}")
    # And the store's view: the same thumbnail, said to be the label's word.
    page.goto(f"{url}/ui/stores/S01")
    thumbnail = page.get_by_role("img", name=f"What {label_id} reported showing")
    expect(thumbnail).to_have_js_property("naturalWidth", 296)
    expect(page.locator(".label-card")).to_contain_text("shows as reported by the label")
