"""Review (console against the audit): one label at one instant, read by the store view,
the label page, the health API and the audit, must tell the same truth about whether it
shows what is due.

Two timed flips (a promotion's end planned ahead, acknowledged by the label):

- the instant passed and the label was not heard since: the audit says `unconfirmed`
  (the panel may still show the price before: a battery sagged below a refresh skips the
  flip), while the store view badges it "up to date" without a word of it, the label
  page's state reads "up to date", and the health API counts it up to date;
- the label checked in a minute after the instant, still showing the price before (it
  could not draw the flip): its own word, believed, says the shelf is wrong (the audit:
  not the due price), while the three views call it "up to date", the store view beside a
  thumbnail of the old price and the due image.

The controller and the simulated label speaking the real protocol (tests/pipeline/
small_world.py), SQLite, one test clock; the real console over HTTP.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from esl.services.keys import Role, create_key
from tests.pipeline.console_client import serve_console, signed_in
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def _views(
    world: World, engine: Engine, server: tuple[AppSwitch, str], label_id: str
) -> dict[str, Any]:
    """What the store view's card, the label page's state and the health API say."""
    with world.sessions.begin() as session:
        _, key = create_key(
            session, name="watch", role=Role.AUDITOR, store=None, now=world.clock.now
        )
    with serve_console(world, engine, server) as url:
        with signed_in(world, url, Role.STORE, "S01") as console:
            store = console.get("/ui/stores/S01").text
            card = re.search(r'<li class="label-card[^"]*">.*?</li>', store, re.S)
            assert card is not None
            badge = re.search(r'<span class="badge [a-z_]+">([^<]*)<', card.group(0))
            assert badge is not None
            page = console.get(f"/ui/labels/{label_id}").text
            state = re.search(r'id="label-state">([^<]*)<', page)
            assert state is not None
            up_to_date = console.get("/ui/stores/S01?state=up_to_date").text
        with httpx.Client(base_url=url, headers={"X-API-Key": key}) as api:
            (health,) = api.get("/api/v1/health/labels", params={"store": "S01"}).json()
    return {
        "store card": _text(card.group(0)),
        "store badge": badge.group(1),
        "listed as up to date": label_id in up_to_date,
        "label page state": state.group(1),
        "health up_to_date": health["up_to_date"],
    }


def _calls_it_right(views: dict[str, Any]) -> list[str]:
    """The views that call the label up to date."""
    said = []
    if views["store badge"] == "up to date":
        said.append(f"store view badge 'up to date' ({views['store card']})")
    if views["listed as up to date"]:
        said.append("store view lists it under state=up_to_date")
    if views["label page state"] == "up to date":
        said.append("label page state 'up to date'")
    if views["health up_to_date"]:
        said.append("GET /health/labels counts it up_to_date")
    return said


async def test_a_flip_not_heard_is_not_up_to_date_in_the_console(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)  # the promotion price
    (label_id,) = world.labels
    flip = world.publish_flip_ahead("3.49", ahead=timedelta(minutes=20))  # promotion ends
    await world.acknowledge_timed_image(label_id, flip)
    world.clock.advance(flip + timedelta(seconds=30) - world.clock.now)  # not heard since

    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert (verdict.audit_class.value, verdict.shows_due) == ("unconfirmed", False)
    views = _views(world, engine, http_server, label_id)
    wrong = _calls_it_right(views)
    if "not heard" not in views["store card"]:
        wrong.append("the store view's card does not say it was not heard since the flip")
    assert wrong == [], f"audit: unconfirmed ({verdict.reason}); the console and API say: {wrong}"


async def test_a_label_that_said_it_kept_the_price_before_is_not_up_to_date(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)
    (label_id,) = world.labels
    before = world.state(label_id).displayed_hash
    flip = world.publish_flip_ahead("3.49", ahead=timedelta(minutes=20))
    await world.acknowledge_timed_image(label_id, flip)
    world.labels[label_id].set_battery_mv(2_200)  # below a refresh: it skips the flip
    world.clock.advance(flip + timedelta(seconds=60) - world.clock.now)
    world.dispatcher.settle([world.check_in(label_id)])  # "I show 2.49", a minute after
    world.controller.plan_due_work()
    assert world.panel_hash(label_id) == before != world.hash_of(label_id)
    assert world.state(label_id).displayed_hash == before  # its word, believed

    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert not verdict.shows_due
    assert str(verdict.shown_price) == "2.49"
    wrong = _calls_it_right(_views(world, engine, http_server, label_id))
    assert wrong == [], (
        f"the label itself reported 2.49 (due 3.49); audit {verdict.audit_class.value} "
        f"({verdict.reason}); the console and API say: {wrong}"
    )


async def test_a_timed_publication_is_not_on_every_shelf_before_its_flips_are_heard(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    """The publication page says "every label confirmed, 0.0 s after it took effect"
    five minutes before it takes effect (the labels only hold its timed image), and
    again after the instant while the audit says the flip is not heard (unconfirmed)."""
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)
    (label_id,) = world.labels
    flip = (world.clock.now + timedelta(minutes=20)).replace(microsecond=0)
    publication = publish_prices(
        world.sessions, {"MLK-1": "3.49"}, now=world.clock.now, effective_at=flip
    )
    await world.acknowledge_timed_image(label_id, flip)
    found = []
    for at in (flip - timedelta(minutes=5), flip + timedelta(seconds=30)):
        world.clock.advance(at - world.clock.now)
        verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
        with (
            serve_console(world, engine, http_server) as url,
            signed_in(world, url, Role.STORE, "S01") as console,
        ):
            page = console.get(f"/ui/publications/{publication}").text
        shelf = re.search(r'id="publication-shelf">(.*?)</dd>', page, re.S)
        assert shelf is not None
        found.append(
            (
                str(world.clock.now),
                _text(shelf.group(1)),
                verdict.audit_class.value,
                world.panel_hash(label_id) == world.hash_of(label_id),
            )
        )
    # Before the instant its price is on no shelf (the labels hold it); after it, the
    # flip is counted, not heard (the audit: unconfirmed).
    claimed = [f for f in found if f[1].startswith("every label confirmed")]
    assert claimed == [], f"(instant, On the shelf, audit, panel shows due): {found}"
