"""A promotion file published for an instant (Publish at, or a promotion whose
valid_from is ahead) previews the promotion the label will show from that instant as its
sample "after publishing", not today's label (docs/console.md, Publications: "each
sample shows the label as it will look from the first of them, the price due then, not
today's ... pixel for pixel the image the controller will plan"). 0d02e43 fixed this for
price files only."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import Engine

from esl.db.models import LabelRow
from esl.services.keys import Role
from esl.ui.shelf_views import label_image_png
from tests.pipeline.console_client import csrf, form_fields, serve_console, signed_in, typed_time
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch

PROMO = (
    b"id,name,kind,skus,categories,stores,percent,amount,currency,quantity,valid_from,valid_until\n"
    b"S01-MLK,Mleko -20%,percent_off,MLK-1,,S01,20,,,,,\n"
)
PUBLISH = "/ui/publications/import"


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def _image(world: World, label_id: str, digest: str | None) -> bytes:
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        png = label_image_png(session, digest, model_id=label.model)
    assert png is not None
    return _pixels(png)


async def test_promotion_published_at_an_instant_previews_the_promotion(
    world: World, console_url: str
) -> None:
    await world.converge()
    (label_id,) = world.labels
    today = world.state(label_id).confirmed_hash
    at = (world.clock.now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    with signed_in(world, console_url, Role.PRICING) as console:
        preview = console.post(
            "/ui/publications/preview",
            data={
                "csrf": csrf(console.get("/ui/publications").text),
                "kind": "promotions",
                "effective_at": typed_time(at),
            },
            files={"file": ("promo.csv", PROMO)},
        )
        assert preview.status_code == 200, preview.text
        summary = re.search(r'<p id="preview-summary">([^<]*)', preview.text)
        found = re.search(r'src="data:image/png;base64,([^"]+)" alt="Label', preview.text)
        assert found is not None, "no sample"
        sample = _pixels(base64.b64decode(found.group(1)))
        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
        assert published.status_code == 200, published.text
    world.controller.plan_due_work()
    state = world.state(label_id)
    assert state.desired_display_at is not None  # the controller plans the promotion for `at`
    planned = _image(world, label_id, state.desired_hash)
    assert planned != _image(world, label_id, today)
    assert sample != _image(world, label_id, today), (
        f"preview ({summary.group(1) if summary else '?'}) shows today's label as the label "
        f"'after publishing', not the -20% promotion due from {at:%H:%M} UTC"
    )
    assert sample == planned
