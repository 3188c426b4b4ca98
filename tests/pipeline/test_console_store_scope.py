"""A store key reads its own store's figures of a publication: labels changed, per store
and on their way, on the publications page, a publication's page and the overview
(docs/console.md, *Who sees and does what*: "overview, store view, label page,
publications": store, "its own store").

Found by review: a S01 key read "5 (S01: 2, S02: 3)" on the publications page and the
publication's page, and the overview's time-to-shelf lines counted S02's labels: the
reach was computed for the chain whoever asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.services.keys import Role
from firmware_sim.fleet import make_fleet
from tests.pipeline.console_client import serve_console, signed_in
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.pipeline import publish_prices, register_and_bind


@pytest.fixture
def world(engine: Engine) -> World:
    """Two labels of MLK-1 in S01, three in S02."""
    world = World.priced(engine, count=2)
    with world.sessions.begin() as session:
        register_and_bind(
            session,
            make_fleet(store="S02", gateway="gw2", count=3),
            store="S02",
            gateway="gw2",
            skus=[world.sku],
            now=world.clock.now,
        )
    return world


@pytest.fixture
def publication(world: World) -> int:
    """A new MLK-1 price published and its images planned for the five labels, none sent
    yet: all on their way."""
    world.clock.advance(timedelta(minutes=1))
    number = publish_prices(world.sessions, {world.sku: "2.79"}, now=world.clock.now)
    world.controller.plan_due_work()
    return number


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _reach_on_pages(
    world: World, url: str, number: int, role: Role, store: str | None
) -> dict[str, str]:
    """Publication `number`'s figures as each page writes them."""
    with signed_in(world, url, role, store) as console:
        listing = console.get("/ui/publications")
        detail = console.get(f"/ui/publications/{number}")
        overview = console.get("/ui/")
    for page in (listing, detail, overview):
        assert page.status_code == 200
    row = re.search(rf'<tr><td class="num">{number}</td>(.*?)</tr>', listing.text, re.S)
    changed = re.search(r"<dt>Labels changed</dt><dd>([^<]*)</dd>", detail.text)
    shelf = re.search(r'<dd id="publication-shelf">([^<]*)</dd>', detail.text)
    line = re.search(rf"#{number} test prices</a>:([^<]*)</li>", overview.text)
    assert row is not None
    assert changed is not None
    assert shelf is not None
    assert line is not None
    cells = re.findall(r"<td>([^<]*)</td>", row[1])
    return {
        "list": " | ".join(cells[-2:]),
        "detail": f"{changed[1]} | {shelf[1]}",
        "overview": " ".join(line[1].split()),
    }


def test_a_store_key_reads_its_own_stores_labels_only(
    world: World, console_url: str, publication: int
) -> None:
    assert _reach_on_pages(world, console_url, publication, Role.STORE, "S01") == {
        "list": "2 (S01: 2) | 2 on their way",
        "detail": "2 (S01: 2) | 2 label(s) on their way",
        "overview": "2 label(s); 2 label(s) still on their way",
    }
    assert _reach_on_pages(world, console_url, publication, Role.STORE, "S03") == {
        "list": "0 | —",
        "detail": "0 | —",
        "overview": "0 label(s); nothing to send",
    }


def test_every_other_role_reads_the_chain(world: World, console_url: str, publication: int) -> None:
    for role in (Role.ADMIN, Role.AUDITOR, Role.PRICING):
        assert _reach_on_pages(world, console_url, publication, role, None) == {
            "list": "5 (S01: 2, S02: 3) | 5 on their way",
            "detail": "5 (S01: 2, S02: 3) | 5 label(s) on their way",
            "overview": "5 label(s); 5 label(s) still on their way",
        }, role
