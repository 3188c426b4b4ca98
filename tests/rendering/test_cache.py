"""The render cache draws each distinct label once; deltas carry a price change in few bytes."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

import pytest

from esl.bench.render import corpus
from rendering.cache import RenderCache
from rendering.display_models import DISPLAY_MODELS
from rendering.encoding import Planes, decode, encode_full
from rendering.templates import default_template, template_from_dict
from tests.rendering.label_samples import PLAIN, PROMOTION

MODEL = DISPLAY_MODELS["2.9-bwr"]


def test_the_same_content_in_many_stores_renders_once() -> None:
    cache = RenderCache()
    first = cache.render(PLAIN, model=MODEL)
    for _ in range(50):
        again = cache.render(replace(PLAIN), model=MODEL)  # equal value, another object
        assert again is first
    assert (cache.renders, cache.hits) == (1, 50)


def test_model_template_version_and_content_each_make_a_new_render() -> None:
    cache = RenderCache()
    base = cache.render(PLAIN, model=MODEL)
    bumped = default_template(MODEL)
    as_dict = {
        "id": bumped.id,
        "version": bumped.version + 1,
        "regions": [{"fill": "price", "box": [0, 0, 1, 1]}],
    }
    others = [
        cache.render(PLAIN, model=DISPLAY_MODELS["2.9-bwy"]),
        cache.render(PLAIN, model=MODEL, template=template_from_dict(as_dict)),
        cache.render(replace(PLAIN, price=Decimal("7.39")), model=MODEL),
    ]
    assert cache.renders == 4
    assert len({base.key, *(o.key for o in others)}) == 4


def test_least_recently_used_labels_are_dropped_beyond_the_limit() -> None:
    cache = RenderCache(max_labels=2)
    for price in ("1.00", "2.00", "3.00"):
        cache.render(replace(PLAIN, price=Decimal(price)), model=MODEL)
    assert len(cache) == 2
    cache.render(replace(PLAIN, price=Decimal("1.00")), model=MODEL)
    assert cache.renders == 4


def test_an_update_is_a_delta_that_decodes_to_the_new_label() -> None:
    cache = RenderCache()
    shown = cache.render(PLAIN, model=MODEL)
    new = cache.render(PROMOTION, model=MODEL)
    payload, is_delta = cache.update(shown=shown.planes, new=new)
    assert is_delta
    assert len(payload) < len(cache.full(new))
    decoded = decode(payload, width=MODEL.width, height=MODEL.height, has_accent=True,
                     base=shown.planes)  # fmt: skip
    assert decoded == new.planes


def test_a_label_in_an_unknown_state_gets_the_full_image() -> None:
    cache = RenderCache()
    new = cache.render(PLAIN, model=MODEL)
    assert cache.update(shown=None, new=new) == (encode_full(new.planes), False)


@pytest.mark.parametrize("model_id", ["2.9-bwr", "2.13-bw", "4.2-bwy"])
def test_a_price_only_change_costs_at_most_a_quarter_of_the_full_image(model_id: str) -> None:
    model = DISPLAY_MODELS[model_id]
    cache = RenderCache()
    full_total = delta_total = 0
    for content in corpus(20, seed=5):
        old = cache.render(content, model=model)
        new = cache.render(replace(content, price=content.price + Decimal("0.50")), model=model)
        full_total += len(cache.full(new))
        delta_total += len(cache.update(shown=old.planes, new=new)[0])
    assert delta_total <= 0.25 * full_total


def test_a_delta_larger_than_the_full_image_is_not_sent() -> None:
    cache = RenderCache()
    new = cache.render(PLAIN, model=MODEL)
    noise = random.Random(3)
    shown = Planes(
        width=new.planes.width,
        height=new.planes.height,
        black=noise.randbytes(len(new.planes.black)),
        accent=noise.randbytes(len(new.planes.accent or b"")),
    )
    assert cache.update(shown=shown, new=new) == (cache.full(new), False)
