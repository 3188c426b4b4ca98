"""A unit price is drawn with its own digits, whatever label the process drew before.

The engine rounds a unit price below ten minor units to two significant digits
(docs/pricing.md, "Unit prices"): 1000 pieces at 9,99 zł cost 0,00999 zł a piece, which
rounds up to 0.010 (a zero less says the same), and 100 pieces at 1,00 zł cost exactly
0.01. The label writes the digits the amount has ("0,010 zł", "0,01 zł"). The one money
formatter cached its texts by the Decimal, and Decimal("0.01") and Decimal("0.010") are
one key to a cache: whichever of the two a process drew first was drawn for both, so
one content drew other pixels in another process (after a restart) and the 1000-piece
label read "0,01 zł" or "0,010 zł" by chance.
"""

from __future__ import annotations

from decimal import Decimal

from pricing.label_text import format_money
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.templates import Fill
from tests.pricing.test_unit_prices_below_ten_minor_units import (
    _catalogue,
    _lines,
    _product,
    _resolve,
)

MODEL = DISPLAY_MODELS["2.9-bwr"]


def _content(pieces: str, price: str) -> LabelContent:
    product = _product(pieces)
    return LabelContent.from_resolved(
        product=product, price=_resolve(_catalogue(product, price)), locale="pl_PL"
    )


def test_two_packs_of_one_unit_price_written_apart_are_each_drawn_as_written() -> None:
    exact = _content("100", "1.00")  # 0.01 zł a piece
    rounded = _content("1000", "9.99")  # 0.00999 zł a piece, rounded up to 0.010
    assert (str(exact.unit_price), str(rounded.unit_price)) == ("0.01", "0.010")
    # Each drawn after the other, so one of them is drawn second whatever came before.
    for _ in range(2):
        assert _lines(exact, MODEL, Fill.UNIT_PRICE) == ["Cena za 1\xa0szt.: 0,01\xa0zł"]
        assert _lines(rounded, MODEL, Fill.UNIT_PRICE) == ["Cena za 1\xa0szt.: 0,010\xa0zł"]


def test_the_money_formatter_keeps_the_digits_of_each_amount_it_is_given() -> None:
    for first, second in (
        (Decimal("0.0040"), Decimal("0.004")),
        (Decimal("7.5"), Decimal("7.500")),
    ):
        for amount in (first, second, first):
            written = format_money(amount, "PLN", locale="pl_PL", keep_decimals=True)
            digits = max(2, -int(amount.as_tuple().exponent))
            assert written == f"{amount:.{digits}f}".replace(".", ",") + "\xa0zł", amount
