"""The store view's search (docs/console.md: "one search field for a label id, a SKU, a
product name or an EAN") finds a name in any letter case and takes `_`, `%` and `\\` as
the characters they are, on SQLite and PostgreSQL.

Found by review: the search lower-cased the text in Python and compared it with SQL
lower() and LIKE. SQLite folds ASCII letters only, so "Śmietana 18%" was not found by
"Śmietana", even typed as the product is named; and LIKE read `_` and `%` as wildcards,
so "_" listed every label of the store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from esl.db.models import ProductRow
from esl.services.keys import Role
from firmware_sim.fleet import make_fleet
from tests.pipeline.console_client import labels_listed, serve_console, signed_in
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures
from tests.support.pipeline import register_and_bind

CHEESE_LABEL = "S01-gw9-00001"


@pytest.fixture
def world(engine: Engine) -> World:
    """Two labels of MLK-1 ("Mleko 3.2% 1 l") and one of CHS-1 ("Ser gouda 150 g",
    EAN 5900512000015) in S01."""
    world = World.priced(engine, count=2)
    with world.sessions.begin() as session:
        register_and_bind(
            session,
            make_fleet(store="S01", gateway="gw9", count=1),
            store="S01",
            gateway="gw9",
            skus=["CHS-1"],
            now=world.clock.now,
        )
    return world


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _found(world: World, url: str, typed: str) -> set[str]:
    with signed_in(world, url, Role.STORE, "S01") as console:
        page = console.get("/ui/stores/S01", params={"q": typed})
        assert page.status_code == 200
        return labels_listed(page.text)


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("Śmietana 18%", "Śmietana"),
        ("Śmietana 18%", "śmietana"),
        ("Śmietana 18%", "ŚMIETANA 18%"),
        ("Śmietana 18%", "S\u0301mietana"),  # the accent typed as a combining mark
        ("Żółty ser", "ŻÓŁTY"),
        ("Weißwurst Öko", "WEISSWURST"),
        ("Weißwurst Öko", "öko"),
    ],
)
def test_a_product_name_is_found_in_any_letter_case(
    world: World, console_url: str, name: str, typed: str
) -> None:
    with world.sessions.begin() as session:
        product = session.get(ProductRow, world.sku)
        assert product is not None
        product.name = name
    assert _found(world, console_url, typed) == set(world.labels), (
        f"{typed!r} did not find the labels of {name!r}"
    )


@pytest.mark.parametrize(
    ("typed", "finds"),
    [
        ("_", "nothing"),
        ("3_2", "nothing"),
        ("\\", "nothing"),
        ("%", "milk"),  # "Mleko 3.2% 1 l" holds one; "Ser gouda 150 g" none
        ("3.2%", "milk"),
        ("s01-gw9", "cheese"),
        ("CHS-1", "cheese"),
        ("5900512000015", "cheese"),
    ],
)
def test_the_search_takes_each_character_as_itself(
    world: World, console_url: str, typed: str, finds: str
) -> None:
    expected = {"nothing": set(), "milk": set(world.labels), "cheese": {CHEESE_LABEL}}[finds]
    assert _found(world, console_url, typed) == expected
