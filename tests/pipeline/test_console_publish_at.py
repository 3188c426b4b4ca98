"""A price file published for an instant (docs/console.md, **Publish at**: "rows without
a `valid_from` of their own start then (a past instant is refused)") is refused when the
instant has passed between the preview and "Publish for", and starts then when it has not.

Found by review: the instant was checked at the preview only and written into the file
the form sent back, so publishing after it had passed stored a price rule starting in
the past (a start the shelf never had) while the ledger recorded the publishing instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, select

from esl.db.models import PriceRuleRow, PublicationRow
from esl.services.keys import Role
from tests.pipeline.console_client import csrf, form_fields, serve_console, signed_in, typed_time
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch

PRICE_FILE = (
    b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    b"MLK-1,store,,S01,2.99,PLN,,\n"
)
PUBLISH = "/ui/publications/import"


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _preview_at(console: httpx.Client, at: datetime) -> str:
    """The preview page of PRICE_FILE to start at `at`, typed on the chain's clock."""
    preview = console.post(
        "/ui/publications/preview",
        data={
            "csrf": csrf(console.get("/ui/publications").text),
            "kind": "prices",
            "effective_at": typed_time(at),
        },
        files={"file": ("later.csv", PRICE_FILE)},
    )
    assert preview.status_code == 200, preview.text
    return preview.text


def _starts_of_the_new_price(world: World) -> list[datetime | None]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(PriceRuleRow.valid_from).where(
                    PriceRuleRow.sku == "MLK-1",
                    PriceRuleRow.store == "S01",
                    PriceRuleRow.amount == Decimal("2.99"),
                )
            )
        )


def _publications(world: World) -> int:
    with world.sessions() as session:
        return len(session.scalars(select(PublicationRow.id)).all())


def test_an_instant_passed_since_the_preview_is_refused(world: World, console_url: str) -> None:
    at = (world.clock.now + timedelta(minutes=5)).replace(second=0, microsecond=0)
    before = _publications(world)
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview_at(console, at)
        # The instant passes before "Publish for" is pressed.
        world.clock.advance(timedelta(minutes=10))
        published = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert published.status_code == 422
    assert "Nothing was published: the instant lies in the past" in published.text
    assert _starts_of_the_new_price(world) == []
    assert _publications(world) == before


def test_an_instant_still_ahead_is_where_the_price_starts(world: World, console_url: str) -> None:
    at = (world.clock.now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview_at(console, at)
        world.clock.advance(timedelta(minutes=10))
        published = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert published.status_code == 200, published.text
    assert 'id="publication-state">published<' in published.text
    starts = _starts_of_the_new_price(world)
    assert [s if s is None else s.astimezone(UTC) for s in starts] == [at]
