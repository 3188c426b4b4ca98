"""Labels read back by a real OCR engine: prices exactly, names with few errors.

Renders a third of the matrix display models (2.13" and up) x content kinds (plain,
reduction with prior price, multi-buy, loyalty, clearance) x locales (pl_PL, en_GB,
de_DE), every model x kind pair included, with the default templates at 1:1, and reads
each field with Debian's tesseract (`esl.label_legibility`; the full matrix runs in
`esl bench render`). About ten seconds on two cores.

Thresholds sit at the figures measured when they were set (tesseract reads the same
pixels the same way every time, so a lower figure is a regression) and above those of
the old typography (Roboto Condensed in monochrome, version-1 templates), read by the same
harness (docs/templates.md): money fields 0.99 (0.88 with the old typography); every
piece of every big shelf price exactly, read with no alphabet imposed; the offer of a
loyalty or multi-buy badge every time (0.50 before; "Z kartą" was read "z kartą" on
2.13" until the offer field was widened); the unit-price lines 0.94 and the prior-price
line 0.95. What is still misread (docs/templates.md): ":" read as ";" in the 13 px German
prior-price line on 2.13" BW (the full matrix: 0.999, 1 of 858).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from esl.label_legibility import (
    OCR_MODELS,
    FieldKind,
    FieldReading,
    LegibilityFigures,
    read_fields,
    sample_matrix,
    summarise,
)
from rendering.templates import Fill

PRICE_EXACT_AT_LEAST = 0.995  # 0.999 on the full matrix (template versions 6 and 5)
UNIT_PRICE_EXACT_AT_LEAST = 0.94
PRICE_EXACT_PER_MODEL_AT_LEAST = 0.92  # 2 misses in 26 at most (the old labels: 5 in 24)
PRIOR_PRICE_EXACT_AT_LEAST = 0.95
OFFER_EXACT_AT_LEAST = 1.0
NAME_CER_AT_MOST = 0.005  # 0.0006 over the full matrix (0.0042 before hinted advances)
NAME_CER_WORST_AT_MOST = 0.05

pytestmark = pytest.mark.xdist_group("tesseract")


@pytest.fixture(scope="module")
def readings() -> list[FieldReading]:
    return read_fields(sample_matrix(), workers=2)


@pytest.fixture(scope="module")
def figures(readings: list[FieldReading]) -> LegibilityFigures:
    return summarise(readings, labels=len(sample_matrix()))


def _misread(readings: list[FieldReading] | tuple[FieldReading, ...]) -> str:
    return "\n".join(f"{r.case} {r.region}: {r.expected!r} read {r.read!r}" for r in readings)


def test_the_sample_covers_every_model_kind_and_locale() -> None:
    cases = sample_matrix()
    assert {case.model.id for case in cases} == set(OCR_MODELS)
    assert {(case.model.id, case.kind) for case in cases} == {
        (model, kind) for model in OCR_MODELS for kind in {case.kind for case in cases}
    }
    assert {case.locale for case in cases} == {"pl_PL", "en_GB", "de_DE"}
    assert len({case.kind for case in cases}) == 5


def test_prices_prior_prices_and_unit_prices_are_read_exactly(figures: LegibilityFigures) -> None:
    assert figures.money_fields >= 4 * figures.labels
    assert figures.price_exact >= PRICE_EXACT_AT_LEAST, _misread(figures.misread)


def test_every_model_from_2_13_inches_up_keeps_its_prices_readable(
    readings: list[FieldReading],
) -> None:
    per_model: dict[str, list[bool]] = defaultdict(list)
    for reading in readings:
        if reading.kind is FieldKind.MONEY:
            per_model[reading.case.split("/")[0]].append(reading.exact)
    assert set(per_model) == set(OCR_MODELS)
    for model, exact in per_model.items():
        share = sum(exact) / len(exact)
        wrong = [
            r for r in readings
            if r.case.startswith(model + "/") and r.kind is FieldKind.MONEY and not r.exact
        ]  # fmt: skip
        assert share >= PRICE_EXACT_PER_MODEL_AT_LEAST, (model, share, _misread(wrong))


def _share_exact(readings: list[FieldReading], fill: Fill) -> tuple[float, str]:
    chosen = [r for r in readings if r.fill is fill and r.kind is FieldKind.MONEY]
    assert chosen, fill
    return sum(r.exact for r in chosen) / len(chosen), _misread([r for r in chosen if not r.exact])


def test_the_prior_price_line_is_read_exactly(readings: list[FieldReading]) -> None:
    share, wrong = _share_exact(readings, Fill.PRIOR_PRICE)
    assert share >= PRIOR_PRICE_EXACT_AT_LEAST, wrong


@pytest.mark.parametrize("fill", [Fill.UNIT_PRICE, Fill.OFFER_UNIT_PRICE])
def test_the_unit_price_of_an_item_and_of_an_offer_is_read_exactly(
    readings: list[FieldReading], fill: Fill
) -> None:
    """98/6/EC unit prices, the litre included ("1 l" used to read as "11")."""
    share, wrong = _share_exact(readings, fill)
    assert share >= UNIT_PRICE_EXACT_AT_LEAST, wrong


def test_the_offer_of_a_loyalty_or_multi_buy_label_is_read_exactly(
    readings: list[FieldReading],
) -> None:
    """The loyalty price used to be squeezed into a 7 px badge."""
    share, wrong = _share_exact(readings, Fill.PROMOTION_BADGE)
    assert share >= OFFER_EXACT_AT_LEAST, wrong


def test_the_big_price_is_read_on_every_label(readings: list[FieldReading]) -> None:
    """The shelf price itself: every piece (integer, decimals, currency) of every label."""
    pieces = [r for r in readings if r.fill is Fill.PRICE]
    assert len(pieces) >= 3 * len(sample_matrix())
    wrong = [r for r in pieces if not r.exact]
    assert wrong == [], _misread(wrong)


def test_product_names_are_read_with_a_low_character_error_rate(
    figures: LegibilityFigures,
) -> None:
    assert figures.name_fields == figures.labels
    assert figures.name_cer <= NAME_CER_AT_MOST
    assert figures.worst_name_cer <= NAME_CER_WORST_AT_MOST
