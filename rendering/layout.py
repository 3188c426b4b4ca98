"""From template regions and label content to positioned drawing operations.

Layout is separate from painting so a test can check every element against its region:
each `Element` holds the pixel box of its region and the operations that draw it, and
the rules here guarantee that the ink of those operations stays inside that box (text is
measured by its real glyph bounds, then shrunk, wrapped or cut with an ellipsis).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

from pricing.label_text import LabelTexts
from pricing.ledger import PriorPriceBasis
from pricing.promotions import amount_off_short_text
from rendering.codes import CodeDrawing, ean13_drawing, qr_drawing
from rendering.content import LabelContent
from rendering.contrast import carries_text
from rendering.display_models import COLOUR_RGB, DisplayModel
from rendering.fonts import Weight, digit_pairs, shaping, text_mask
from rendering.locale_texts import (
    format_label_date,
    format_money,
    format_unit_price,
    label_texts,
    price_parts,
)
from rendering.templates import Align, Condition, Fill, Ink, Region, Template

__all__ = [
    "WHITE",
    "BoxOp",
    "Element",
    "TextOp",
    "badge_wordings",
    "layout_label",
    "region_applies",
]

WHITE, BLACK, ACCENT = 0, 1, 2  # palette indices
# Lines that state a price or an offer: cut short they would mislead, so they are drawn
# whole (wrapping onto more lines, shrinking below the model's minimum only as a last
# resort; a badge never below it, `_badge_ops`).
_NEVER_CUT = frozenset(
    {
        Fill.REGULAR_PRICE,
        Fill.PRIOR_PRICE,
        Fill.UNIT_PRICE,
        Fill.OFFER_UNIT_PRICE,
        Fill.PROMOTION_BADGE,
    }
)
ELLIPSIS = "…"
# The tallest and deepest Latin glyphs we print: line pitch is measured on these, so
# "Żółć" and "gąsienica" on neighbouring lines can never touch.
_VERTICAL_PROBE = "ÅŻÓĄÉŚjgyqQ|()"


@dataclass(frozen=True, slots=True)
class TextOp:
    x: int
    baseline: int
    text: str
    weight: Weight
    size: int
    colour: int


@dataclass(frozen=True, slots=True)
class BoxOp:
    """A filled rectangle; right and bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int
    colour: int


DrawOp = TextOp | BoxOp


@dataclass(frozen=True, slots=True)
class Element:
    region: str
    box: tuple[int, int, int, int]  # left, top, right, bottom (exclusive)
    ops: tuple[DrawOp, ...]


def layout_label(
    content: LabelContent, *, model: DisplayModel, template: Template
) -> tuple[Element, ...]:
    """The drawing operations of every region that has something to show.

    Drawn from `content.drawn` only: what it clears (a prior price no reduction is
    announced with, a promotion's kind without its badge) can never reach a pixel, so
    the audit may judge a label by `drawn` alone (docs/audit.md).
    """
    content = content.drawn
    elements = []
    for region in template.regions:
        if not region_applies(region, content):
            continue
        box = region.pixel_box(model)
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        if region.fill in (Fill.EAN13, Fill.QR):
            # Always black, whatever the region's ink: a scanner's red light (660 nm) sees
            # red and yellow bars as paper, and yellow digits do not carry text.
            ops = _code_ops(region.fill, content, box=box, colour=BLACK, model=model)
        else:
            colour = _colour(region, content=content, model=model)
            ops = _readable_fill(region, content, box=box, colour=colour, model=model)
        if ops:
            elements.append(Element(region=region.name, box=box, ops=tuple(ops)))
    return tuple(elements)


def region_applies(region: Region, content: LabelContent) -> bool:
    """Whether every `when` condition of `region` holds for `content`."""
    return all(_condition_holds(condition, content) for condition in region.when)


def _condition_holds(condition: Condition, content: LabelContent) -> bool:
    match condition:
        case Condition.ALWAYS:
            return True
        case Condition.PROMOTION:
            return content.has_promotion
        case Condition.NO_PROMOTION:
            return not content.has_promotion
        case Condition.REDUCED:
            return content.announces_reduction
        case Condition.NOT_REDUCED:
            return not content.announces_reduction
        case Condition.PRIOR_PRICE:
            return content.shows_prior_price
        case Condition.NO_PRIOR_PRICE:
            return not content.shows_prior_price
        case Condition.OFFER_PRIOR_PRICE:
            return _offer_prior_price(content)
        case Condition.NO_OFFER_PRIOR_PRICE:
            return not _offer_prior_price(content)
        case Condition.WEB_URL:
            return content.web_url is not None
        case Condition.NO_WEB_URL:
            return content.web_url is None


def _offer_prior_price(content: LabelContent) -> bool:
    """An offer's badge drawn with a prior-price line: a loyalty-card price (a reduction
    for the card's members) that has a prior price, beside a shelf price not reduced."""
    return content.has_promotion and not content.announces_reduction and content.shows_prior_price


# Fills that state the shelf price: in the accent colour they announce a reduction as much
# as a badge does, whatever ink the template names (docs/templates.md, Colour and contrast).
_SHELF_PRICES = frozenset({Fill.PRICE, Fill.REGULAR_PRICE, Fill.PRIOR_PRICE, Fill.UNIT_PRICE})


def _colour(region: Region, *, content: LabelContent, model: DisplayModel) -> int:
    ink = region.ink
    if not model.has_accent or ink is Ink.BLACK:
        return BLACK
    # A red price announces a reduction as much as a badge does: only a label that
    # announces one (with its prior price) uses it. `accent` on a price is therefore
    # `promo` ("the price in red during promotions"), never a red price on a plain label.
    if ink is Ink.ACCENT and region.fill not in _SHELF_PRICES:
        return ACCENT
    return ACCENT if content.announces_reduction else BLACK


def _readable_fill(
    region: Region,
    content: LabelContent,
    *,
    box: tuple[int, int, int, int],
    colour: int,
    model: DisplayModel,
) -> list[DrawOp]:
    """`_fill`, with text in an ink that has contrast on what it is drawn on.

    An accent too light to carry text on white (yellow) becomes a field of that accent
    with black text on it; an inverted field's text (a badge, a price in a coloured box)
    is white only where white reads on the accent, else black.
    """
    accent = model.palette[ACCENT] if model.has_accent else None
    white = COLOUR_RGB["white"]
    if accent is None or region.fill in _NOT_TEXT:
        return _fill(region, content, box=box, colour=colour, model=model)
    if region.inverted and colour == ACCENT:
        text_colour = WHITE if carries_text(white, accent) else BLACK
        return _fill(region, content, box=box, colour=colour, model=model, text_colour=text_colour)
    if colour == ACCENT and not carries_text(accent, white):
        padding = max(1, (box[3] - box[1]) // 16)
        inner = (box[0] + padding, box[1] + padding, box[2] - padding, box[3] - padding)
        ops = _fill(region, content, box=inner, colour=BLACK, model=model)
        return [BoxOp(*box, ACCENT), *ops] if ops else []
    return _fill(region, content, box=box, colour=colour, model=model)


# What the prior-price line calls the price, by the rule that gave it: a perishable
# product's price before its first reduction (PL art. 4 ust. 4) and a new product's
# lowest since it went on sale (ust. 3) are no 30-day lows.
_PRIOR_CAPTIONS: Final[Mapping[PriorPriceBasis, Callable[[LabelTexts], tuple[str, str]]]] = {
    PriorPriceBasis.LOWEST_30_DAYS: lambda t: (t.prior_price, t.prior_price_short),
    PriorPriceBasis.LOWEST_SINCE_ON_SALE: lambda t: (t.since_on_sale, t.since_on_sale_short),
    PriorPriceBasis.BEFORE_FIRST_REDUCTION: lambda t: (
        t.before_first_reduction,
        t.before_first_reduction_short,
    ),
}

_NOT_TEXT = frozenset({Fill.RULE})  # codes never reach here: rendering/codes.py draws them


def _fill(
    region: Region,
    content: LabelContent,
    *,
    box: tuple[int, int, int, int],
    colour: int,
    model: DisplayModel,
    text_colour: int = WHITE,
) -> list[DrawOp]:
    if region.inverted and region.fill not in _NOT_TEXT:
        return _inverted_ops(region, content, box=box, colour=colour, model=model,
                             text_colour=text_colour)  # fmt: skip
    height = model.height
    floor = model.min_text_px
    texts = label_texts(content.locale)
    money = format_money
    text: str | None = None
    match region.fill:
        case Fill.PRICE:
            return _price_ops(content, region=region, box=box, colour=colour, floor=floor)
        case Fill.RULE:
            return [BoxOp(box[0], box[1], box[2], box[3], colour)]
        # `content.drawn` keeps a struck-through price only above the price, a prior
        # price only where a reduction is announced ("…30 dni przed obniżką" tells of
        # one) or a card price drawn (a reduction for card holders), a last day only
        # with a badge.
        case Fill.REGULAR_PRICE if content.regular_price is not None:
            ops = _whole_text_ops(
                money(content.regular_price, content.currency, content.locale),
                region=region, box=box, colour=colour, height=height, floor=floor,
            )  # fmt: skip
            return _strike_through(ops, box=box)
        case Fill.PRODUCT_NAME:
            text = content.name
        case Fill.BRAND:
            text = content.brand
        case Fill.PROMOTION_BADGE if content.promotion_text:
            return _badge_ops(content, region=region, box=box, colour=colour, height=height,
                              floor=floor)  # fmt: skip
        case Fill.PRIOR_PRICE if content.prior_price is not None:
            prior = money(content.prior_price, content.currency, content.locale)
            full, fewer = _PRIOR_CAPTIONS[content.prior_price_basis](texts)
            ops = _whole_text_ops(full.format(price=prior), region=region,
                                  box=box, colour=colour, height=height, floor=floor)  # fmt: skip
            if fewer == full:
                return ops
            # The law words no prior-price line: fewer words drawn larger beat the full
            # wording shrunk to fit, not only at the model's minimum ("Tiefstpreis 30 Tage
            # vor Reduzierung: 189,90 €" on a 1.54" label; the full wording at 10 px read
            # "30" as "39") but a pixel over it too ("Lowest price from launch to the
            # reduction: £2,499.00" at 12 px read "£" as "€"), as long as they say the
            # low ends where the reduction began. A tie keeps the full wording.
            short = _whole_text_ops(fewer.format(price=prior), region=region,
                                    box=box, colour=colour, height=height, floor=floor)  # fmt: skip
            return short if _smallest(short) > _smallest(ops) else ops
        case Fill.UNIT_PRICE if content.unit_price is not None and content.unit_label:
            unit = format_unit_price(content.unit_price, content.currency, content.locale)
            text = texts.unit_price.format(unit=_unbroken(content.unit_label), price=unit)
        case Fill.OFFER_UNIT_PRICE if content.offer_unit_price is not None and content.unit_label:
            offer = format_unit_price(content.offer_unit_price, content.currency, content.locale)
            text = texts.offer_unit_price.format(unit=_unbroken(content.unit_label), price=offer)
        case Fill.VALIDITY if content.valid_until is not None:
            text = format_label_date(content.valid_until, locale=content.locale)
        case Fill.STORE_FOOTER:
            text = content.store_name
        case Fill.SKU:
            text = content.sku
    if not text:
        return []
    if region.fill in _NEVER_CUT:
        return _whole_text_ops(text, region=region, box=box, colour=colour, height=height,
                               floor=floor)  # fmt: skip
    region = replace(region, min_text_px=max(region.min_text_px, floor))
    return _text_ops(text, region=region, box=box, colour=colour, height=height)


def _whole_text_ops(
    text: str,
    *,
    region: Region,
    box: tuple[int, int, int, int],
    colour: int,
    height: int,
    floor: int,
    padding: int = 0,
    smaller: bool = True,
) -> list[DrawOp]:
    """`text` drawn whole: at the region's lines and at least `floor` px if it fits so,
    else on as many lines as the box holds at `floor` px, else (`smaller`) smaller however
    small, or (not `smaller`) not at all. A box lower than one line at `floor` px draws
    its line smaller all the same."""
    at_floor = replace(region, min_text_px=max(region.min_text_px, floor))
    ops = _text_ops(text, region=at_floor, box=box, colour=colour, height=height, padding=padding)
    if _drawn_whole(ops, text):
        return ops
    inner_height = box[3] - box[1] - 2 * padding
    lines = max(region.max_lines, inner_height // max(1, _pitch(region.weight, floor)))
    if lines > region.max_lines:
        more = replace(at_floor, max_lines=lines, text_size=None)
        ops = _text_ops(text, region=more, box=box, colour=colour, height=height, padding=padding)
        if _drawn_whole(ops, text):
            return ops
    if not smaller:
        return []
    tiny = replace(region, min_text_px=4)
    return _text_ops(text, region=tiny, box=box, colour=colour, height=height, padding=padding)


def badge_wordings(content: LabelContent) -> tuple[str, ...]:
    """The wordings `content`'s badge may be drawn in, first choice first: its text, then,
    for an "amount off" promotion only, the same saving in fewer words ("Taniej o 1 234,56
    zł", then "-1 234,56 zł": `pricing.promotions.amount_off_short_text`). By the kind, not
    the text's shape: an offer's own words ending so ("Buy any two, get £1.50 off", a
    multi-buy) are no saving of the price, and cut short they would state one."""
    text = content.promotion_text or ""
    if content.promotion_kind != "amount_off":
        return (text,)
    shorter = amount_off_short_text(text, locale=content.locale)
    return (text,) if shorter is None or shorter == text else (text, shorter)


def _badge_ops(
    content: LabelContent,
    *,
    region: Region,
    box: tuple[int, int, int, int],
    colour: int,
    height: int,
    floor: int,
) -> list[DrawOp]:
    """A promotion badge drawn whole and never under the model's minimum (`floor`): in
    its own words where they fit so, else in fewer words stating the same saving
    (`badge_wordings`), else not at all. The lines the law asks for beside it (the price,
    the prior price) keep their regions; the render reports a badge left off
    (rendering/findings.py), as it reports a money line it cannot draw legibly. Until
    2026-12 a badge was shrunk like any money line: "Taniej o 1 234,56 zł" at 9 px on a
    1.54" label read at 10, and nothing was reported."""
    for wording in badge_wordings(content):
        ops = _whole_text_ops(wording, region=region, box=box, colour=colour, height=height,
                              floor=floor, smaller=False)  # fmt: skip
        if ops and _smallest(ops) >= floor:
            return ops
    return []


def _smallest(ops: list[DrawOp]) -> int:
    return min((op.size for op in ops if isinstance(op, TextOp)), default=0)


def _drawn_whole(ops: list[DrawOp], text: str) -> bool:
    """True when the lines of `ops` are `text`'s words in order, none cut or broken."""
    lines = [op.text for op in ops if isinstance(op, TextOp)]
    return bool(lines) and " ".join(lines) == " ".join(_words(text))


# ---------------------------------------------------------------- text


@lru_cache(maxsize=65536)
def _bbox(weight: Weight, size: int, text: str) -> tuple[int, int, int, int]:
    """Ink bounds relative to the left end of the baseline."""
    face, features = shaping(weight, size, text)
    left, top, right, bottom = face.getbbox(text, anchor="ls", features=features)
    return int(left), int(top), int(right) + _tracking(weight, size, text), int(bottom)


@lru_cache(maxsize=65536)
def _advance(weight: Weight, size: int, text: str) -> float:
    face, features = shaping(weight, size, text)
    return float(face.getlength(text, features=features)) + _tracking(weight, size, text)


def _tracking(weight: Weight, size: int, text: str) -> int:
    """The pixels `text_mask` adds between digits that would touch (rendering/fonts.py)."""
    return text_mask(weight, size, text).spacing if digit_pairs(text) else 0


@lru_cache(maxsize=512)
def _vertical(weight: Weight, size: int) -> tuple[int, int]:
    """(top, bottom) of the tallest and deepest glyphs, relative to the baseline."""
    _, top, _, bottom = _bbox(weight, size, _VERTICAL_PROBE)
    return top, bottom


def _steady_size(weight: Weight, size: int, minimum: int) -> int:
    """`size`, or one smaller (not below `minimum`) where the hinted face draws it
    unsteadily: at some sizes hinting rounds the stem of "1" to twice that of "l" (regular
    12 px), which reads as a bold digit inside a regular line, or squares the curved foot
    of "l" into a flat bar three times the stem (regular 15 px), an "L" ("Litre")."""
    if size > minimum and not _steady(weight, size) and _steady(weight, size - 1):
        return size - 1
    # An "l" read as "L" misstates a word ("Litre"): go down up to two sizes.
    if not _plain_l(weight, size):
        steady = [s for s in (size - 1, size - 2) if s >= minimum and _steady(weight, s)]
        return steady[0] if steady else size
    return size


@lru_cache(maxsize=512)
def _steady(weight: Weight, size: int) -> bool:
    return _even_stems(weight, size) and _plain_l(weight, size)


def _even_stems(weight: Weight, size: int) -> bool:
    widths = [_stem_width(weight, size, glyph) for glyph in "1l"]
    return max(widths) < 2 * max(1, min(widths))


@lru_cache(maxsize=512)
def _plain_l(weight: Weight, size: int) -> bool:
    """The foot of "l" stays a turn of its stem: not a flat bar three stems wide straight
    under a bare stem (an "L")."""
    rendered = text_mask(weight, size, "l")
    width = rendered.box[2] - rendered.box[0]
    mask = bytes(rendered.mask)
    if width <= 0 or len(mask) < 2 * width:
        return True
    foot = sum(1 for value in mask[-width:] if value)
    above = sum(1 for value in mask[-2 * width : -width] if value)
    stem = max(1, _stem_width(weight, size, "l"))
    return foot < 3 * stem or above > stem


def _stem_width(weight: Weight, size: int, glyph: str) -> int:
    """Ink pixels across the middle row of a one-stem glyph."""
    rendered = text_mask(weight, size, glyph)
    width, height = rendered.box[2] - rendered.box[0], rendered.box[3] - rendered.box[1]
    if width <= 0 or height <= 0:
        return 0
    middle = bytes(rendered.mask)[(height // 2) * width : (height // 2 + 1) * width]
    return sum(1 for value in middle if value)


def _ink_height(weight: Weight, size: int, text: str) -> int:
    _, top, _, bottom = text_mask(weight, size, text).box
    return bottom - top


def _pitch(weight: Weight, size: int) -> int:
    top, bottom = _vertical(weight, size)
    return bottom - top


def _line_height_ratio(weight: Weight) -> float:
    top, bottom = _vertical(weight, 100)
    return (bottom - top) / 100


def _text_ops(
    text: str,
    *,
    region: Region,
    box: tuple[int, int, int, int],
    colour: int,
    height: int,
    padding: int = 0,
) -> list[DrawOp]:
    left, top, right, bottom = (
        box[0] + padding,
        box[1] + padding,
        box[2] - padding,
        box[3] - padding,
    )
    width, box_height = right - left, bottom - top
    if width < 4 or box_height < 4:
        return []
    weight = region.weight
    ratio = _line_height_ratio(weight)
    if region.max_lines == 1:
        # One line needs no room for other lines' accents and descenders: it is sized by
        # its own glyphs, so "-14%" in a badge is as large as the badge allows.
        _, ink_top, _, ink_bottom = _bbox(weight, 100, text)
        fit_size = int(100 * box_height / max(1, ink_bottom - ink_top)) + 1
        while fit_size > 4 and _ink_height(weight, fit_size, text) > box_height:
            fit_size -= 1
    else:
        fit_size = int(box_height / region.max_lines / ratio) + 1
        while fit_size > 4 and region.max_lines * _pitch(weight, fit_size) > box_height:
            fit_size -= 1  # pixel rounding: the estimate from size 100 can be one too big
    # `text_size` is where shrinking starts, never a floor of its own: a start below the
    # region's minimum (the model's, or above it) starts at that minimum, so only a box
    # too small for the text at the minimum draws it smaller (and the render reports it).
    start = max(round(region.text_size * height), region.min_text_px) if region.text_size else 0
    size = min(fit_size, start) if start else fit_size
    minimum = min(region.min_text_px, size)
    if size < 4:
        return []
    while size >= 4:
        size = _steady_size(weight, size, minimum)
        line_top, line_bottom = _vertical(weight, size)
        pitch = line_bottom - line_top
        capacity = max(1, min(region.max_lines, box_height // max(pitch, 1)))
        lines, overflow = _wrap(text, weight=weight, size=size, width=width, max_lines=capacity)
        if overflow and size > minimum:
            needed = sum(_advance(weight, size, word) for word in _words(text)) or 1.0
            estimate = int(size * min(1.0, (capacity * width) / needed))
            size = max(minimum, min(size - 1, estimate))
            continue
        if overflow:
            lines[-1] = _ellipsize(lines[-1], weight=weight, size=size, width=width)
        ops = _place_lines(lines, region=region, box=(left, top, right, bottom), size=size,
                           colour=colour)  # fmt: skip
        if ops is not None:
            return ops
        # A line's real glyph bounds stuck out (the advance sum was optimistic): go smaller.
        size -= 1
        minimum = min(minimum, size)
    return []


def _place_lines(
    lines: list[str],
    *,
    region: Region,
    box: tuple[int, int, int, int],
    size: int,
    colour: int,
) -> list[DrawOp] | None:
    """Lines centred vertically in `box`, or None if any glyph would leave it."""
    left, top, right, bottom = box
    weight = region.weight
    line_top, line_bottom = _vertical(weight, size)
    pitch = line_bottom - line_top
    first_baseline = top + (bottom - top - pitch * len(lines)) // 2 - line_top
    if region.max_lines == 1 and len(lines) == 1:
        _, ink_top, _, ink_bottom = text_mask(weight, size, lines[0]).box
        first_baseline = top + (bottom - top - (ink_bottom - ink_top)) // 2 - ink_top
    ops: list[DrawOp] = []
    for index, line in enumerate(lines):
        ink_left, ink_top, ink_right, ink_bottom = text_mask(weight, size, line).box
        baseline = first_baseline + index * pitch
        x = _aligned_x(region.align, left=left, right=right, ink=(ink_left, ink_right))
        inside = (
            x + ink_left >= left
            and x + ink_right <= right
            and baseline + ink_top >= top
            and baseline + ink_bottom <= bottom
        )
        if not inside:
            return None
        if line:
            ops.append(TextOp(x, baseline, line, weight, size, colour))
    return ops


def _aligned_x(align: Align, *, left: int, right: int, ink: tuple[int, int]) -> int:
    ink_width = ink[1] - ink[0]
    if align is Align.RIGHT:
        return right - ink[1]
    if align is Align.CENTER:
        return left + (right - left - ink_width) // 2 - ink[0]
    return left - ink[0]


def _fits(line: str, *, weight: Weight, size: int, width: int) -> bool:
    left, _, right, _ = _bbox(weight, size, line)
    return right - min(left, 0) <= width


def _wrap(
    text: str, *, weight: Weight, size: int, width: int, max_lines: int
) -> tuple[list[str], bool]:
    """Greedy word wrap into at most `max_lines`; True when text was left over.

    Widths are summed from per-word advances (cached: shelf texts repeat their words);
    the caller checks each final line against its real glyph bounds.
    """
    space = _advance(weight, size, " ")
    lines: list[str] = []
    current, current_width = "", 0.0
    for word in _words(text):
        word_width = _advance(weight, size, word)
        candidate_width = current_width + space + word_width if current else word_width
        if candidate_width <= width - 1:
            current = f"{current} {word}" if current else word
            current_width = candidate_width
            continue
        if current:
            lines.append(current)
            if len(lines) == max_lines:
                return lines, True
        # A word wider than the line is broken between letters rather than overflow.
        current, current_width = word, word_width
        while not _fits(current, weight=weight, size=size, width=width):
            cut = _longest_prefix(current, weight=weight, size=size, width=width)
            lines.append(current[:cut])
            if len(lines) == max_lines:
                return lines, True
            current = current[cut:]
            current_width = _advance(weight, size, current)
    if current:
        lines.append(current)
    return lines[:max_lines], len(lines) > max_lines


def _words(text: str) -> list[str]:
    # Only plain spaces break lines: Babel puts no-break spaces inside "6,99 zł".
    return [word for word in text.split(" ") if word]


def _unbroken(quantity: str) -> str:
    """ "1 kg" with a no-break space: a wrapped line never leaves "1" above "kg"."""
    return quantity.replace(" ", "\xa0")


def _longest_prefix(text: str, *, weight: Weight, size: int, width: int, suffix: str = "") -> int:
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(text[:middle].rstrip() + suffix, weight=weight, size=size, width=width):
            low = middle
        else:
            high = middle - 1
    return max(low, 1) if not suffix else low


def _ellipsize(line: str, *, weight: Weight, size: int, width: int) -> str:
    """`line` shortened to whole words followed by "…"; a lone word is cut between letters."""
    words = _words(line)
    # Start from the longest prefix the cached word advances allow (with room for kerning
    # and bounds), so only a candidate or two is measured glyph by glyph.
    space, dots, slack = _advance(weight, size, " "), _advance(weight, size, ELLIPSIS), size
    longest, estimate = 0, dots
    for word in words:
        estimate += _advance(weight, size, word) + (space if longest else 0.0)
        if estimate > width + slack:
            break
        longest += 1
    for count in range(longest, 0, -1):
        shortened = " ".join(words[:count]).rstrip(" ,.;:-–") + ELLIPSIS
        if _fits(shortened, weight=weight, size=size, width=width):
            return shortened
    cut = _longest_prefix(line, weight=weight, size=size, width=width, suffix=ELLIPSIS)
    return line[:cut].rstrip(" ,.;:-") + ELLIPSIS


def _strike_through(ops: list[DrawOp], *, box: tuple[int, int, int, int]) -> list[DrawOp]:
    struck: list[DrawOp] = list(ops)
    for op in ops:
        if isinstance(op, TextOp):
            left, _, right, _ = text_mask(op.weight, op.size, op.text).box
            digits_top = _bbox(op.weight, op.size, "0")[1]
            middle = op.baseline + digits_top // 2
            thickness = max(1, op.size // 10)
            struck.append(
                BoxOp(op.x + left, middle, op.x + right, min(box[3], middle + thickness), op.colour)
            )
    return struck


def _inverted_ops(
    region: Region,
    content: LabelContent,
    *,
    box: tuple[int, int, int, int],
    colour: int,
    model: DisplayModel,
    text_colour: int,
) -> list[DrawOp]:
    """The box filled with the ink and the field drawn inset in `text_colour`: a badge,
    and as well a template's price, struck-through or prior price "in a coloured box"
    (each field keeps its own typography and rules, only its ink and room change)."""
    padding = max(1, (box[3] - box[1]) // 8)
    inner = (box[0] + padding, box[1] + padding, box[2] - padding, box[3] - padding)
    ops = _fill(replace(region, inverted=False), content, box=inner, colour=text_colour,
                model=model)  # fmt: skip
    return [BoxOp(*box, colour), *ops] if ops else []


# ---------------------------------------------------------------- price typography


@dataclass(frozen=True, slots=True)
class _PriceLayout:
    ops: tuple[TextOp, ...]  # positioned with the integer's baseline at y = 0, x = 0
    ink: tuple[int, int, int, int]


def _price_ops(
    content: LabelContent,
    *,
    region: Region,
    box: tuple[int, int, int, int],
    colour: int,
    floor: int,
) -> list[DrawOp]:
    parts = price_parts(content.price, content.currency, content.locale)
    width, box_height = box[2] - box[0], box[3] - box[1]
    placed = _fit_price(parts.integer, parts.fraction, parts.symbol, parts.symbol_first,
                        weight=region.weight, width=width, height=box_height,
                        floor=floor)  # fmt: skip
    if placed is None:
        return []
    left, top, right, bottom = placed.ink
    dy = box[1] + (box_height - (bottom - top)) // 2 - top
    dx = _aligned_x(region.align, left=box[0], right=box[2], ink=(left, right))
    return [
        TextOp(op.x + dx, op.baseline + dy, op.text, op.weight, op.size, colour)
        for op in placed.ops
    ]


@lru_cache(maxsize=16384)
def _fit_price(
    integer: str, fraction: str, symbol: str, symbol_first: bool, *,
    weight: Weight, width: int, height: int, floor: int,
) -> _PriceLayout | None:  # fmt: skip
    """The largest price that fits: start from the box height, shrink for long prices.

    The currency and the decimals are drawn at `floor` px, the display model's minimum, at
    least: a long price shrinks its integer instead (a 1.54" "10 399,20 zł" had its "zł"
    at 9 px, which tesseract read "ał"). None when even that does not fit."""
    probe = _price_layout(integer, fraction, symbol, symbol_first, weight=weight, size=100,
                          floor=floor)  # fmt: skip
    size = int(100 * height / max(1, probe.ink[3] - probe.ink[1]))
    while size >= floor:
        placed = _price_layout(integer, fraction, symbol, symbol_first, weight=weight,
                               size=size, floor=floor)  # fmt: skip
        ink_width, ink_height = placed.ink[2] - placed.ink[0], placed.ink[3] - placed.ink[1]
        if ink_width <= width and ink_height <= height:
            # Decimals over the currency at their floor, under a small integer: a smaller
            # integer would only crowd them more.
            stacked = bool(fraction) and not symbol_first
            return None if stacked and _crowded(placed) else placed
        size = min(size - 1, int(size * min(width / ink_width, height / ink_height)))
    return None


def _crowded(placed: _PriceLayout) -> bool:
    """True when the decimals, raised to the integer's top, reach down into the currency
    set on its baseline under them (`_price_layout`: integer, decimals, currency)."""
    _, fraction, symbol = placed.ops
    fraction_bottom = fraction.baseline + _bbox(fraction.weight, fraction.size, fraction.text)[3]
    symbol_top = symbol.baseline + _bbox(symbol.weight, symbol.size, symbol.text)[1]
    return fraction_bottom > symbol_top


def _price_layout(
    integer: str,
    fraction: str,
    symbol: str,
    symbol_first: bool,
    *,
    weight: Weight,
    size: int,
    floor: int,
) -> _PriceLayout:
    ops: list[TextOp] = []
    gap = max(1, size // 20)
    x = 0
    int_box = _bbox(weight, size, integer)
    if symbol_first:
        symbol_size = max(floor, round(size * 0.45))
        symbol_box = _bbox(weight, symbol_size, symbol)
        ops.append(
            TextOp(-symbol_box[0], int_box[1] - symbol_box[1], symbol, weight, symbol_size, 0)
        )
        x = symbol_box[2] - symbol_box[0] + gap - int_box[0]
    ops.append(TextOp(x, 0, integer, weight, size, 0))
    column = x + int_box[2] + gap
    if fraction:
        fraction_size = max(floor, round(size * 0.5))
        fraction_box = _bbox(weight, fraction_size, fraction)
        raised = int_box[1] - fraction_box[1]  # tops aligned with the integer's digits
        ops.append(TextOp(column - fraction_box[0], raised, fraction, weight, fraction_size, 0))
    if not symbol_first:
        symbol_size = max(floor, round(size * (0.3 if fraction else 0.4)))
        symbol_box = _bbox(Weight.REGULAR if fraction else weight, symbol_size, symbol)
        ops.append(
            TextOp(column - symbol_box[0], 0, symbol,
                   Weight.REGULAR if fraction else weight, symbol_size, 0)
        )  # fmt: skip
    boxes = []
    for op in ops:
        left, top, right, bottom = _bbox(op.weight, op.size, op.text)
        boxes.append((op.x + left, op.baseline + top, op.x + right, op.baseline + bottom))
    ink = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return _PriceLayout(ops=tuple(ops), ink=ink)


# ---------------------------------------------------------------- codes


def _code_ops(
    fill: Fill, content: LabelContent, *, box: tuple[int, int, int, int], colour: int,
    model: DisplayModel,
) -> list[DrawOp]:  # fmt: skip
    """The bars and digits rendering/codes.py places; nothing when it reports a reason."""
    drawing = (
        ean13_drawing(content.gtin, box=box, min_text_px=model.min_text_px)
        if fill is Fill.EAN13
        else qr_drawing(content.web_url, box=box, pixel_pitch_mm=model.pixel_pitch_mm)
    )
    if not isinstance(drawing, CodeDrawing):
        return []
    ops: list[DrawOp] = [BoxOp(b.left, b.top, b.right, b.bottom, colour) for b in drawing.bars]
    ops += [TextOp(t.x, t.baseline, t.text, t.weight, t.size, colour) for t in drawing.texts]
    return ops
