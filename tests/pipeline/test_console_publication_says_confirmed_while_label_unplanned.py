"""Console hunt (console helper): a publication's page and the overview say "every label
confirmed" for a publication one of whose labels the controller could not plan: that
label still shows the old price (the store view says `unplanned`), while the page the
pricing team reads says the promotion is on every shelf it changes."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.services.keys import Role
from esl.services.labels import bind_label
from esl.services.templates import save_template
from tests.pipeline.console_client import serve_console, signed_in
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.pipeline.test_unlawful_template import OVERLAPPING
from tests.support.api import AppSwitch
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures
from tests.support.pipeline import ADMIN, publish, publish_prices


async def test_publication_page_does_not_claim_every_label_confirmed(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    sessions = session_factory(engine)
    # Milk has sold since 2025: the ledger holds the 30 days before the reduction.
    publish_prices(sessions, {**PRICES_A, "MLK-1": "2.99"}, now=T0 - timedelta(days=40))
    publish_prices(sessions, {"MLK-1": "3.49"}, now=T0 - timedelta(days=10))
    world = World(engine, count=3)
    overlapped, *others = sorted(world.labels)
    with world.sessions.begin() as session:
        save_template(session, name="strip", definition=OVERLAPPING, by="admin", now=T0)
        bind_label(
            session, principal=ADMIN, label_id=overlapped, sku="MLK-1", template="strip", now=T0
        )
    await world.converge()
    before = world.state(overlapped).confirmed_hash

    world.clock.advance(timedelta(minutes=1))
    items = [
        {
            "action": "upsert_promotion",
            "promotion_id": "WEEK-20",
            "name": "-20%",
            "kind": "percent_off",
            "percent": "20",
            "skus": ["MLK-1"],
        }
    ]
    publication = publish(world.sessions, items, now=world.clock.now, title="milk week")
    await world.converge()
    world.clock.advance(timedelta(seconds=30))
    # The record: the overlapped label still shows the 3.49 of before; the others -20 %.
    assert world.state(overlapped).confirmed_hash == before
    assert all(world.state(o).confirmed_hash != before for o in others)

    with (
        serve_console(world, engine, http_server) as url,
        signed_in(world, url, Role.PRICING) as console,
    ):
        page = console.get(f"/ui/publications/{publication}").text
        overview = console.get("/ui/").text
        store = console.get("/ui/stores/S01", params={"state": "unplanned"}).text
    assert overlapped in store  # the store view knows it is not on the shelf
    shelf = re.search(r'<dd id="publication-shelf">(.*?)</dd>', page, re.S)
    changed = re.search(r"<dt>Labels changed</dt><dd>(.*?)</dd>", page, re.S)
    assert shelf is not None
    assert changed is not None
    assert "every label confirmed" not in shelf.group(1), (
        f"labels changed {changed.group(1)}; on the shelf: {shelf.group(1)!r}, though "
        f"{overlapped} still shows the price of before (unplanned)"
    )
    assert "every label confirmed" not in overview or "milk week" not in overview
    # It says how many are not on the shelf, and why, on the page and the overview.
    assert "1 label(s) not on the shelf (1 unplanned: " in shelf.group(1), shelf.group(1)
    assert "1 label(s) not on the shelf (1 unplanned: " in overview


async def test_a_publication_that_ended_a_price_is_not_on_every_shelf(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    """One publication: a new cheese price and the end of the milk price. The cheese
    label confirms; the milk labels keep showing 3.49 (no price to draw: unplanned)."""
    world = World.priced(engine, count=3)
    cheese, *milk = sorted(world.labels)
    with world.sessions.begin() as session:
        bind_label(
            session, principal=ADMIN, label_id=cheese, sku="CHS-1", template="standard", now=T0
        )
    await world.converge()
    before = {label: world.state(label).confirmed_hash for label in milk}

    world.clock.advance(timedelta(minutes=1))
    items = [
        {"action": "set_price", "sku": "CHS-1", "amount": "9.49"},
        {"action": "end_price", "sku": "MLK-1"},
    ]
    publication = publish(world.sessions, items, now=world.clock.now, title="milk ends")
    await world.converge()
    world.clock.advance(timedelta(seconds=30))
    assert {label: world.state(label).confirmed_hash for label in milk} == before

    with (
        serve_console(world, engine, http_server) as url,
        signed_in(world, url, Role.PRICING) as console,
    ):
        page = console.get(f"/ui/publications/{publication}").text
        listing = console.get("/ui/publications").text
    shelf = re.search(r'<dd id="publication-shelf">(.*?)</dd>', page, re.S)
    assert shelf is not None
    assert "every label confirmed" not in shelf.group(1), shelf.group(1)
    assert "2 label(s) not on the shelf (2 unplanned: " in shelf.group(1), shelf.group(1)
    assert "2 label(s) not on the shelf (2 unplanned: " in listing
