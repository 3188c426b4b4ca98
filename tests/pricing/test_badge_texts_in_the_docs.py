"""The badge texts docs/pricing.md shows are the ones the label prints.

Its table of promotion kinds wrote the English badges "1.50 PLN off", "2 for 10 PLN" and
"With card 8.99 PLN", while the label prints "PLN 1.50 off", "2 for PLN 10" and "With
card PLN 8.99" (en_GB puts the currency code first): a retailer checking a shelf against
the docs took the label for wrong. Each example is compared with the formatter's text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.money import Money
from pricing.promotions import Promotion, PromotionKind, amount_off_text, promotion_text

PRICING_MD = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"


def _pln(amount: str) -> Money:
    return Money(Decimal(amount), "PLN")


# The promotion each row of the table draws its examples from.
EXAMPLES = {
    PromotionKind.MULTI_BUY: {"amount": _pln("10"), "quantity": 2},
    PromotionKind.BUY_N_GET_M: {"quantity": 2, "free_quantity": 1},
    PromotionKind.LOYALTY_PRICE: {"amount": _pln("8.99")},
    PromotionKind.FIXED_PRICE: {"amount": _pln("8.99")},
}


def _documented(kind: PromotionKind) -> tuple[str, str]:
    """The (Polish, English) badge the table's row of `kind` shows."""
    for line in PRICING_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| `{kind}` |"):
            badge = line.split("|")[4]
            found = re.match(r"\s*`([^`]+)` / `([^`]+)`", badge)
            assert found is not None, line
            return found.group(1), found.group(2)
    raise AssertionError(f"docs/pricing.md has no row for {kind}")


def _printed(text: str) -> str:
    return text.replace("\xa0", " ")


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_a_conditional_or_fixed_badge_reads_as_printed(kind: PromotionKind) -> None:
    promotion = Promotion(id="P", name="x", kind=kind, skus=frozenset({"A"}), **EXAMPLES[kind])  # type: ignore[arg-type]
    polish, english = _documented(kind)
    assert polish == _printed(promotion_text(promotion, locale="pl_PL"))
    assert english == _printed(promotion_text(promotion, locale="en_GB"))


def test_the_amount_off_badge_reads_as_printed() -> None:
    polish, english = _documented(PromotionKind.AMOUNT_OFF)
    assert polish == _printed(amount_off_text(_pln("1.50"), locale="pl_PL"))
    assert english == _printed(amount_off_text(_pln("1.50"), locale="en_GB"))
