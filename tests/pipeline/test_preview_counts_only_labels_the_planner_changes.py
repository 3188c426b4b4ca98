"""The upload preview counts and draws only labels the controller will plan anew: not a
label another store's promotion or a web-channel price leaves as it is, nor one on no gateway
(docs/console.md, Publications: "the labels it changes per store and a sample of
them rendered"; "The labels the preview counts and draws are those the file changes")."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from esl.db.models import LabelRow
from esl.services.keys import Role
from tests.pipeline.console_client import csrf, form_fields, serve_console, signed_in
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.two_gateways import add_gateway

# A promotion for store S02 only: S01's milk label is not touched by it.
PROMO_FILE = (
    b"id,name,kind,skus,categories,stores,percent,amount,currency,quantity,valid_from,valid_until\n"
    b"S02-MLK,Mleko -10%,percent_off,MLK-1,,S02,10,,,,,\n"
)
PUBLISH = "/ui/publications/import"


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


async def test_preview_of_another_stores_promotion_counts_no_label_of_this_store(
    world: World, console_url: str
) -> None:
    await world.converge()
    add_gateway(world, "gw9", "S02")
    (label_id,) = world.labels
    before = world.state(label_id).desired_hash
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = console.post(
            "/ui/publications/preview",
            data={"csrf": csrf(console.get("/ui/publications").text), "kind": "promotions"},
            files={"file": ("promo.csv", PROMO_FILE)},
        )
        assert preview.status_code == 200, preview.text
        summary = re.search(r'<p id="preview-summary">([^<]*)', preview.text)
        assert summary is not None
        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
        assert published.status_code == 200, published.text
    world.controller.plan_due_work()
    after = world.state(label_id).desired_hash
    assert after == before, "the S02 promotion changed S01's label"  # the planner: no change
    assert "S01" not in summary.group(1), (
        f"preview says {summary.group(1)!r} and draws S01's label as changed, "
        "but the controller plans nothing for it"
    )


# A web-channel price for S01: the shelf label shows the store channel's price.
WEB_PRICE = (
    b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    b"MLK-1,store,web,S01,2.79,PLN,,\n"
)


async def test_preview_of_a_web_price_counts_no_shelf_label(world: World, console_url: str) -> None:
    await world.converge()
    (label_id,) = world.labels
    before = world.state(label_id).desired_hash
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = console.post(
            "/ui/publications/preview",
            data={"csrf": csrf(console.get("/ui/publications").text), "kind": "prices"},
            files={"file": ("web.csv", WEB_PRICE)},
        )
        assert preview.status_code == 200, preview.text
        summary = re.search(r'<p id="preview-summary">([^<]*)', preview.text)
        assert summary is not None
        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
        assert published.status_code == 200, published.text
    world.controller.plan_due_work()
    assert world.state(label_id).desired_hash == before, "the web price changed the shelf label"
    assert "S01" not in summary.group(1), (
        f"preview says {summary.group(1)!r}, but the controller plans nothing for the label"
    )


PRICE_FILE = (
    b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    b"MLK-1,store,,S01,2.99,PLN,,\n"
)


@pytest.fixture
def world2(engine: Engine) -> World:
    return World.priced(engine, count=2)


@pytest.fixture
def console_url2(
    world2: World, engine: Engine, http_server: tuple[AppSwitch, str]
) -> Iterator[str]:
    with serve_console(world2, engine, http_server) as url:
        yield url


async def test_preview_counts_no_label_that_no_gateway_reaches(
    world2: World, console_url2: str
) -> None:
    """A label taken off its gateway is not planned (nothing reaches it): since f6ac2fd
    its sample was left out, but the count still had it."""
    world = world2
    await world.converge()
    reached, unreached = sorted(world.labels)
    with world.sessions.begin() as session:
        label = session.get(LabelRow, unreached)
        assert label is not None
        label.gateway = None
    with signed_in(world, console_url2, Role.PRICING) as console:
        preview = console.post(
            "/ui/publications/preview",
            data={"csrf": csrf(console.get("/ui/publications").text), "kind": "prices"},
            files={"file": ("milk.csv", PRICE_FILE)},
        )
        assert preview.status_code == 200, preview.text
        summary = re.search(r'<p id="preview-summary">([^<]*)', preview.text)
        assert summary is not None
        samples = re.findall(r'alt="Label ([^"]+) after', preview.text)
        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
        assert published.status_code == 200, published.text
    planned = world.controller.plan_due_work()
    assert samples == [reached], samples
    assert "1 label(s) would change (S01: 1)" in summary.group(1), (
        f"preview says {summary.group(1)!r} with one sample; the controller plans one label "
        f"({planned})"
    )
