"""The content identity (`LabelContent.fingerprint`, part of the planner's desired key and
of the render cache key): two contents that draw differently never share it."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.render import render_label
from tests.rendering.label_samples import PROMOTION
from tests.strategies import label_contents

FIELDS = [field.name for field in dataclasses.fields(LabelContent)]


def test_a_promotion_replaced_at_the_same_price_with_another_end_is_other_content() -> None:
    # Issue 13, observation 4: only the validity text differs ("do 08.12" / "do 15.12").
    assert PROMOTION.valid_until is not None
    later = replace(PROMOTION, valid_until=PROMOTION.valid_until + timedelta(days=7))
    model = DISPLAY_MODELS["2.9-bwr"]
    assert not np.array_equal(
        np.asarray(render_label(PROMOTION, model=model)),
        np.asarray(render_label(later, model=model)),
    )
    assert later.fingerprint != PROMOTION.fingerprint


def test_no_text_in_one_field_can_pass_for_another_field() -> None:
    # With fields joined by a separator, a name holding the separator and the next field
    # could spell out the same text as two other fields.
    base = LabelContent(sku="1", name="Mleko", currency="PLN", price=Decimal("3.49"))
    forged = replace(base, name="Mleko\x1fcurrency=PLN", currency="EUR")
    other = replace(base, name="Mleko", currency="PLN\x1fcurrency=EUR")
    assert forged.fingerprint != other.fingerprint
    # Absent and empty are different values too.
    assert replace(base, web_url=None).fingerprint != replace(base, web_url="").fingerprint


@settings(max_examples=200, deadline=None)
@given(content=label_contents(), other=label_contents(), field=st.sampled_from(FIELDS))
def test_contents_that_differ_in_any_field_never_share_the_identity(
    content: LabelContent, other: LabelContent, field: str
) -> None:
    changed = replace(content, **{field: getattr(other, field)})
    if repr(getattr(changed, field)) != repr(getattr(content, field)):
        assert changed.fingerprint != content.fingerprint
    else:
        assert changed.fingerprint == content.fingerprint


def test_the_identity_is_stable_across_processes() -> None:
    # An explicit text form, never `hash()`: the same content, the same key, every run.
    content = LabelContent(
        sku="MLK-1",
        name="Mleko 2%",
        currency="PLN",
        price=Decimal("3.49"),
        valid_until=date(2026, 12, 8),
        promotion_text="-15%",
    )
    assert content.fingerprint == replace(content).fingerprint
    assert len(content.fingerprint) == 32
