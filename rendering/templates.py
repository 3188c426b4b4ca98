"""Label templates as data: a table of regions and what fills each one.

A template is JSON (format in docs/templates.md). The defaults, one per display size
class, live in `rendering/default_templates/*.json`; a retailer's own file is parsed with
`template_from_json` and needs no code. Boxes are fractions of the canvas, so one table
serves every model of a size class; `version` is part of the render cache key, so bump it
whenever a change would move a pixel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from rendering.display_models import DisplayModel, SizeClass
from rendering.errors import TemplateError
from rendering.fonts import Weight

__all__ = [
    "TEMPLATE_KEYS",
    "Align",
    "Condition",
    "Fill",
    "Ink",
    "Region",
    "Template",
    "default_template",
    "template_from_dict",
    "template_from_json",
]


class Fill(StrEnum):
    """What fills a region."""

    PRODUCT_NAME = "product_name"
    BRAND = "brand"
    PRICE = "price"  # integer large, decimals raised and smaller, currency small
    PROMOTION_BADGE = "promotion_badge"
    REGULAR_PRICE = "regular_price"  # struck through; only when the price is reduced
    PRIOR_PRICE = "prior_price"  # "Najniższa cena z 30 dni przed obniżką: ..."
    UNIT_PRICE = "unit_price"  # "Cena za 1 kg: ..."
    OFFER_UNIT_PRICE = "offer_unit_price"  # "Cena za 1 kg w promocji: ..." (multi-buy, card)
    VALIDITY = "validity"  # "do 30.11"
    EAN13 = "ean13"
    QR = "qr"  # the product's web URL
    STORE_FOOTER = "store_footer"
    SKU = "sku"
    RULE = "rule"  # a line across the box


class Ink(StrEnum):
    BLACK = "black"
    ACCENT = "accent"  # the model's accent colour, black on black/white models
    PROMO = "promo"  # accent while a promotion shows, else black


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class Condition(StrEnum):
    """When a region is drawn, beyond having something to show."""

    ALWAYS = "always"
    PROMOTION = "promotion"
    NO_PROMOTION = "no_promotion"
    REDUCED = "reduced"
    NOT_REDUCED = "not_reduced"
    # The label prints a prior-price line: beside an announced reduction, and beside a
    # loyalty-card price (`LabelContent.shows_prior_price`), whose offer layout must make
    # room for it.
    PRIOR_PRICE = "prior_price"
    NO_PRIOR_PRICE = "no_prior_price"
    # An offer's badge with a prior-price line (`promotion`, `not_reduced` and
    # `prior_price` at once: a loyalty-card price with a prior price), and every other
    # label: the offer layout that makes room for the line, and the layouts that need none.
    OFFER_PRIOR_PRICE = "offer_prior_price"
    NO_OFFER_PRIOR_PRICE = "no_offer_prior_price"
    # A QR needs its quiet zone and arm's-length modules: where none is drawn, its room
    # may go to the unit price (one line instead of two narrow ones on 4.2").
    WEB_URL = "web_url"
    NO_WEB_URL = "no_web_url"


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    fill: Fill
    box: tuple[float, float, float, float]  # x, y, width, height as fractions of the canvas
    weight: Weight = Weight.REGULAR
    text_size: float | None = None  # em size as a fraction of canvas height; None: fill box
    min_text_px: int = 8  # shrink no further, then end in an ellipsis
    max_lines: int = 1
    align: Align = Align.LEFT
    ink: Ink = Ink.BLACK
    inverted: bool = False  # fill the box with ink, text in white
    when: tuple[Condition, ...] = ()  # all must hold

    def pixel_box(self, model: DisplayModel) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), right and bottom exclusive, inside the canvas."""
        x, y, w, h = self.box
        left, top = round(x * model.width), round(y * model.height)
        right = min(model.width, round((x + w) * model.width))
        bottom = min(model.height, round((y + h) * model.height))
        return left, top, right, bottom


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    version: int
    regions: tuple[Region, ...]
    size_class: SizeClass | None = None

    @property
    def cache_key(self) -> str:
        return f"{self.id}@{self.version}"


def template_from_json(text: str) -> Template:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TemplateError("?", f"not JSON: {error}") from error
    if not isinstance(data, Mapping):
        raise TemplateError("?", "a template is a JSON object")
    return template_from_dict(data)


# A key outside these (a typo of `size_class`, a region's `min_text_px` written for the
# whole template) would be stored and silently mean nothing: refused, as a region's are.
TEMPLATE_KEYS = ("id", "version", "size_class", "regions")


def template_from_dict(data: Mapping[str, object]) -> Template:
    template_id = data.get("id")
    if not isinstance(template_id, str) or not template_id:
        raise TemplateError("?", "'id' must be a non-empty string")
    unknown = set(data) - set(TEMPLATE_KEYS)
    if unknown:
        raise TemplateError(
            template_id,
            f"unknown keys {sorted(unknown)}: a template has {', '.join(TEMPLATE_KEYS)}",
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TemplateError(template_id, "'version' must be a positive integer")
    size_class = data.get("size_class")
    regions = data.get("regions")
    if not isinstance(regions, list) or not regions:
        raise TemplateError(template_id, "'regions' must be a non-empty list")
    parsed = tuple(_region(template_id, index, item) for index, item in enumerate(regions))
    names = [r.name for r in parsed]
    if len(set(names)) != len(names):
        raise TemplateError(template_id, "region names must be unique")
    try:
        klass = None if size_class is None else SizeClass(_text(size_class, "size_class"))
    except ValueError:
        raise TemplateError(template_id, f"unknown size_class {size_class!r}") from None
    return Template(id=template_id, version=version, regions=parsed, size_class=klass)


_REGION_KEYS = {
    "name",
    "fill",
    "box",
    "weight",
    "text_size",
    "min_text_px",
    "max_lines",
    "align",
    "ink",
    "inverted",
    "when",
}


def _region(template_id: str, index: int, item: object) -> Region:
    where = f"region {index}"
    if not isinstance(item, Mapping):
        raise TemplateError(template_id, f"{where} must be an object")
    unknown = set(item) - _REGION_KEYS
    if unknown:
        raise TemplateError(template_id, f"{where}: unknown keys {sorted(unknown)}")
    name = item.get("name", f"region{index}")
    if not isinstance(name, str) or not name:
        raise TemplateError(template_id, f"{where}: 'name' is a non-empty string, not {name!r}")
    box = item.get("box")
    if not isinstance(box, list) or len(box) != 4 or not all(_is_number(v) for v in box):
        raise TemplateError(template_id, f"{where}: 'box' is [x, y, width, height] fractions")
    x, y, w, h = (float(v) for v in box)
    if not (x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= 1.0001 and y + h <= 1.0001):
        raise TemplateError(template_id, f"{where}: box {box} leaves the canvas")
    text_size = item.get("text_size")
    if text_size is not None and (not _is_number(text_size) or not 0 < text_size < 1):
        raise TemplateError(template_id, f"{where}: 'text_size' is a fraction of the height")
    min_px, lines = item.get("min_text_px", 8), item.get("max_lines", 1)
    if not _is_whole(min_px) or not _is_whole(lines) or min_px < 4 or lines < 1:
        raise TemplateError(
            template_id, f"{where}: 'min_text_px' is a whole number >= 4, 'max_lines' >= 1"
        )
    inverted = item.get("inverted", False)
    # A string "false" is true to bool(): it would draw the box its author turned off.
    if not isinstance(inverted, bool):
        raise TemplateError(
            template_id, f"{where}: 'inverted' is true or false (JSON), not {inverted!r}"
        )
    try:
        return Region(
            name=name,
            fill=Fill(_text(item.get("fill"), "fill")),
            box=(x, y, w, h),
            weight=Weight(_text(item.get("weight", "regular"), "weight")),
            text_size=None if text_size is None else float(text_size),
            min_text_px=min_px,
            max_lines=lines,
            align=Align(_text(item.get("align", "left"), "align")),
            ink=Ink(_text(item.get("ink", "black"), "ink")),
            inverted=inverted,
            when=_conditions(item.get("when", [])),
        )
    except ValueError as error:
        raise TemplateError(template_id, f"{where}: {error}") from None


def _is_number(value: object) -> bool:
    # JSON's true and false are ints to Python: never a size or a fraction.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: object, key: str) -> str:
    """`value` if it is a string; a number or a list is no name of a fill, ink or size
    class (str() would make one out of anything: None became "None")."""
    if not isinstance(value, str):
        raise ValueError(f"{key!r} is a string, not {value!r}")
    return value


def _conditions(value: object) -> tuple[Condition, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("'when' is a condition or a list of conditions")
    return tuple(Condition(_text(item, "when")) for item in items if item != Condition.ALWAYS)


@cache
def _builtin(size_class: SizeClass) -> Template:
    text = resources.files("rendering.default_templates").joinpath(f"{size_class.value}.json")
    return template_from_json(text.read_text(encoding="utf-8"))


def default_template(model: DisplayModel) -> Template:
    """The built-in template for the model's size class."""
    return _builtin(model.size_class)
