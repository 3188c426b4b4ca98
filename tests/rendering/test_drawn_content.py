"""`LabelContent.drawn`: the content with what no template draws cleared, which the layout
draws from. The audit judges a label by it (docs/audit.md, "What a label shows"), so it
must clear only what never reaches a pixel, and keep what does.

A reduction that saves nothing against the 30-day low is drawn as a plain price: the
engine's prior price, the promotion's kind and its last day are in the content, not on
the label (docs/pricing.md, "A reduction is announced with its prior price, or not at all").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import PriorPriceBasis
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, get_display_model
from rendering.render import render_label
from tests.rendering.label_samples import MULTI_BUY, PLAIN, PROMOTION
from tests.strategies import label_contents

# One model of each size class (the default small, medium and large templates).
MODELS = ("1.54-bw", "2.9-bwr", "4.2-bwr")

# A -20 % coffee week at 47.99 that may not be announced: the store sold it at 45.00
# within 30 days. The engine gives it no badge; the content still carries its kind, its
# last day and the engine's prior price.
UNANNOUNCED = replace(
    PLAIN,
    price=Decimal("47.99"),
    prior_price=Decimal("45.00"),
    promotion_kind="percent_off",
    valid_until=date(2026, 3, 8),
)


def _pixels(content: LabelContent, model: str) -> bytes:
    return render_label(content, model=get_display_model(model)).tobytes()


def test_the_sample_models_exist() -> None:
    assert set(MODELS) <= set(DISPLAY_MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_a_reduction_not_announced_draws_the_plain_label_of_its_price(model: str) -> None:
    plain = replace(PLAIN, price=Decimal("47.99"))
    others = [
        replace(UNANNOUNCED, prior_price=Decimal("46.00")),  # another store's 30-day low
        replace(UNANNOUNCED, prior_price_basis=PriorPriceBasis.BEFORE_FIRST_REDUCTION),
        replace(UNANNOUNCED, promotion_kind="fixed_price", loyalty_only=True),
        replace(UNANNOUNCED, regular_price=Decimal("47.99")),  # nothing above the price
        replace(UNANNOUNCED, valid_until=None),
    ]
    assert not any(c.announces_reduction for c in [UNANNOUNCED, *others])
    for content in [UNANNOUNCED, *others]:
        assert content.drawn == plain.drawn, content
        assert _pixels(content, model) == _pixels(plain, model), content
    assert UNANNOUNCED.drawn.prior_price is None
    assert UNANNOUNCED.drawn.fingerprint == plain.fingerprint


@pytest.mark.parametrize("model", MODELS)
def test_what_an_announced_reduction_draws_is_kept(model: str) -> None:
    # Its prior price, the prior price's caption and its last day are on the label:
    # another of any of them is another label, and `drawn` keeps them apart.
    assert PROMOTION.announces_reduction
    assert PROMOTION.drawn == PROMOTION
    others = [
        replace(PROMOTION, prior_price=Decimal("7.02"), regular_price=Decimal("7.02")),
        replace(PROMOTION, prior_price_basis=PriorPriceBasis.BEFORE_FIRST_REDUCTION),
        replace(PROMOTION, valid_until=date(2026, 11, 29)),
    ]
    for content in others:
        assert content.drawn != PROMOTION.drawn, content
        assert _pixels(content, model) != _pixels(PROMOTION, model), content


@pytest.mark.parametrize("model", MODELS)
def test_a_conditional_offer_keeps_its_badge_and_last_day(model: str) -> None:
    # A multi-buy announces no reduction, but its badge and last day are drawn.
    offer = replace(MULTI_BUY, valid_until=date(2026, 11, 30))
    assert not offer.announces_reduction
    assert offer.drawn.promotion_text == offer.promotion_text
    assert offer.drawn.valid_until == offer.valid_until
    assert offer.drawn != PLAIN.drawn
    assert _pixels(offer, model) != _pixels(PLAIN, model)


@settings(max_examples=40, deadline=None)
@given(
    content=label_contents(),
    prior=st.none() | st.integers(1, 99_999).map(lambda c: Decimal(c).scaleb(-2)),
    kind=st.sampled_from([None, "percent_off", "multi_buy", "loyalty_price"]),
    loyalty=st.booleans(),
)
def test_contents_of_one_drawn_form_draw_the_same_pixels(
    content: LabelContent, prior: Decimal | None, kind: str | None, loyalty: bool
) -> None:
    """What `drawn` clears never reaches a pixel: another value of a cleared field leaves
    `drawn`, and so the label, as it was. And `drawn` is what the label is: it announces
    a reduction exactly when the content does, and is its own `drawn`."""
    varied = replace(content, promotion_kind=kind, loyalty_only=loyalty)
    other = replace(varied, prior_price=prior)
    drawn = varied.drawn
    assert drawn.drawn == drawn
    assert drawn.announces_reduction == varied.announces_reduction
    assert drawn.has_promotion == varied.has_promotion
    if other.drawn != drawn:
        return  # the prior price is drawn: another one is another label
    model = get_display_model("2.9-bwr")
    first = render_label(varied, model=model, allow_unlawful=True)
    second = render_label(other, model=model, allow_unlawful=True)
    assert first.tobytes() == second.tobytes()
