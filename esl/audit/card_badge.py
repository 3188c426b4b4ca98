"""The loyalty-card price a recorded card badge states ("Z kartą 7,99 zł" -> 7.99).

A rendered content keeps the badge as its text only (`content_to_dict`), and the engine
writes it from the card price (`pricing.promotions.promotion_text`: the language's
`loyalty_offer` around the amount, written as the label writes money). The audit checks
a card label's prior-price line against the card price its badge states, not against
the card price due now, so it reads the amount back: the amount whose text, written the
same way, is the badge's.
"""

from __future__ import annotations

from decimal import Decimal

from pricing.errors import PricingError
from pricing.label_text import format_label_money, label_texts

__all__ = ["card_price_stated"]

# Decimals tried for the digits of the badge's amount: more than any currency has.
_MOST_DECIMALS = 4


def card_price_stated(badge: str, *, currency: str, locale: str) -> Decimal | None:
    """The card price `badge` states in `currency`, written in `locale`'s words; None for
    a badge that is no card price's text there (another language's, hand-altered)."""
    try:
        before, _, after = label_texts(locale).loyalty_offer.partition("{money}")
    except PricingError:  # a locale the engine no longer writes labels in
        return None
    if len(badge) <= len(before) + len(after):
        return None
    if not (badge.startswith(before) and badge.endswith(after)):
        return None
    money = badge[len(before) : len(badge) - len(after)]
    digits = "".join(character for character in money if character.isdigit())
    if not digits.isascii() or not digits:
        return None
    # The one amount written as `money`: its digits with as many decimals as the text
    # shows (a whole amount is written without: "Z kartą 8 zł").
    for decimals in range(min(len(digits), _MOST_DECIMALS) + 1):
        amount = Decimal(digits).scaleb(-decimals)
        try:
            written = format_label_money(amount, currency, locale=locale, drop_zero_decimals=True)
        except PricingError:
            return None
        if written == money:
            return amount
    return None
