"""A label announces a reduction only with the 30-day prior price and a saving measured from it.

Directive 98/6/EC art. 6a; PL act of 9 May 2014 art. 4; CJEU C-330/23 (Aldi Süd).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import (
    Catalogue,
    Channel,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriceRule,
    Promotion,
    PromotionKind,
    Store,
    resolve,
)
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.errors import UnlawfulLabelError
from rendering.layout import TextOp, layout_label
from rendering.render import render_label
from rendering.templates import default_template, template_from_dict
from tests.rendering.every_model import each_model
from tests.rendering.label_samples import PLAIN, PROMOTION
from tests.rendering.label_samples import announcement_problems_on as _problems
from tests.strategies import PRICING_EPOCH, pln, pricing_product
from tests.support.pricing import pln_catalogue, shelf_price

DAY = timedelta(days=1)
STORE = Store("S1", "Warszawa Mokotów")
KEY = PriceKey("A", Channel.STORE, "S1")
TODAY = PRICING_EPOCH + 60 * DAY


def _bananas(*, low_days_ago: int | None, promotion: Promotion) -> LabelContent:
    """1.69 for months; 1.29 for a week ending `low_days_ago` days ago; `promotion` now."""
    entries = [LedgerEntry(key=KEY, effective_from=PRICING_EPOCH, price=pln(169),
                           regular_price=pln(169))]  # fmt: skip
    if low_days_ago is not None:
        start = TODAY - (low_days_ago + 7) * DAY
        entries += [
            LedgerEntry(key=KEY, effective_from=start, price=pln(129), regular_price=pln(169)),
            LedgerEntry(key=KEY, effective_from=start + 7 * DAY, price=pln(169),
                        regular_price=pln(169)),
        ]  # fmt: skip
    catalogue = pln_catalogue(
        [PriceRule(id="base", sku="A", amount=pln(169))], [promotion], stores=[STORE]
    )
    price = shelf_price(catalogue, at=TODAY, ledger=PriceLedger(entries))
    return LabelContent.from_resolved(
        product=pricing_product("A"), price=price, store=STORE, locale="pl_PL"
    )


def _promotion(kind: PromotionKind, **fields: object) -> Promotion:
    return Promotion(id="p1", name="Banany", kind=kind, skus=frozenset({"A"}),
                     valid_from=TODAY - DAY, **fields)  # type: ignore[arg-type]  # fmt: skip


FIXED_129 = _promotion(PromotionKind.FIXED_PRICE, amount=pln(129))
PERCENT_23 = _promotion(PromotionKind.PERCENT_OFF, percent=Decimal(23))


def _regions(content: LabelContent, model: DisplayModel) -> set[str]:
    """What the drawn regions show (a template may place one field in one of two
    regions, e.g. a wide prior-price line where no QR code takes the space)."""
    template = default_template(model)
    shows = {region.name: region.fill.value for region in template.regions}
    return {shows[e.region] for e in layout_label(content, model=model, template=template)}


@each_model
@pytest.mark.parametrize("promotion", [FIXED_129, PERCENT_23], ids=["fixed", "percent"])
def test_a_reduction_not_below_the_30_day_low_is_drawn_as_a_plain_price(
    model: DisplayModel, promotion: Promotion
) -> None:
    # 1.69 -> 1.29 (or -23 % = 1.30) while the price was 1.29 ten days ago: nothing is saved
    # against the 30-day low, so no badge, no red price, nothing struck through.
    label = _bananas(low_days_ago=10, promotion=promotion)
    assert label.price in (Decimal("1.29"), Decimal("1.30"))
    assert not label.announces_reduction
    regions = _regions(label, model)
    assert not regions & {"promotion_badge", "regular_price", "validity"}
    assert 2 not in np.asarray(render_label(label, model=model))  # no accent ink at all


# A retailer's template that draws the prior-price line whatever the label shows.
ALWAYS_PRIOR = template_from_dict(
    {
        "id": "retailer-always-prior",
        "version": 1,
        "regions": [
            {"name": "price", "fill": "price", "box": [0, 0, 1, 0.5], "weight": "bold"},
            {"name": "prior", "fill": "prior_price", "box": [0, 0.5, 1, 0.5], "max_lines": 2},
        ],
    }
)


@pytest.mark.parametrize("promotion", [FIXED_129, PERCENT_23], ids=["fixed", "percent"])
def test_a_price_not_announced_as_a_reduction_has_no_line_about_a_reduction(
    promotion: Promotion,
) -> None:
    # "Najniższa cena z 30 dni przed obniżką: 1,29 zł" beside a plain 1,29 zł tells the
    # shopper of a reduction the label may not announce, whatever the template asks for.
    label = _bananas(low_days_ago=10, promotion=promotion)
    assert not label.announces_reduction
    model = DISPLAY_MODELS["2.9-bwr"]
    elements = layout_label(label, model=model, template=ALWAYS_PRIOR)
    assert [e.region for e in elements] == ["price"]


@each_model
def test_a_reduction_below_the_30_day_low_is_announced_with_the_prior_price(
    model: DisplayModel,
) -> None:
    # The 1.29 week was 40 days ago: the prior price is 1.69, the saving 23 % of it.
    label = _bananas(low_days_ago=40, promotion=PERCENT_23)
    assert (label.price, label.prior_price, label.regular_price) == (
        Decimal("1.30"), Decimal("1.69"), Decimal("1.69")
    )  # fmt: skip
    assert label.promotion_text == "-23%"
    template = default_template(model)
    elements = layout_label(label, model=model, template=template)
    prior_regions = {r.name for r in template.regions if r.fill.value == "prior_price"}
    (prior,) = [e for e in elements if e.region in prior_regions]
    line = " ".join(op.text for op in prior.ops if isinstance(op, TextOp))
    assert line.replace("\xa0", " ").endswith("1,69 zł")
    render_label(label, model=model)  # UnlawfulLabelError if it were unlawful


@settings(max_examples=60, deadline=None)
@given(
    regular=st.integers(200, 5000),
    low=st.integers(100, 5000),
    low_days_ago=st.integers(0, 50),
    kind=st.sampled_from(
        [PromotionKind.PERCENT_OFF, PromotionKind.AMOUNT_OFF, PromotionKind.FIXED_PRICE]
    ),
    cut=st.integers(1, 90),
)
def test_whatever_the_history_every_engine_label_announces_lawfully(
    regular: int, low: int, low_days_ago: int, kind: PromotionKind, cut: int
) -> None:
    low = min(low, regular)
    entries = [
        LedgerEntry(key=KEY, effective_from=PRICING_EPOCH, price=pln(regular),
                    regular_price=pln(regular)),
        LedgerEntry(key=KEY, effective_from=TODAY - (low_days_ago + 3) * DAY, price=pln(low),
                    regular_price=pln(regular)),
        LedgerEntry(key=KEY, effective_from=TODAY - low_days_ago * DAY - DAY / 2,
                    price=pln(regular), regular_price=pln(regular)),
    ]  # fmt: skip
    fields: dict[str, object] = {
        PromotionKind.PERCENT_OFF: {"percent": Decimal(cut)},
        PromotionKind.AMOUNT_OFF: {"amount": pln(regular * cut // 100 or 1)},
        PromotionKind.FIXED_PRICE: {"amount": pln(regular * (100 - cut) // 100 or 1)},
    }[kind]
    catalogue = Catalogue(products=[pricing_product("A")], stores=[STORE],
                          rules=[PriceRule(id="base", sku="A", amount=pln(regular))],
                          promotions=[_promotion(kind, **fields)], currency="PLN")  # fmt: skip
    price = resolve(catalogue, sku="A", channel=Channel.STORE, store="S1", at=TODAY,
                    ledger=PriceLedger(entries), locale="pl_PL")  # fmt: skip
    label = LabelContent.from_resolved(
        product=pricing_product("A"), price=price, store=STORE, locale="pl_PL"
    )
    for model_id in ("1.54-bwr", "2.9-bwr", "4.2-bwr"):
        model = DISPLAY_MODELS[model_id]
        image = render_label(label, model=model)  # raises UnlawfulLabelError if unlawful
        regions = _regions(label, model)
        announced = bool(regions & {"promotion_badge", "regular_price"}) or 2 in np.asarray(image)
        assert announced == price.announces_reduction
        if announced:
            assert "prior_price" in regions
            assert price.prior_price is not None
            assert price.price < price.prior_price


def test_the_quote_and_the_label_agree_on_whether_a_reduction_is_announced() -> None:
    quiet = _bananas(low_days_ago=10, promotion=FIXED_129)
    loud = _bananas(low_days_ago=40, promotion=FIXED_129)
    assert (quiet.promotion_text, quiet.regular_price) == (None, None)
    assert (loud.promotion_text, loud.regular_price) == ("Promocja", Decimal("1.69"))


# ---------------------------------------------------------------- hand-written content


# The example the docs used to give: struck 7.49 (a "regular" price), prior 6.99, "-20%".
OLD_DOCS_EXAMPLE = replace(PROMOTION, regular_price=Decimal("7.49"), promotion_text="-20%")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (OLD_DOCS_EXAMPLE, "is not the prior price 6.99"),
        (OLD_DOCS_EXAMPLE, "states 20%, but the saving against the prior price 6.99 is 14%"),
        (replace(PROMOTION, prior_price=None), "without the lowest price of the 30 days"),
        (
            replace(
                PLAIN,
                promotion_text="Promocja",
                promotion_kind="fixed_price",
                prior_price=Decimal("7.49"),
            ),
            "is not below the prior price 7.49",
        ),
        (replace(PLAIN, regular_price=Decimal("8.99")), "without the lowest price"),
        (
            replace(PROMOTION, promotion_text="Taniej o 2 zł", promotion_kind="amount_off"),
            "does not state the saving against the prior price 6.99: 1.00",
        ),
    ],
)
def test_an_unlawful_announcement_is_named(content: LabelContent, problem: str) -> None:
    assert any(problem in p for p in _problems(content)), _problems(content)
    with pytest.raises(UnlawfulLabelError):
        render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


@pytest.mark.parametrize(
    "content",
    [
        PLAIN,
        PROMOTION,
        replace(PROMOTION, promotion_text="-14,3%"),
        replace(PROMOTION, promotion_text="Taniej o 1 zł", promotion_kind="amount_off"),
        replace(PROMOTION, regular_price=None),  # the prior price alone, nothing struck
        replace(PLAIN, promotion_text="2 za 10 zł", promotion_kind="multi_buy"),
    ],
)
def test_a_lawful_label_passes(content: LabelContent) -> None:
    assert _problems(content) == ()


@settings(deadline=None)  # the first example warms caches; the machine is shared
@given(price=st.integers(1, 99_999), prior=st.integers(2, 100_000))
def test_a_percentage_rounded_down_from_the_prior_price_always_passes(
    price: int, prior: int
) -> None:
    price = min(price, prior - 1)
    exact = Decimal(prior - price) * 100 / prior
    whole = exact.to_integral_value(rounding=ROUND_DOWN)
    content = replace(PROMOTION, price=Decimal(price).scaleb(-2),
                      prior_price=Decimal(prior).scaleb(-2), regular_price=None,
                      promotion_text=f"-{whole}%" if whole >= 1 else "Promocja")  # fmt: skip
    assert _problems(content) == ()
    if whole >= 1:
        overstated = replace(content, promotion_text=f"-{whole + 1}%")
        assert _problems(overstated) != ()
