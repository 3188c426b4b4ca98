"""Announced reductions the law allows: checked on the content and on the laid-out label.

A label that announces a reduction (a badge such as "-14%" or "Taniej o 1 zł", a
struck-through price, a price in the accent colour) must show the lowest price of the 30
days before the reduction, and any saving it states must be measured from that price
(Directive 98/6/EC art. 6a; PL act of 9 May 2014, art. 4; CJEU C-330/23 Aldi Süd):

- the price is below the prior price (otherwise nothing may be announced);
- a struck-through price is the prior price, not a "regular" or list price;
- a percentage in the badge is the saving against the prior price, rounded down (never
  overstated, and not more than a whole percent under);
- an amount in an "amount off" badge is the prior price minus the price;
- the template draws the prior-price line whenever it draws the announcement.

Labels built by the pricing engine (`LabelContent.from_resolved`) pass by construction;
these checks catch hand-written content (`esl render`) and retailers' own templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Final

from rendering.content import LabelContent
from rendering.layout import Element
from rendering.templates import Fill, Template

__all__ = ["announcement_problems"]

_PERCENT: Final = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
_NUMBER: Final = re.compile(r"\d+(?:[ \xa0\u202f]\d{3})*(?:[.,]\d+)?")
_HUNDRED: Final = Decimal(100)


def announcement_problems(
    content: LabelContent, *, template: Template, elements: Iterable[Element]
) -> tuple[str, ...]:
    """What makes this label's announcement of a reduction unlawful; empty when lawful."""
    if not content.announces_reduction:
        return ()
    problems = list(_content_problems(content))
    if content.prior_price is not None and content.prior_price > content.price:
        fills = {region.name: region.fill for region in template.regions}
        drawn = {fills.get(element.region) for element in elements}
        if Fill.PRIOR_PRICE not in drawn:
            problems.append(
                f"template {template.id!r} announces the reduction but draws no "
                "prior-price line for it (a region with fill 'prior_price')"
            )
    return tuple(problems)


def _content_problems(content: LabelContent) -> Iterable[str]:
    announced = _what_announces(content)
    prior = content.prior_price
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
    if prior <= content.price:
        yield (
            f"{announced} announces a reduction, but the price {content.price} is not below "
            f"the prior price {prior}: such a price may not be announced as a reduction"
        )
        return
    if content.regular_price is not None and content.regular_price != prior:
        yield (f"the struck-through price {content.regular_price} is not the prior price {prior}")
    text = content.promotion_text or ""
    saving = prior - content.price
    exact = saving * _HUNDRED / prior
    for match in _PERCENT.finditer(text):
        stated = _decimal(match.group(1))
        if stated is None or not (exact - 1 < stated <= exact):
            whole = exact.to_integral_value(rounding="ROUND_DOWN")
            yield (
                f"the badge {text!r} states {match.group(0)}, but the saving against the "
                f"prior price {prior} is {whole}% ({exact:.2f}%, rounded down)"
            )
    if content.promotion_kind == "amount_off" and not _PERCENT.search(text):
        amounts = [_decimal(m.group(0)) for m in _NUMBER.finditer(text)]
        if saving not in amounts:
            yield (
                f"the badge {text!r} does not state the saving against the prior price "
                f"{prior}: {saving}"
            )


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
