"""The upload preview's "labels it changes per store and a sample of them rendered"
(docs/console.md, Publications): the labels "after publishing". For a file published at
an instant (**Publish at**), the labels that flip then are counted and the sample shows
the price they will show from that instant, not today's; and a sample is drawn in the
label's own template, pixel for pixel the image the controller plans.

Found by a hunter: a file published for an instant previewed "0 label(s) would change"
with no sample (the change is queued as a `scheduled` publication following the
import's, which the preview did not read), and a sample drawn at today's price in the
model's default layout."""

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
from esl.services.templates import save_template
from esl.ui.shelf_views import label_image_png
from tests.pipeline.console_client import (
    csrf,
    form_fields,
    read_on_the_chains_clock,
    serve_console,
    signed_in,
    typed_time,
)
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch

PRICE_FILE = (
    b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    b"MLK-1,store,,S01,2.99,PLN,,\n"
)
PUBLISH = "/ui/publications/import"
# An uploaded layout (docs/templates.md): the product name and a big price only.
PRICE_ONLY = {
    "size_class": "medium",
    "regions": [
        {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
        {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.9, 0.7]},
    ],
}


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


@pytest.fixture
def console_url(world: World, engine: Engine, http_server: tuple[AppSwitch, str]) -> Iterator[str]:
    with serve_console(world, engine, http_server) as url:
        yield url


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def _sample(page: str) -> bytes:
    found = re.search(r'src="data:image/png;base64,([^"]+)" alt="Label ([^"]+) after', page)
    assert found is not None, "no sample rendered"
    return _pixels(base64.b64decode(found.group(1)))


def _image(world: World, label_id: str, digest: str | None) -> bytes:
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        png = label_image_png(session, digest, model_id=label.model)
    assert png is not None
    return _pixels(png)


async def _preview_and_publish(world: World, url: str, effective_at: str) -> tuple[bytes, str, str]:
    """The preview's sample and summary, and the page "Publish" lands on."""
    with signed_in(world, url, Role.PRICING) as console:
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
        summary = re.search(r'<p id="preview-summary">([^<]*)', preview.text)
        assert summary is not None
        found = re.search(r'src="data:image/png;base64,([^"]+)" alt="Label', preview.text)
        sample = _pixels(base64.b64decode(found.group(1))) if found else b""
        published = console.post(PUBLISH, data=form_fields(preview.text, PUBLISH))
        assert published.status_code == 200, published.text
    return sample, summary.group(1), published.text


async def test_control_publish_now_sample_is_the_image_planned(
    world: World, console_url: str
) -> None:
    await world.converge()
    (label_id,) = world.labels
    sample, _, _ = await _preview_and_publish(world, console_url, "")
    world.controller.plan_due_work()
    state = world.state(label_id)
    assert sample == _image(world, label_id, state.desired_hash)


async def test_publish_at_sample_shows_the_price_due_from_the_instant(
    world: World, console_url: str
) -> None:
    await world.converge()
    (label_id,) = world.labels
    today = world.state(label_id).confirmed_hash
    at = (world.clock.now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    sample, summary, landed = await _preview_and_publish(world, console_url, typed_time(at))
    world.controller.plan_due_work()
    state = world.state(label_id)
    # Published, the controller plans the label's timed image for `at`: it does change.
    assert state.desired_display_at is not None
    assert state.desired_display_at.replace(tzinfo=at.tzinfo) == at
    assert "1 label(s) would change (S01: 1)" in summary, summary
    assert sample, "the preview rendered no sample of the label that will flip"
    planned = _image(world, label_id, state.desired_hash)
    assert sample != _image(world, label_id, today), (
        "the preview's sample 'after publishing' is today's label (3.49), not the 2.99 due from "
        f"{at:%H:%M} UTC"
    )
    assert sample == planned
    # The page "Publish for" lands on (the import's publication, which changes no label at
    # its own instant) names the publication due at `at` and the label it changes.
    due = re.search(r'<dd id="publication-due-later">(.*?)</dd>', landed)
    assert due is not None, "the publication page does not say what is due later"
    assert f" at {read_on_the_chains_clock(at)}: " in re.sub(r"<[^>]+>", "", due.group(1))
    assert "1 label(s) (S01: 1)" in due.group(1), due.group(1)


async def test_sample_is_drawn_with_the_labels_own_template(world: World, console_url: str) -> None:
    """A label bound to another layout than its model's default ("shelf"): the preview's
    sample of it "after publishing" is what it will show, in its own layout."""
    (label_id,) = world.labels
    with world.sessions.begin() as session:
        save_template(session, name="shelf", definition=PRICE_ONLY, by="t", now=world.clock.now)
    world.bind_to_template(label_id, "shelf")
    await world.converge()
    sample, _, _ = await _preview_and_publish(world, console_url, "")
    world.controller.plan_due_work()
    state = world.state(label_id)
    assert sample == _image(world, label_id, state.desired_hash), (
        "the sample is drawn in the model's default layout, not the label's 'shelf' template"
    )
