"""Console hunt (console helper): "Publish now" publishes a previewed file against prices
another user changed after the preview, without a word. The pricing team previewed a
national 2.99 for milk: "1 label(s) would change (S01: 1)" and a sample of S01's label at
2.99. A colleague then published a store price of 3.29 for S01. "Publish now" goes
through (303 to the publication), and the label the preview drew at 2.99 shows 3.29:
what was published is not what was previewed.

Now the kept file remembers the prices its preview was drawn with, and the publish (now
or at an instant) refuses it when another writer changed them since, naming that
writer's publication, writing nothing and keeping the file; one person's preview then
publish goes through as before, and a file kept before the upgrade (migration 0044) is
refused rather than guessed at (docs/console.md)."""

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
from esl.db.models import LabelRow, PriceRuleRow, PublicationRow
from esl.services.keys import Role
from esl.ui.shelf_views import label_image_png
from tests.pipeline.console_client import csrf, form_fields, serve_console, signed_in, typed_time
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.pipeline import publish_flash_promotion, publish_prices

PUBLISH = "/ui/publications/import"
PRICE_FILE = (
    b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    b"MLK-1,national,,,2.99,PLN,2027-03-02T09:00:00Z,\n"
)


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


async def test_publish_refuses_or_warns_when_prices_changed_since_the_preview(
    world: World, console_url: str
) -> None:
    await world.converge()
    (label_id,) = world.labels
    world.clock.advance(timedelta(minutes=1))
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = console.post(
            "/ui/publications/preview",
            data={"csrf": csrf(console.get("/ui/publications").text), "kind": "prices"},
            files={"file": ("milk.csv", PRICE_FILE)},
        )
        assert preview.status_code == 200, preview.text
        assert "1 label(s) would change (S01: 1)" in preview.text
        found = re.search(r'src="data:image/png;base64,([^"]+)" alt="Label', preview.text)
        assert found is not None
        sample = _pixels(base64.b64decode(found.group(1)))

        # Another member of the pricing team publishes a store price meanwhile.
        world.clock.advance(timedelta(minutes=1))
        publish_prices(world.sessions, {"MLK-1": "3.29"}, now=world.clock.now, store="S01")
        world.clock.advance(timedelta(minutes=1))

        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
    await world.converge()
    state = world.state(label_id)
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        png = label_image_png(session, state.confirmed_hash, model_id=label.model)
    assert png is not None
    shows = _pixels(png)
    assert published.status_code == 422 or shows == sample, (
        "published without a word (status "
        f"{published.status_code}); the preview drew {label_id} at 2.99, "
        "the label now shows the colleague's 3.29"
    )


def _preview(console: httpx.Client, *, effective_at: str = "") -> str:
    preview = console.post(
        "/ui/publications/preview",
        data={
            "csrf": csrf(console.get("/ui/publications").text),
            "kind": "prices",
            "effective_at": effective_at,
        },
        files={"file": ("milk.csv", PRICE_FILE)},
    )
    assert preview.status_code == 200, preview.text
    return preview.text


def _publications(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count(PublicationRow.id))) or 0


def _national_milk_prices(world: World) -> list[Decimal]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(PriceRuleRow.amount).where(
                    PriceRuleRow.sku == "MLK-1",
                    PriceRuleRow.store.is_(None),
                    PriceRuleRow.zone.is_(None),
                    PriceRuleRow.amount == Decimal("2.99"),
                )
            )
        )


def _kept_uploads(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count(ConsoleUploadRow.id))) or 0


def test_publish_now_after_a_colleagues_price_is_refused_with_its_publication(
    world: World, console_url: str
) -> None:
    world.clock.advance(timedelta(minutes=1))  # past the file's start, as the hunter's
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console)
        world.clock.advance(timedelta(minutes=1))
        colleague = publish_prices(
            world.sessions, {"MLK-1": "3.29"}, now=world.clock.now, store="S01"
        )
        before = _publications(world)
        world.clock.advance(timedelta(minutes=1))
        refused = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
        assert refused.status_code == 422
        assert (
            f"prices changed since your preview (publication #{colleague}): preview the "
            "file again" in refused.text
        )
        assert _publications(world) == before
        assert _national_milk_prices(world) == []
        assert _kept_uploads(world) == 1  # not dropped: nothing was published
        # Previewed again, with the colleague's price in it: published.
        again = _preview(console)
        published = console.post(PUBLISH, data=form_fields(again, PUBLISH))
    assert published.status_code == 200, published.text
    assert 'id="publication-state">published<' in published.text
    assert _national_milk_prices(world) == [Decimal("2.99")]


def test_one_persons_preview_then_publish_still_goes_through(
    world: World, console_url: str
) -> None:
    world.clock.advance(timedelta(minutes=1))  # past the file's start, as the hunter's
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console)
        world.clock.advance(timedelta(minutes=5))
        published = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
        assert published.status_code == 200, published.text
        assert 'id="publication-state">published<' in published.text
        # The same form again: the file is no longer kept (not a price change since).
        again = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert again.status_code == 422
    assert "upload it again" in again.text
    assert _national_milk_prices(world) == [Decimal("2.99")]


def test_publish_at_after_a_colleagues_promotion_is_refused(world: World, console_url: str) -> None:
    world.clock.advance(timedelta(minutes=1))
    at = (world.clock.now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console, effective_at=typed_time(at))
        world.clock.advance(timedelta(minutes=1))
        colleague = publish_flash_promotion(
            world.sessions, now=world.clock.now, kind="percent_off", percent="20"
        )
        before = _publications(world)
        refused = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert refused.status_code == 422
    assert f"prices changed since your preview (publication #{colleague})" in refused.text
    assert _publications(world) == before
    assert _national_milk_prices(world) == []


def test_a_file_kept_before_the_upgrade_is_previewed_again(world: World, console_url: str) -> None:
    world.clock.advance(timedelta(minutes=1))  # past the file's start, as the hunter's
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = _preview(console)
        # As migration 0044 leaves a file kept before it: its prices unknown.
        with world.sessions() as session, session.begin():
            session.execute(
                update(ConsoleUploadRow).values(rule_version_seen=None, promotion_version_seen=None)
            )
        before = _publications(world)
        refused = console.post(PUBLISH, data=form_fields(preview, PUBLISH))
    assert refused.status_code == 422
    assert "kept before an upgrade): preview the file again" in refused.text
    assert _publications(world) == before
    assert _national_milk_prices(world) == []
