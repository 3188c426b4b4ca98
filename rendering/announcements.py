"""Announced reductions the law allows: checked on the content and on the laid-out label.

A label that announces a reduction (a badge such as "-14%" or "Taniej o 1 zł", a
struck-through price, a price in the accent colour) must show the lowest price of the 30
days before the reduction, and any saving it states must be measured from that price
(Directive 98/6/EC art. 6a; PL act of 9 May 2014, art. 4; CJEU C-330/23 Aldi Süd):

- the price is below the prior price (otherwise nothing may be announced);
- a struck-through price is the prior price, not a "regular" or list price;
- a percentage in the badge is the saving against the prior price, rounded down (never
  overstated, and not more than a whole percent under);
- an amount in the badge is the prior price minus the price, whatever the promotion's
  kind (amount_off, percent_off, fixed_price, or none given: "-33%, taniej o 15 zł"
  claims 15 beside its percent); only a conditional offer's badge (multi-buy, buy N get
  M, loyalty price) states other numbers, its quantities and prices. Percentages are
  taken out first, and every number left is read as the label's locale writes numbers
  ("1.000" is a thousand in de_DE, "1,000" in en_GB, "1 000" in pl_PL), each number
  whole ("10.50" is ten and a half in de_DE too, never 10 and 50; "1.000" in pl_PL is no
  one number, nor is "1.000" in de_CH or en_GB, three digits after the decimal sign of a
  currency with two), and the badge states no other number;
- a badge drawn in other words than its text (fewer words where the text does not fit at
  the display's minimum size: "-1 234,56 zł" for "Taniej o 1 234,56 zł") states the
  saving as its text must;
- the template draws the prior-price line whenever it draws the announcement, and beside
  a loyalty-card badge that has a prior price (a card price is a reduction for the
  card's members, UOKiK on art. 4 of the PL act; its badge states the card price, not a
  saving, and is drawn even when that is not below the prior price).

Labels built by the pricing engine (`LabelContent.from_resolved`) pass by construction
(its own amount-off badge passes as written, in the label's locale);
these checks catch hand-written content (`esl render`) and retailers' own templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Final, NamedTuple

from babel.numbers import get_decimal_symbol, get_group_symbol

from pricing.errors import PricingError
from pricing.money import Money
from pricing.promotions import amount_off_text
from rendering.content import CONDITIONAL_OFFERS, LabelContent
from rendering.layout import Element, TextOp
from rendering.locale_texts import minor_digits as minor_digits_of
from rendering.templates import Fill, Template

__all__ = ["announcement_problems"]

_PERCENT: Final = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
# Any locale may group thousands with a space (ISO 31-0, DIN 5008): "1 000 €".
_SPACES: Final = " \xa0\u202f"
# A number as written, never split at a sign: digits joined by ".", ",", "'" or "’", or by
# a space before a group of three ("1 000"); which signs it reads by is the locale's.
_NUMBER: Final = re.compile(r"\d+(?:(?:[ \xa0\u202f](?=\d{3}(?!\d))|[.,'\u2019])\d+)*")
_HUNDRED: Final = Decimal(100)


def announcement_problems(
    content: LabelContent, *, template: Template, elements: Iterable[Element]
) -> tuple[str, ...]:
    """What makes this label's announcement of a reduction unlawful; empty when lawful."""
    if not content.announces_reduction:
        # A card price is a reduction for the card's members: its prior price is printed
        # beside its badge, whether or not the card price is below it.
        if content.shows_prior_price and not _draws_prior_line(template, elements):
            return (
                f"template {template.id!r} draws the card price "
                f"{content.promotion_text!r} but no prior-price line for it (a region with "
                "fill 'prior_price' for a label whose `when` holds 'prior_price')",
            )
        return ()
    problems = list(_content_problems(content))
    if not problems:
        # A badge drawn in fewer words than its text ("-1 234,56 zł" for "Taniej o 1 234,56
        # zł", where the full wording does not fit at the display's minimum size) is the
        # announcement the shopper reads: it is held to the prior price as its text is.
        for wording in _drawn_badges(content, template, elements):
            problems += _content_problems(replace(content, promotion_text=wording))
    prior, currency = content.prior_price, content.currency
    if (
        prior is not None
        and _printed(prior, currency) > _printed(content.price, currency)
        and not _draws_prior_line(template, elements)
    ):
        problems.append(
            f"template {template.id!r} announces the reduction but draws no "
            "prior-price line for it (a region with fill 'prior_price')"
        )
    return tuple(problems)


def _drawn_badges(
    content: LabelContent, template: Template, elements: Iterable[Element]
) -> list[str]:
    """The wordings of the badges drawn, where they are not the content's text (its
    words, as layout wraps them: only plain spaces part them)."""
    fills = {region.name: region.fill for region in template.regions}
    written = " ".join(word for word in (content.promotion_text or "").split(" ") if word)
    wordings = []
    for element in elements:
        if fills.get(element.region) is not Fill.PROMOTION_BADGE:
            continue
        drawn = " ".join(op.text for op in element.ops if isinstance(op, TextOp))
        if drawn and drawn != written and drawn not in wordings:
            wordings.append(drawn)
    return wordings


def _draws_prior_line(template: Template, elements: Iterable[Element]) -> bool:
    fills = {region.name: region.fill for region in template.regions}
    return Fill.PRIOR_PRICE in {fills.get(element.region) for element in elements}


def _content_problems(content: LabelContent) -> Iterable[str]:
    announced = _what_announces(content)
    # The shopper compares the amounts as printed, rounded to the currency: 6.985 against
    # 6.994 PLN is "6,99 zł" against "6,99 zł", no reduction (content_from_dict refuses
    # such amounts; content built in code is checked as it will be drawn).
    currency = content.currency
    prior = None if content.prior_price is None else _printed(content.prior_price, currency)
    price = _printed(content.price, currency)
    regular = None if content.regular_price is None else _printed(content.regular_price, currency)
    if prior is None:
        hint = ""
        if content.promotion_text is not None and content.promotion_kind is None:
            hint = (
                "; an offer that leaves the shelf price alone names its kind "
                "(price.promotion.kind: multi_buy, buy_n_get_m or loyalty_price)"
            )
        yield (
            f"{announced} announces a reduction without the lowest price of the 30 days "
            f"before it (price.prior_price){hint}"
        )
        return
    if prior <= price:
        rounded = ""
        if (price, prior) != (content.price, content.prior_price):
            rounded = (
                f" as the label prints them ({content.price} and {content.prior_price} "
                f"rounded to {content.currency}'s {minor_digits_of(content.currency)} decimals)"
            )
        yield (
            f"{announced} announces a reduction, but the price {price} is not below "
            f"the prior price {prior}{rounded}: such a price may not be announced as a reduction"
        )
        return
    if regular is not None and regular != prior:
        yield (f"the struck-through price {regular} is not the prior price {prior}")
    text = content.promotion_text or ""
    saving = prior - price
    exact = saving * _HUNDRED / prior
    for match in _PERCENT.finditer(text):
        stated = _decimal(match.group(1))
        if stated is None or not (exact - 1 < stated <= exact):
            whole = exact.to_integral_value(rounding="ROUND_DOWN")
            yield (
                f"the badge {text!r} states {match.group(0)}, but the saving against the "
                f"prior price {prior} is {whole}% ({exact:.2f}%, rounded down)"
            )
    # Every badge that announces a lower shelf price states only the saving: its
    # percentages, checked above, and its amounts, whatever its kind says it is ("-33%,
    # taniej o 15 zł" is a percent_off, fixed_price or amount_off badge claiming 15). A
    # conditional offer's badge states quantities and a bundle's price instead.
    states_the_saving = content.promotion_kind not in CONDITIONAL_OFFERS
    if states_the_saving and text != _engine_badge(saving, content):
        yield from _amount_problems(
            text,
            # A percentage is out of the text, so its digits are not read as an amount.
            amounts=_PERCENT.sub("%", text),
            must_state=content.promotion_kind == "amount_off" and not _PERCENT.search(text),
            prior=prior,
            saving=saving,
            locale=content.locale,
            currency=content.currency,
        )


def _amount_problems(
    text: str,
    *,
    amounts: str,
    must_state: bool,
    prior: Decimal,
    saving: Decimal,
    locale: str,
    currency: str,
) -> Iterable[str]:
    """Why the amounts of the badge `text` (its numbers outside its percentages, as in
    `amounts`) are not the saving; `must_state` when the badge states the saving by no
    other means (an "amount off" badge without a percentage). Every such number must be
    the saving, read as one number: a badge that also states another number ("Taniej o
    10 zł, 2 szt.") says more than the saving, and one whose number reads as another
    amount ("10.50 € billiger" is ten and a half) overstates or understates it."""
    refusal = (
        f"the badge {text!r} does not state the saving against the prior price {prior}: {saving}"
    )
    syntax = _number_syntax(locale)
    minor_digits = minor_digits_of(currency)
    read = [
        (match.group(0), _read(match.group(0), syntax, minor_digits=minor_digits))
        for match in _NUMBER.finditer(amounts)
    ]
    unreadable = [written for written, value in read if value is None]
    if unreadable:
        written = unreadable[0]
        why = ""
        if _thousandths(written, syntax) and minor_digits != 3:
            why = (
                f"; {currency} has {minor_digits} decimal digits, and three after "
                f"{syntax.decimal!r} group thousands as other locales write numbers"
            )
        yield (
            f"{refusal} (it writes {written!r}, which is no one number as {locale} "
            f"writes numbers: thousands grouped by {syntax.described_groups}, decimals "
            f"after {syntax.decimal!r}{why})"
        )
        return
    values = [value for _, value in read if value is not None]
    if all(value == saving for value in values) and (values or not must_state):
        return
    stated = ", ".join(f"{value:f}" for value in values)
    how = f" (it states {stated}, read as {locale} writes numbers)" if stated else ""
    extra = "; it may state no number but the saving" if saving in values else ""
    yield f"{refusal}{how}{extra}"


def _printed(amount: Decimal, currency: str) -> Decimal:
    """`amount` as the label prints it: rounded HALF_UP to the currency's decimals, as
    `format_money` writes it."""
    return amount.quantize(Decimal(1).scaleb(-minor_digits_of(currency)), rounding=ROUND_HALF_UP)


def _what_announces(content: LabelContent) -> str:
    if content.promotion_text is not None:
        return f"the badge {content.promotion_text!r}"
    return f"the struck-through price {content.regular_price}"


def _decimal(text: str) -> Decimal | None:
    digits = re.sub(r"[ \xa0\u202f]", "", text).replace(",", ".")
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


class _NumberSyntax(NamedTuple):
    """How a locale writes a number: the signs that group its thousands (its own and a
    space), its decimal sign, and the other decimal sign ("." where "," is the locale's)."""

    groups: str
    decimal: str
    other_decimal: str
    described_groups: str


@lru_cache(maxsize=64)
def _number_syntax(locale: str) -> _NumberSyntax:
    group = get_group_symbol(locale)
    decimal = get_decimal_symbol(locale)
    # CLDR's de_CH groups with "'"; shops print the typographic "’" as often.
    own = group + ("\u2019" if group == "'" else "")
    described = " or ".join(repr(sign) for sign in own if sign not in _SPACES)
    return _NumberSyntax(
        groups=_SPACES + own,
        decimal=decimal,
        other_decimal="." if decimal == "," else ",",
        described_groups=f"{described} or a space" if described else "a space",
    )


def _read(written: str, syntax: _NumberSyntax, *, minor_digits: int) -> Decimal | None:
    """The amount `written` states in a locale of `syntax`, or None when it is no one number
    there: "1.000" is a thousand in de_DE, "1,000" one; "10.50" is ten and a half in de_DE
    (the other decimal sign, before other than three digits), never 10 and 50; "1.000" is
    either in pl_PL (neither its group nor its decimal sign, before three digits), so none.
    Three digits after the locale's own decimal sign are none either in a currency of
    `minor_digits` other than three: "1.000 CHF" on a de_CH label reads as one franc, but
    the engine writes a thousand so (as de_DE does), and £1.000 is no sum a till charges.
    """
    runs = re.split(r"\D", written)
    signs = re.findall(r"\D", written)
    if not signs:
        return Decimal(written)
    *inner, last = signs
    # Every sign but the last groups thousands.
    if any(
        sign not in syntax.groups or len(run) != 3
        for sign, run in zip(inner, runs[1:-1], strict=True)
    ):
        return None
    whole = "".join(runs[:-1])
    if last in syntax.groups and len(runs[-1]) == 3:
        return Decimal(whole + runs[-1])
    if _thousandths(written, syntax) and minor_digits != 3:
        return None
    loose_decimal = last == syntax.other_decimal and len(runs[-1]) != 3 and last not in inner
    if last == syntax.decimal or loose_decimal:
        return Decimal(f"{whole}.{runs[-1]}")
    return None


def _thousandths(written: str, syntax: _NumberSyntax) -> bool:
    """Whether `written` ends in three digits after the locale's decimal sign ("1.000" in
    de_CH or en_GB), which looks like a group of thousands as other locales write it."""
    return re.search(rf"{re.escape(syntax.decimal)}\d{{3}}$", written) is not None


def _engine_badge(saving: Decimal, content: LabelContent) -> str | None:
    """The badge the pricing engine writes for `saving` on this label, or None when the
    engine could not write one (a currency or locale it does not know). The engine writes
    money the way the label's locale does ("1.000 € billiger" in de_DE, "€ 1.000 billiger"
    in de_AT), as the price beside it."""
    try:
        money = Money(saving, content.currency)
        if money.amount != saving:
            return None
        return amount_off_text(money, locale=content.locale)
    except PricingError:
        return None
