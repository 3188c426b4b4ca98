"""Console hunt (console helper): a tab-separated price file (the importer reads the
separator from the header: `,`, `;` or tab, esl.imports.csv_text.header_delimiter) is
previewed and published now, but "Publish at" refuses it with "unknown column(s):
valid_until,valid_from", a column the file never had: esl.ui.csv_instants.starting_at
knows only `,` and `;` and rewrites the header with a comma."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, select

from esl.db.models import PriceRuleRow
from esl.services.keys import Role
from tests.pipeline.console_client import csrf, form_fields, serve_console, signed_in, typed_time
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch

PUBLISH = "/ui/publications/import"
TSV_FILE = (
    b"sku\tscope\tchannel\tstore_or_zone\tprice\tcurrency\tvalid_from\tvalid_until\n"
    b"MLK-1\tstore\t\tS01\t2.99\tPLN\t\t\n"
)


@pytest.fixture
def world(engine: Engine) -> World:
    world = World.priced(engine, count=1)
    world.clock.advance(timedelta(minutes=1))
    return world


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _preview(console: httpx.Client, data: bytes, effective_at: str) -> httpx.Response:
    return console.post(
        "/ui/publications/preview",
        data={
            "csrf": csrf(console.get("/ui/publications").text),
            "kind": "prices",
            "effective_at": effective_at,
        },
        files={"file": ("prices.tsv", data)},
    )


def _starts(world: World) -> list[datetime | None]:
    with world.sessions() as session:
        return [
            s if s is None else s.astimezone(UTC)
            for s in session.scalars(
                select(PriceRuleRow.valid_from).where(
                    PriceRuleRow.sku == "MLK-1",
                    PriceRuleRow.store == "S01",
                    PriceRuleRow.amount == Decimal("2.99"),
                )
            )
        ]


def test_tab_separated_file_published_now(world: World, console_url: str) -> None:
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, TSV_FILE, "")
        assert preview.status_code == 200
        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
        assert published.status_code == 200, published.text[-800:]


def test_tab_separated_file_published_at(world: World, console_url: str) -> None:
    at = (world.clock.now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, TSV_FILE, typed_time(at))
        refused = preview.text.split('<tbody><tr><td class="num">', 1)[-1][:80]
        assert preview.status_code == 200, f"Publish at refused the file: line {refused}"
        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
        assert published.status_code == 200, published.text[-800:]
    assert _starts(world) == [at]
