"""A previewed file published after another writer changed what it does to the shelves
without touching a price rule or promotion (docs/console.md, "Publish now").

Before, only the newest price rule and promotion versions were compared (0044): a store
moved to another zone, or history imported between preview and publish, went through
without a word. The preview said "0 label(s) would change" for a south-zone price, the
store moved south, and "Publish now" put the south price on its label; a history file's
older, lower price changed the reduction's 30-day prior price the preview had drawn.
Now the publish draws what the file does to each store's shelves again, in its own
transaction, and refuses the file naming the stores whose shelves differ, writing
nothing and keeping the file; previewed again, it publishes, and the label shows the
second preview's sample pixel for pixel. A label bound meanwhile beside a label like it
changes nothing the preview showed, and goes through."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, func, select, update

from esl.db.console_models import ConsoleUploadRow
from esl.db.models import LabelRow, PriceRuleRow, PromotionRow, PublicationRow
from esl.imports.history import import_history
from esl.imports.products import import_products
from esl.imports.stores import import_stores
from esl.services.keys import Role
from esl.services.labels import unbind_label
from esl.ui.shelf_views import label_image_png
from tests.pipeline.console_client import csrf, form_fields, serve_console, signed_in
from tests.pipeline.small_world import T0, World
from tests.support.api import AppSwitch
from tests.support.database import PRODUCTS_CSV
from tests.support.pipeline import ADMIN, bind_round_robin

PUBLISH = "/ui/publications/import"
HEADER = b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
SOUTH_CHEESE = HEADER + b"CHS-1,zone,,south,6.49,PLN,,\n"
# The national price from the world's first instant on, replacing its 8.99 (a price file
# ends no stored rule by itself: docs/csv-formats.md).
NATIONAL_CHEESE = HEADER + f"CHS-1,national,,,7.99,PLN,{T0:%Y-%m-%dT%H:%M:%SZ},\n".encode()
# A reduction the label announces with its 30-day prior price (8.99 until history says
# otherwise; gouda keeps, while milk, perishable, is announced against its price before
# the first reduction, which history does not move: docs/pricing.md), and one for the
# coffee category.
COFFEE_TEN_OFF = b"id,name,kind,categories,percent\nCOFFEE-10,Kawa -10%,percent_off,coffee,10\n"
CHEESE_TEN_OFF = b"id,name,kind,skus,percent\nCHS-10,Gouda -10%,percent_off,CHS-1,10\n"


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2, sku="CHS-1")


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _preview(console: httpx.Client, content: bytes, *, kind: str = "prices") -> str:
    preview = console.post(
        "/ui/publications/preview",
        data={"csrf": csrf(console.get("/ui/publications").text), "kind": kind},
        files={"file": ("file.csv", content)},
    )
    assert preview.status_code == 200, preview.text
    return preview.text


def _sample(preview: str) -> bytes:
    found = re.search(r'src="data:image/png;base64,([^"]+)" alt="Label', preview)
    assert found is not None, "the preview drew no label"
    return _pixels(base64.b64decode(found.group(1)))


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def _panel(world: World, label_id: str) -> bytes:
    """What the simulated label's panel shows, as the console draws its confirmed image."""
    assert world.panel_hash(label_id) == world.state(label_id).confirmed_hash
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        png = label_image_png(session, world.state(label_id).confirmed_hash, model_id=label.model)
    assert png is not None
    return _pixels(png)


def _publish_is_refused_for_s01(world: World, console: httpx.Client, preview: str) -> None:
    """Publish now of `preview`'s file is refused naming S01, and publishes nothing."""
    before = _publications(world)
    refused = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert refused.status_code == 422
    assert "what this file puts on the shelves of S01 changed since your preview" in refused.text
    assert "preview the file again" in refused.text
    assert _publications(world) == before


async def _published_shows(
    world: World, console: httpx.Client, preview: str, sample: bytes
) -> None:
    """Publish now of `preview`'s file goes through, and every label's panel shows
    `sample`, the preview's drawing, pixel for pixel."""
    published = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert published.status_code == 200, published.text
    assert 'id="publication-state">published<' in published.text
    await world.converge()
    assert {_panel(world, label_id) for label_id in world.labels} == {sample}


def _publications(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count(PublicationRow.id))) or 0


def _cheese_rules(world: World, amount: str) -> int:
    with world.sessions() as session:
        return (
            session.scalar(
                select(func.count(PriceRuleRow.id)).where(
                    PriceRuleRow.sku == "CHS-1", PriceRuleRow.amount == Decimal(amount)
                )
            )
            or 0
        )


def _promotions(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count(PromotionRow.id))) or 0


def _kept_uploads(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count(ConsoleUploadRow.id))) or 0


async def test_a_store_moved_into_the_files_zone_is_refused_then_previewed_again(
    world: World, console_url: str
) -> None:
    await world.converge()
    before_shelf = {label_id: _panel(world, label_id) for label_id in world.labels}
    world.clock.advance(timedelta(minutes=1))
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, SOUTH_CHEESE)
        assert "0 label(s) would change." in preview  # S01 is in the north

        # An administrator moves S01 to the south meanwhile (a store file).
        world.clock.advance(timedelta(minutes=1))
        with world.sessions.begin() as session:
            import_stores(
                session,
                "code,name,zone,time_zone\nS01,Gdańsk Oliwa,south,\n",
                imported_by="admin",
                now=world.clock.now,
                currency="PLN",
            )
        await world.converge()  # the move changed no price: both zones had 8.99
        world.clock.advance(timedelta(minutes=1))
        _publish_is_refused_for_s01(world, console, preview)
        assert _cheese_rules(world, "6.49") == 0
        assert _kept_uploads(world) == 1  # nothing was published: still kept
        await world.converge()
        assert {label_id: _panel(world, label_id) for label_id in world.labels} == before_shelf

        again = _preview(console, SOUTH_CHEESE)
        assert "2 label(s) would change (S01: 2)." in again
        await _published_shows(world, console, again, _sample(again))


async def test_history_imported_between_preview_and_publish_is_refused(
    world: World, console_url: str
) -> None:
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, CHEESE_TEN_OFF, kind="promotions")
        assert "2 label(s) would change (S01: 2)." in preview
        previewed = _sample(preview)

        # Ten days before the system's first price, the shop charged 7.49: the 30-day
        # prior price of the reduction to 8.09 the preview drew (8.99) is 7.49 now.
        world.clock.advance(timedelta(minutes=1))
        ten_days_before = (world.clock.now - timedelta(days=10)).isoformat()
        with world.sessions.begin() as session:
            import_history(
                session,
                "sku,channel,store,effective_at,price,regular_price,currency\n"
                f"CHS-1,store,S01,{ten_days_before},7.49,8.99,PLN\n",
                currency="PLN",
                imported_by="history",
                now=world.clock.now,
            )
        await world.converge()
        world.clock.advance(timedelta(minutes=1))
        _publish_is_refused_for_s01(world, console, preview)
        assert _promotions(world) == 0

        again = _preview(console, CHEESE_TEN_OFF, kind="promotions")
        sample = _sample(again)
        assert sample != previewed  # the prior price the first preview drew is gone
        await _published_shows(world, console, again, sample)
    assert _promotions(world) == 1


async def test_a_product_moved_into_the_files_category_is_refused(
    world: World, console_url: str
) -> None:
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, COFFEE_TEN_OFF, kind="promotions")
        assert "0 label(s) would change." in preview  # gouda is dairy

        # The product team files gouda under coffee meanwhile (a product file).
        world.clock.advance(timedelta(minutes=1))
        with world.sessions.begin() as session:
            import_products(
                session,
                PRODUCTS_CSV.replace(
                    "Mlekovita,5900512000015,dairy", "Mlekovita,5900512000015,coffee"
                ),
                imported_by="products",
                now=world.clock.now,
                currency="PLN",
            )
        await world.converge()
        _publish_is_refused_for_s01(world, console, preview)
    assert _promotions(world) == 0


async def test_a_label_bound_beside_its_like_meanwhile_publishes(
    world: World, console_url: str
) -> None:
    second = sorted(world.labels)[1]
    with world.sessions.begin() as session:
        unbind_label(session, principal=ADMIN, label_id=second, now=world.clock.now)
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, NATIONAL_CHEESE)
        assert "1 label(s) would change (S01: 1)." in preview
        sample = _sample(preview)
        # Store staff put the second label back on the cheese shelf meanwhile.
        with world.sessions.begin() as session:
            bind_round_robin(session, [second], skus=["CHS-1"], now=world.clock.now)
        world.clock.advance(timedelta(minutes=1))
        await _published_shows(world, console, preview, sample)  # on both labels


async def test_a_file_kept_before_the_shelves_were_remembered_is_previewed_again(
    world: World, console_url: str
) -> None:
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, NATIONAL_CHEESE)
        # As migration 0045 leaves a file kept before it: what it showed unknown.
        with world.sessions() as session, session.begin():
            session.execute(update(ConsoleUploadRow).values(shelves_seen=None))
        before = _publications(world)
        refused = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert refused.status_code == 422
    assert "does not tell what it showed on the shelves" in refused.text
    assert _publications(world) == before
    assert _cheese_rules(world, "7.99") == 0
