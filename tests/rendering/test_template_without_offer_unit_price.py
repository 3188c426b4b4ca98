"""A template that draws no offer unit price on a multi-buy label is reported, as one that
draws no unit price is.

docs/pricing.md ("Unit prices"): multi-buy, buy-N-get-M and loyalty labels show two unit
prices so the shopper can compare (the regulator fines misleading "1+1 gratis" unit
prices); "beside an offer neither is left off". docs/templates.md: a money line not
drawn is a `price_not_legible` finding ("a template that draws no price, or no unit
price for a product that has one"), never dropped in silence. A retailer's own template
without an `offer_unit_price` region draws "4 za 7 zł" with no "Cena za 1 litr w
promocji" and no finding at all, so nobody is told the label leaves it off. Now it is a
`price_not_legible` finding naming the template and the model, on every model, as the
missing unit price is; the shipped templates draw both.
"""

from __future__ import annotations

import dataclasses

from rendering.content import content_from_dict
from rendering.display_models import DisplayModel
from rendering.findings import FindingKind, LabelFinding
from rendering.render import render_checked
from rendering.templates import Fill, default_template
from tests.rendering.every_model import each_model

WATER_FOUR_FOR_SEVEN = content_from_dict(
    {
        "product": {"sku": "WOD-001", "name": "Woda mineralna 1,5 l", "gtin": "5900820000196"},
        "price": {
            "currency": "PLN",
            "price": "2.49",
            "unit_price": "1.66",
            "unit_label": "1 litr",
            "offer_unit_price": "1.17",
            "promotion": {"text": "4 za 7 zł", "kind": "multi_buy"},
        },
    }
)


def _findings(model: DisplayModel, leave_off: Fill | None) -> tuple[LabelFinding, ...]:
    template = default_template(model)
    own = dataclasses.replace(
        template,
        id="retailer-own",
        regions=tuple(region for region in template.regions if region.fill is not leave_off),
    )
    return render_checked(WATER_FOUR_FOR_SEVEN, model=model, template=own).findings


def _missing(findings: tuple[LabelFinding, ...], fill: Fill) -> list[LabelFinding]:
    return [
        finding
        for finding in findings
        if finding.kind is FindingKind.PRICE_NOT_LEGIBLE
        and f"draws no {fill.value} line" in finding.message
    ]


@each_model
def test_a_template_without_the_offer_unit_price_is_reported(model: DisplayModel) -> None:
    findings = _findings(model, Fill.OFFER_UNIT_PRICE)
    missing = _missing(findings, Fill.OFFER_UNIT_PRICE)
    assert [finding.message for finding in missing] == [
        f"template 'retailer-own' draws no offer_unit_price line on {model.id} "
        "(a region with fill 'offer_unit_price' that fits it)"
    ], findings


@each_model
def test_a_template_without_the_unit_price_is_reported(model: DisplayModel) -> None:
    # The reference behaviour, which held before.
    assert _missing(_findings(model, Fill.UNIT_PRICE), Fill.UNIT_PRICE)


@each_model
def test_the_shipped_template_draws_both_unit_prices_of_an_offer(model: DisplayModel) -> None:
    findings = _findings(model, None)
    assert not _missing(findings, Fill.OFFER_UNIT_PRICE), findings
    assert not _missing(findings, Fill.UNIT_PRICE), findings
