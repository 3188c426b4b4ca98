"""The prior price of a 1.54" German label at 100 EUR or more is read, at the model's
minimum size.

"Niedrigster Preis der letzten 30 Tage vor der Reduzierung: 189,90 €" does not fit the
two 10 px lines of the small template, so it used to be drawn at 9 px, where tesseract
read "189,90" as "139,90" and "1.899,90" as "1.299490": a wrong 30-day low on an announced
reduction. The label now says the same in fewer words ("Tiefstpreis 30 Tage vor
Reduzierung: 189,90 €", PAngV § 11 prescribes no wording) at 13 px; the full wording stays
wherever it fits. The fewer words keep "before the reduction": "der letzten 30 Tage"
alone was false from the reduction's second day, its own price being in those 30 days.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from esl.label_legibility import ContentKind, LabelCase, label_content, read_fields
from rendering.display_models import DISPLAY_MODELS
from rendering.layout import TextOp
from rendering.render import render_checked
from rendering.templates import Fill
from tests.rendering.default_layout import elements_showing

pytestmark = pytest.mark.xdist_group("tesseract")

PRIOR_PRICES = ("104.99", "129.00", "189.90", "1899.90")


def _case(model: str, prior: str, locale: str = "de_DE") -> LabelCase:
    content = label_content(ContentKind.REDUCTION, locale, PRIOR_PRICES.index(prior))
    amount = Decimal(prior)
    content = replace(content, price=(amount * Decimal("0.8")).quantize(Decimal("0.01")),
                      regular_price=amount, prior_price=amount, promotion_text="-20%")  # fmt: skip
    return LabelCase(DISPLAY_MODELS[model], ContentKind.REDUCTION, locale, content)


def test_the_prior_price_of_a_small_german_label_is_read_exactly() -> None:
    cases = [_case(model, prior) for model in ("1.54-bw", "1.54-bwr") for prior in PRIOR_PRICES]
    readings = [r for r in read_fields(cases) if r.fill is Fill.PRIOR_PRICE]
    assert len(readings) == len(cases)
    wrong = [(r.case, r.expected, r.read) for r in readings if not r.exact]
    assert wrong == []
    for case in cases:
        findings = render_checked(case.content, model=case.model).findings
        assert [f for f in findings if f.region == "prior_price"] == []
        (element,) = elements_showing(case.content, case.model, Fill.PRIOR_PRICE)
        sizes = {op.size for op in element.ops if isinstance(op, TextOp)}
        assert min(sizes) >= case.model.min_text_px


def _drawn(case: LabelCase) -> str:
    elements = elements_showing(case.content, case.model, Fill.PRIOR_PRICE)
    return " ".join(op.text for e in elements for op in e.ops if isinstance(op, TextOp))


@pytest.mark.parametrize("locale", ["pl_PL", "en_GB", "de_DE"])
def test_the_full_wording_stays_where_it_fits(locale: str) -> None:
    words = {"pl_PL": "przed obniżką:", "en_GB": "in the 30 days before", "de_DE": "vor der"}
    assert words[locale] in _drawn(_case("2.9-bwr", "104.99", locale))
    small = _drawn(_case("1.54-bwr", "104.99", locale))
    # Fewer words drawn larger win on 1.54" (the full English wording at 12 px read "£"
    # as "€"); Polish has no fewer 30-day words.
    assert (words[locale] in small) is (locale == "pl_PL"), small


@pytest.mark.parametrize("locale", ["pl_PL", "en_GB", "de_DE"])
@pytest.mark.parametrize("prior", PRIOR_PRICES)
def test_the_fewer_words_still_end_the_thirty_days_at_the_reduction(
    locale: str, prior: str
) -> None:
    """In a reduction's second week its own price was charged in the last 30 days, so
    "Niedrigster Preis der letzten 30 Tage: 189,90 €" beside 151,92 € is false: the 30
    days are those before the reduction started (98/6/EC art. 6a), whatever the size."""
    before = {
        "pl_PL": re.compile(r"przed obniżką"),
        "en_GB": re.compile(r"before the reduction"),
        "de_DE": re.compile(r"vor (der )?Reduzierung"),
    }
    for model in ("1.54-bw", "1.54-bwr", "2.9-bwr"):
        drawn = _drawn(_case(model, prior, locale))
        assert before[locale].search(drawn), (model, drawn)
