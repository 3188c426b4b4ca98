"""The console draws what the label last reported showing, not what the record confirms.

Found by code review: a label that reported (a check-in, believed by the controller) that
its panel shows another image than the one the record confirms was drawn on its page and
in its store's view with the confirmed image, next to "pending": staff saw one price on
the screen while the panel showed another. Now the page draws the reported image with a
caption saying so, and what is due beside it; an image the controller never sent is said
in words, never drawn as the confirmed one. Simulated labels, the real controller and the
real app over one database, one test clock.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.settings import Settings
from firmware_sim.images import ImageStore
from rendering.display_models import get_display_model
from rendering.encoding import Planes, content_hash
from tests.pipeline.console_client import read_on_the_chains_clock
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.pipeline import publish_prices

PRICES_B = {"MLK-1": "3.19"}
PRICES_C = {"MLK-1": "2.89"}
PRICES_D = {"MLK-1": "2.59"}


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


@pytest.fixture
def console(
    world: World, engine: Engine, http_server: tuple[AppSwitch, str]
) -> Iterator[httpx.Client]:
    """The console of the world's database and clock, signed in with a store key."""
    with world.sessions.begin() as session:
        _, key = create_key(
            session, name="shelf", role=Role.STORE, store="S01", now=world.clock.now
        )
    switch, url = http_server
    switch.app = create_app(Settings.defaults(), engine=engine, clock=world.clock)
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client:
        assert client.post("/ui/sign-in", data={"api_key": key}).status_code == 200
        yield client
    switch.app = None


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def _state_text(page: str) -> str:
    found = re.search(r'id="label-state">([^<]*)<', page)
    assert found is not None
    return found.group(1)


def _figure(page: str, which: str) -> tuple[str, str]:
    """The image URL and the caption of the page's figure `which` (shown, due)."""
    found = re.search(
        rf'<figure[^>]*><img src="([^"]*/{which}\.png\?h=[^"]*)"[^>]*>'
        r"<figcaption>(.*?)</figcaption></figure>",
        page,
        re.S,
    )
    assert found is not None, f"no {which} figure on the page"
    return found.group(1), re.sub(r"<[^>]+>", "", found.group(2))


async def _middle_price_drawn_unacknowledged(world: World) -> str:
    """The label confirmed prices B; prices C were drawn on its panel but its answer was
    lost, and D came before it answered again; its believed check-in says it shows C."""
    (label_id,) = world.labels
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    await world.drew_a_superseded_frame(label_id, drawn=PRICES_C, due=PRICES_D)
    return label_id


async def test_the_label_page_draws_the_image_the_label_reported_with_a_caption(
    world: World, console: httpx.Client
) -> None:
    label_id = await _middle_price_drawn_unacknowledged(world)
    reported_at = world.clock.now
    state = world.state(label_id)
    panel = world.labels[label_id]
    assert panel.shown_hash is not None
    assert state.displayed_hash == panel.shown_hash.hex() != state.confirmed_hash
    page = console.get(f"/ui/labels/{label_id}").text
    assert _state_text(page) == "pending"
    src, caption = _figure(page, "shown")
    assert f"h={panel.shown_hash.hex()}" in src
    assert caption == (f"Shows (reported by the label at {read_on_the_chains_clock(reported_at)})")
    drawn = console.get(src)
    assert drawn.status_code == 200
    assert _pixels(drawn.content) == _pixels(panel.display_png(now=world.clock.now))
    # One URL, one image: only an image this label's record names is served by hash.
    assert console.get(f"/ui/labels/{label_id}/shown.png?h={'0' * 32}").status_code == 404
    # The store's view draws the same image for it.
    store = console.get("/ui/stores/S01").text
    assert f"/ui/labels/{label_id}/shown.png?h={panel.shown_hash.hex()}" in store
    assert f"shown.png?h={state.confirmed_hash}" not in store
    assert "shows as reported by the label (the record confirms another image)" in store


async def test_an_image_the_controller_never_sent_is_said_in_words(
    world: World, console: httpx.Client
) -> None:
    """The label's panel holds an image the controller never rendered (a panel reset to
    white, or a label from another system) while an update is on its way."""
    (label_id,) = world.labels
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    confirmed = world.state(label_id).confirmed_hash
    model = get_display_model(world.labels[label_id].hardware.model.id)
    row = bytes(((model.width + 7) // 8) * model.height)
    white = Planes(
        width=model.width,
        height=model.height,
        black=row,
        accent=row if model.has_accent else None,
    )
    unknown = content_hash(white)
    snapshot = world.labels[label_id].snapshot()
    images = ImageStore()
    images.intern(unknown, white)
    world.restore(
        label_id,
        (
            replace(
                snapshot,
                shown_hash=unknown,
                page_hashes=(unknown, *snapshot.page_hashes[1:]),
            ),
            images,
        ),
    )
    publish_prices(world.sessions, PRICES_C, now=world.clock.now)
    world.controller.plan_due_work()  # its update is due, not sent yet
    world.clock.advance(timedelta(seconds=5))
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.state(label_id).displayed_hash == unknown.hex()
    page = console.get(f"/ui/labels/{label_id}").text
    assert f"shown.png?h={confirmed}" not in page
    assert (
        f"The label reported showing an image the controller never sent ({unknown.hex()[:12]}"
        in page
    )
    assert _state_text(page) == "pending"
    store = console.get("/ui/stores/S01").text
    assert f"shown.png?h={confirmed}" not in store
    assert "reported an image the controller never sent" in store


async def test_a_held_flip_shows_the_image_of_now_and_the_timed_one_as_due(
    world: World, console: httpx.Client
) -> None:
    """A label holding a timed image shows the image of now until its instant: the page
    draws that (the label's word), not the timed image it acknowledged holding."""
    (label_id,) = world.labels
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    now_image = world.labels[label_id].shown_hash
    assert now_image is not None
    flip = world.publish_flip_ahead()
    world.clock.advance(timedelta(minutes=45))  # within the lead: planned ahead
    await world.converge()
    state = world.state(label_id)
    assert state.desired_display_at == flip
    assert state.confirmed_hash == state.desired_hash != now_image.hex()
    page = console.get(f"/ui/labels/{label_id}").text
    assert _state_text(page) == "scheduled"
    src, caption = _figure(page, "shown")
    assert f"h={now_image.hex()}" in src
    assert caption.startswith("Shows (reported by the label at ")
    due_src, due_caption = _figure(page, "due")
    assert f"h={state.desired_hash}" in due_src
    assert due_caption == f"Due from {read_on_the_chains_clock(flip)}"
    drawn = console.get(src)
    assert _pixels(drawn.content) == _pixels(
        world.labels[label_id].display_png(now=world.clock.now)
    )
    # Past its instant and not heard since: it flipped by itself (as the audit counts it).
    world.clock.advance(flip - world.clock.now + timedelta(seconds=1))
    page = console.get(f"/ui/labels/{label_id}").text
    src, caption = _figure(page, "shown")
    assert f"h={state.desired_hash}" in src
    assert caption == (
        f"Shows (the timed image, flipped at {read_on_the_chains_clock(flip)}; not heard since)"
    )
    assert 'id="label-due"' not in page
