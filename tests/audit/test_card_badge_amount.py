"""The card price a recorded loyalty-card badge states, read back from its text: the
amount the engine wrote it from, in each label language's way of writing money."""

from __future__ import annotations

from decimal import Decimal

import pytest

from esl.audit.card_badge import card_price_stated
from pricing import Money
from pricing.promotions import Promotion, PromotionKind, promotion_text


def _badge(amount: str, currency: str, locale: str) -> str:
    card = Promotion(
        id="CARD",
        name="Card",
        kind=PromotionKind.LOYALTY_PRICE,
        amount=Money(Decimal(amount), currency),
        skus=frozenset({"SKU-1"}),
    )
    return promotion_text(card, locale=locale)


@pytest.mark.parametrize(
    ("amount", "currency", "locale"),
    [
        ("7.99", "PLN", "pl_PL"),
        ("8", "PLN", "pl_PL"),  # written whole: "Z kartą 8 zł"
        ("1250.50", "PLN", "pl_PL"),  # a thousands separator
        ("7.05", "EUR", "de_AT"),  # the symbol first: "Mit Karte € 7,05"
        ("12.30", "EUR", "de_DE"),
        ("0.99", "GBP", "en_GB"),
        ("1999", "HUF", "pl_PL"),  # no minor unit
    ],
)
def test_the_amount_a_badge_was_written_from_is_read_back(
    amount: str, currency: str, locale: str
) -> None:
    badge = _badge(amount, currency, locale)
    assert card_price_stated(badge, currency=currency, locale=locale) == Decimal(amount)


@pytest.mark.parametrize(
    "badge",
    ["-20%", "2 za 10\xa0zł", "Z kartą", "Z kartą ", "Z kartą abc\xa0zł", "With card £7.99"],
)
def test_a_text_that_is_no_card_price_states_none(badge: str) -> None:
    assert card_price_stated(badge, currency="PLN", locale="pl_PL") is None


def test_a_badge_of_a_locale_without_label_texts_states_none() -> None:
    assert card_price_stated("Z kartą 7,99\xa0zł", currency="PLN", locale="xx_XX") is None
