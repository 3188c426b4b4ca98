"""A timed publication's "On the shelf", once its instant has passed, follows the labels'
own word: a label is counted on the shelf from the first word it signed after the
instant reporting the new image (its acknowledgement of the timed frame only says it
holds it), and the time to the shelf is measured to the last such word, never to the
acknowledgements of the frames before the instant (that made it "0.0 s after it took
effect" before any label had flipped). A label that, heard after the instant, reports
the price before (it could not draw the flip) is not on the shelf.

Companion of `test_console_state_against_the_audit.py::
test_a_timed_publication_is_not_on_every_shelf_before_its_flips_are_heard` (before the
instant, and after it unheard): the controller and simulated labels speaking the real
protocol (tests/pipeline/small_world.py), one test clock, the real console over HTTP.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from esl.api.app import create_app
from esl.services.keys import Role
from esl.settings import Settings
from tests.pipeline.console_client import signed_in
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.audit import audit_by_label
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures
from tests.support.pipeline import publish_prices

LONDON = Settings.defaults().model_copy(update={"time_zone": "Europe/London"})


def _on_the_shelf(
    world: World, engine: Engine, server: tuple[AppSwitch, str], publication: int
) -> str:
    """The publication page's "On the shelf", as text, on a console whose chain keeps
    London time (the pages' times are in the chain's zone, not the locale's)."""
    switch, url = server
    switch.app = create_app(LONDON, engine=engine, clock=world.clock)
    try:
        with signed_in(world, url, Role.STORE, "S01") as console:
            page = console.get(f"/ui/publications/{publication}").text
    finally:
        switch.app = None
    shelf = re.search(r'id="publication-shelf">(.*?)</dd>', page, re.S)
    assert shelf is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shelf.group(1))).strip()


async def _timed_publication_held(world: World) -> tuple[int, datetime]:
    """MLK-1 at 3.49 from 20 minutes on, its timed image acknowledged by every label."""
    flip = (world.clock.now + timedelta(minutes=20)).replace(microsecond=0)
    publication = publish_prices(
        world.sessions, {"MLK-1": "3.49"}, now=world.clock.now, effective_at=flip
    )
    for label_id in world.labels:
        await world.acknowledge_timed_image(label_id, flip)
    return publication, flip


async def test_a_timed_publication_is_on_the_shelf_when_its_last_flip_is_heard(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=2)
    first, second = world.labels
    publication, flip = await _timed_publication_held(world)
    said = _on_the_shelf(world, engine, server=http_server, publication=publication)
    london = flip.astimezone(ZoneInfo("Europe/London"))
    assert said == f"held by 2 label(s), shown from {london:%Y-%m-%d %H:%M:%S} (+00:00)", said

    world.clock.advance(flip + timedelta(seconds=40) - world.clock.now)
    world.dispatcher.settle([world.check_in(first)])  # "I show 3.49", 40 s after
    assert world.state(first).displayed_hash == world.hash_of(first)
    said = _on_the_shelf(world, engine, server=http_server, publication=publication)
    assert said == "1 flipped, not heard yet", said

    world.clock.advance(flip + timedelta(seconds=70) - world.clock.now)
    world.dispatcher.settle([world.check_in(second)])  # the last, 70 s after
    verdicts = audit_by_label(world.sessions, world.clock.now)
    assert {verdicts[label].audit_class.value for label in world.labels} == {"match"}
    said = _on_the_shelf(world, engine, server=http_server, publication=publication)
    assert said == "every label confirmed, 70.0 s after it took effect", said


async def test_a_label_heard_showing_the_price_before_after_the_instant_is_not_on_the_shelf(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)
    (label_id,) = world.labels
    before = world.state(label_id).displayed_hash
    publication, flip = await _timed_publication_held(world)
    world.labels[label_id].set_battery_mv(2_200)  # below a refresh: it skips the flip
    world.clock.advance(flip + timedelta(seconds=60) - world.clock.now)
    world.dispatcher.settle([world.check_in(label_id)])  # "I show 2.49", a minute after
    assert world.state(label_id).displayed_hash == before != world.hash_of(label_id)

    said = _on_the_shelf(world, engine, server=http_server, publication=publication)
    assert said.startswith("1 label(s) not on the shelf (1 flip not shown:"), said


async def test_a_flip_replaced_before_its_instant_is_the_later_publications_to_answer_for(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    """Another price for the same instant published before it, its timed image replacing
    the flip the label held: the first publication never reaches this label, the later
    one answers for it on its own page; the first does not call it a flip not shown."""
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)
    (label_id,) = world.labels
    publication, flip = await _timed_publication_held(world)
    # Put right for the same instant: its timed image replaces the flip the label held.
    publish_prices(world.sessions, {"MLK-1": "3.29"}, now=world.clock.now, effective_at=flip)
    await world.converge()
    assert world.state(label_id).held_hash not in (None, world.hash_of(label_id))
    world.clock.advance(flip + timedelta(seconds=30) - world.clock.now)

    said = _on_the_shelf(world, engine, server=http_server, publication=publication)
    assert "not on the shelf" not in said, said
    assert "every label" not in said, said
