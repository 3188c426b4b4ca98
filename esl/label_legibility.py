"""Legibility measured, not eyeballed: labels rendered 1:1 and read back by tesseract.

A matrix of display models x content kinds (plain, reduction with prior price, multi-buy,
loyalty, clearance) x locales (pl_PL, en_GB, de_DE) with real Polish product names and
GTINs is rendered by the default templates; on every model whose template draws a QR code
for a product page (4.2" and 7.5"), each label is rendered a second time with a web URL,
since the QR takes room the texts otherwise have (the layouts differ). Each field a
shopper or an inspector must read is cut from the 1:1 label image by its region box and
given to Debian's tesseract with the Polish model (`tesseract-ocr`, `tesseract-ocr-pol`).
Enlarging the crop is a reading aid for the engine (it is trained on print, not 10-pixel
panels); the label's pixels are the ones the panel shows.

- money fields (the big price, the prior-price line, the unit-price lines of a single
  item and of an offer, the offer of a multi-buy or loyalty badge and the saving of an
  amount-off badge) must be read
  **exactly** (whitespace aside: tesseract
  guesses spaces in condensed type);
- the product name is scored by character error rate against the text drawn;
- an EAN-13's printed digits are read by `read_code_digits`, apart from the figures
  below (tests/rendering/test_barcode_digits_at_the_model_minimum.py).

`esl bench render --json` reports `ocr_price_exact` and `ocr_name_cer`; the tests in
tests/rendering/test_legibility.py hold thresholds on the same figures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from pricing.gtin import gtin_with_check_digit
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.fonts import text_mask
from rendering.layout import ELLIPSIS, Element, TextOp, layout_label
from rendering.locale_texts import format_money, price_parts
from rendering.render import paint
from rendering.templates import Fill, default_template

__all__ = [
    "CONTENT_KINDS",
    "LOCALES",
    "OCR_MODELS",
    "WEB_URL",
    "ContentKind",
    "FieldReading",
    "LabelCase",
    "LegibilityFigures",
    "OcrUnavailableError",
    "character_error_rate",
    "dear_price_matrix",
    "draws_qr",
    "label_content",
    "measure",
    "read_code_digits",
    "read_fields",
    "sample_matrix",
    "summarise",
    "tesseract_available",
]

LOCALES = ("pl_PL", "en_GB", "de_DE")
_CURRENCY = {"pl_PL": "PLN", "en_GB": "GBP", "de_DE": "EUR"}
# The engine reads each label with its language's model first, Polish second (the
# product names are Polish everywhere). Debian: tesseract-ocr-pol, -eng, -deu.
_OCR_LANGUAGES = {"pl_PL": "pol", "en_GB": "eng+pol", "de_DE": "deu+pol"}
# The integer and decimals of the shelf price are read with one model for every locale,
# Polish first (the shelves are Polish), English second, and with no alphabet imposed.
# The Polish and German models alone read nothing in a lone bold "4" or "44" now and
# then, and eng+pol reads a lone 69 px bold "4" as "A" (pol+eng reads all 495 pieces of
# the full matrix): a trait of the models on a glyph with no context, not of the type.
_DIGIT_LANGUAGES = "pol+eng"
# Every model of 2.13" and up: the bar. The 1.54" labels are too small for the
# OCR engine's reliable range and are checked by the pixel tests instead.
OCR_MODELS = tuple(m.id for m in DISPLAY_MODELS.values() if m.diagonal_inches >= 2.13)
# Crops are scaled to lines of about this height, the size of print the engine was
# trained on; enlargement with blur turns 1-bit pixels into smooth print.
_PRINT_LINE_PX = 40


class ContentKind(StrEnum):
    PLAIN = "plain"
    REDUCTION = "reduction"  # promo price below the prior price, the prior price shown
    MULTI_BUY = "multi_buy"
    LOYALTY = "loyalty"
    CLEARANCE = "clearance"


CONTENT_KINDS = tuple(ContentKind)

# The product page a label with a QR links to (the SKU is appended).
WEB_URL = "https://sklep.example.pl/p/"

# Real shelf names, with the letters that lose strokes and dots on 1-bit panels.
_NAMES = (
    ("Masło ekstra Łaciate 82% tłuszczu", "1 kg", Decimal("7.49"), Decimal("37.45")),
    ("Woda mineralna Żywiec Zdrój niegazowana", "1 l", Decimal("1.89"), Decimal("1.26")),
    ("Kiełbasa śląska wędzona", "1 kg", Decimal("18.99"), Decimal("37.98")),
    ("Ser żółty Gouda w plastrach", "1 kg", Decimal("8.38"), Decimal("55.87")),
    ("Jabłka Ligol z Grójca", "1 kg", Decimal("3.99"), Decimal("3.99")),
    ("Pierogi ruskie z cebulką", "1 kg", Decimal("12.68"), Decimal("28.18")),
    ("Śmietana 18% Łowicz", "1 l", Decimal("4.30"), Decimal("11.47")),
    ("Czekolada gorzka Wedel 80%", "100 g", Decimal("6.89"), Decimal("6.89")),
)

# Prices of a thousand and more (caviar by the tin, a whole ham, an old whisky) up to
# 9 999,99, the widest the shipped templates promise to draw whole and at every model's
# minimum size (docs/templates.md, "Price lines a shopper cannot read"): their
# reductions (80 %) show 1 039,20 to 7 999,99 with the prior price struck through, and
# the unit prices run to five digits (14 285,70 per litre).
_DEAR_NAMES = (
    ("Kawior z jesiotra syberyjskiego, puszka 250 g", "1 kg", Decimal("1299.00"),
     Decimal("5196.00")),
    ("Szynka Jamón Ibérico, cały udziec 8 kg", "1 kg", Decimal("4999.50"), Decimal("624.94")),
    ("Whisky single malt 30 lat, 0,7 l", "1 l", Decimal("9999.99"), Decimal("14285.70")),
)  # fmt: skip

# The reference quantity as pricing.unit_price writes it (the litre spelt out).
_LITRE = {"pl_PL": "1 litr", "en_GB": "1 litre", "de_DE": "1 Liter"}

_OFFER_TEXTS = {
    "pl_PL": ("{n} za {money}", "Z kartą {money}", "Wyprzedaż"),
    "en_GB": ("{n} for {money}", "With card {money}", "Clearance"),
    "de_DE": ("{n} für {money}", "Mit Karte {money}", "Abverkauf"),
}


def label_content(
    kind: ContentKind, locale: str, index: int, *, web_url: bool = False, dear: bool = False
) -> LabelContent:
    """One realistic label of `kind` in `locale`; `index` picks the product and price;
    `web_url` links the label to the product's page (a QR where the template has one);
    `dear` picks from the products priced at a thousand and more."""
    names = _DEAR_NAMES if dear else _NAMES
    name, unit, price, unit_price = names[index % len(names)]
    unit = _LITRE[locale] if unit == "1 l" else unit
    currency = _CURRENCY[locale]
    sku = f"{200100 + index}"
    body = f"590123{sku}"  # a Polish GS1 prefix; the check digit computed, never typed
    base = LabelContent(
        sku=sku,
        name=name,
        brand="",
        gtin=gtin_with_check_digit(body),
        web_url=WEB_URL + sku if web_url else None,
        currency=currency,
        price=price,
        unit_price=unit_price,
        unit_label=unit,
        store_name="Kraków Kazimierz",
        locale=locale,
    )
    multi_buy, loyalty, clearance = _OFFER_TEXTS[locale]
    if kind is ContentKind.PLAIN:
        return base
    if kind in (ContentKind.REDUCTION, ContentKind.CLEARANCE):
        # Lawful under either reading of the Omnibus rule: the promotional price is below
        # the prior (30-day lowest) price, which is struck through and shown in full.
        share = Decimal("0.80") if kind is ContentKind.REDUCTION else Decimal("0.50")
        reduced = (price * share).quantize(Decimal("0.01"))
        percent = ((price - reduced) / price * 100).to_integral_value(ROUND_FLOOR)
        badge = f"-{percent}%" if kind is ContentKind.REDUCTION else f"{clearance} -{percent}%"
        return replace(
            base,
            price=reduced,
            regular_price=price,
            prior_price=price,
            unit_price=(unit_price * share).quantize(Decimal("0.01")),
            promotion_text=badge,
            promotion_kind="percent_off",
            valid_until=date(2026, 12, 13),
        )
    if kind is ContentKind.MULTI_BUY:
        bundle = (price * 2 * Decimal("0.85")).quantize(Decimal("1"))
        text = multi_buy.format(n=2, money=format_money(bundle, currency, locale))
        # The offer's unit price beside a single item's (98/6/EC): the bundle per unit.
        offer_unit = (unit_price * bundle / (2 * price)).quantize(Decimal("0.01"))
        return replace(base, promotion_text=text, promotion_kind="multi_buy",
                        offer_unit_price=offer_unit, valid_until=date(2026, 12, 13))  # fmt: skip
    card = (price * Decimal("0.75")).quantize(Decimal("0.01"))
    text = loyalty.format(money=format_money(card, currency, locale))
    card_unit = (unit_price * Decimal("0.75")).quantize(Decimal("0.01"))
    return replace(base, promotion_text=text, promotion_kind="loyalty_price", loyalty_only=True,
                    offer_unit_price=card_unit, valid_until=date(2026, 12, 13))  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabelCase:
    model: DisplayModel
    kind: ContentKind
    locale: str
    content: LabelContent

    @property
    def id(self) -> str:
        """ "model/kind/locale", and "/qr" for the label with a product page."""
        qr = "/qr" if self.content.web_url else ""
        return f"{self.model.id}/{self.kind}/{self.locale}{qr}"


def draws_qr(model: DisplayModel) -> bool:
    """True when the model's default template has a QR region (4.2" and 7.5")."""
    return any(region.fill is Fill.QR for region in default_template(model).regions)


def sample_matrix(*, full: bool = False, models: Sequence[str] = OCR_MODELS) -> list[LabelCase]:
    """Models x kinds x locales, and on a model that draws a QR each label again with a
    product page (the same product and prices, so the two layouts compare directly). The
    sample keeps every model x kind pair (with and without a QR) and rotates the locale
    (so each locale meets each kind on several models): a third of the full matrix."""
    cases = []
    for model_index, model_id in enumerate(models):
        model = DISPLAY_MODELS[model_id]
        for kind_index, kind in enumerate(CONTENT_KINDS):
            for locale_index, locale in enumerate(LOCALES):
                if not full and (model_index + kind_index) % len(LOCALES) != locale_index:
                    continue
                for web_url in (False, True) if draws_qr(model) else (False,):
                    content = label_content(kind, locale, model_index + kind_index,
                                            web_url=web_url)  # fmt: skip
                    cases.append(LabelCase(model, kind, locale, content))
    return cases


def dear_price_matrix(models: Sequence[str] = tuple(DISPLAY_MODELS)) -> list[LabelCase]:
    """Every model x kind x locale with each product priced at a thousand and more
    (1 299,00 to 9 999,99; the reductions 1 039,20 to 7 999,99), and again with a product
    page on a model that draws a QR: the four-digit prices the sample matrix, priced like
    a grocery shelf, never meets."""
    cases = []
    for model_id in models:
        model = DISPLAY_MODELS[model_id]
        for kind in CONTENT_KINDS:
            for locale in LOCALES:
                for index in range(len(_DEAR_NAMES)):
                    for web_url in (False, True) if draws_qr(model) else (False,):
                        content = label_content(kind, locale, index, web_url=web_url, dear=True)
                        cases.append(LabelCase(model, kind, locale, content))
    return cases


class FieldKind(StrEnum):
    MONEY = "money"  # must be read exactly
    NAME = "name"  # scored by character error rate
    CODE_DIGITS = "code_digits"  # a barcode's printed digits, read exactly (`read_code_digits`)


@dataclass(frozen=True, slots=True)
class FieldReading:
    case: str  # "model/kind/locale"
    region: str  # the template region's name
    fill: Fill  # what the region shows
    kind: FieldKind
    expected: str
    read: str

    @property
    def exact(self) -> bool:
        """The amount read exactly, and the caption before it (if any) exactly but for
        its punctuation, whitespace aside (docs/templates.md, "What the reader may be told").

        The amount is the line's last word (Babel's no-break spaces keep "1,89 €" one
        word): every character of it counts. The caption's letters and digits count too
        ("1 l" read as "11" is a miss); only its punctuation marks are left out, which
        tesseract confuses at every small size ":" is drawn at (they count in
        `line_exact`).
        """
        amount = _amount(self.expected)
        if amount is None:
            return self.line_exact
        read, expected = _squeeze(self.read), _squeeze(self.expected)
        if not read.endswith(amount):
            return False
        caption = expected[: len(expected) - len(amount)]
        return _letters(read[: len(read) - len(amount)]) == _letters(caption)

    @property
    def line_exact(self) -> bool:
        """Every character of the line read exactly (whitespace aside)."""
        return _squeeze(self.read) == _squeeze(self.expected)

    @property
    def cer(self) -> float:
        return character_error_rate(_collapse(self.read), _collapse(self.expected))


@dataclass(frozen=True, slots=True)
class LegibilityFigures:
    labels: int
    money_fields: int
    name_fields: int
    price_exact: float  # share of money fields read exactly (`FieldReading.exact`)
    name_cer: float  # mean character error rate of product names
    worst_name_cer: float
    misread: tuple[FieldReading, ...]  # money fields not read exactly
    line_exact: float  # share of money fields read exactly to the last character
    caption_punctuation_misses: tuple[FieldReading, ...]  # exact, but not `line_exact`


class OcrUnavailableError(RuntimeError):
    """tesseract or its Polish model is not installed (Debian: tesseract-ocr-pol)."""


def tesseract_available() -> bool:
    if shutil.which("tesseract") is None:
        return False
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    return {"pol", "eng", "deu"} <= set(listed.stdout.split())


# Lines read exactly besides the shelf price (and the offer of a multi-buy or loyalty
# badge, and the saving of an amount-off badge).
_MONEY_FILLS = (Fill.PRIOR_PRICE, Fill.UNIT_PRICE, Fill.OFFER_UNIT_PRICE)


# (what to read, how it is scored, what the label states, which piece of the shelf price
# it is: "integer", "fraction", "symbol", or "" for a whole line)
_Field = tuple[Element, "FieldKind", str, str]
# Badges that state money: an offer's price, and the saving of an "amount off" (the
# matrices' reductions are percentages, read by no field).
_MONEY_BADGES = ("multi_buy", "loyalty_price", "amount_off")


def _expected_fields(case: LabelCase, elements: Iterable[Element]) -> list[_Field]:
    content = case.content
    fills = {region.name: region.fill for region in default_template(case.model).regions}
    fields: list[_Field] = []
    for element in elements:
        fill = fills[element.region]
        lines = [op.text for op in element.ops if isinstance(op, TextOp)]
        if fill is Fill.PRICE:
            # The shelf price is three pieces of type (integer, raised decimals, currency):
            # each is read on its own, as the engine knows no superscripts.
            # Layout draws them in this order (rendering.layout._price_layout).
            parts = price_parts(content.price, content.currency, content.locale)
            pieces = ["integer", "fraction"] if parts.fraction else ["integer"]
            pieces = ["symbol", *pieces] if parts.symbol_first else [*pieces, "symbol"]
            texts = [op for op in element.ops if isinstance(op, TextOp)]
            for op, piece in zip(texts, pieces, strict=True):
                fields.append((_op_element(element, op), FieldKind.MONEY, op.text, piece))
        elif fill in _MONEY_FILLS or (
            fill is Fill.PROMOTION_BADGE and content.promotion_kind in _MONEY_BADGES
        ):
            fields.append((element, FieldKind.MONEY, " ".join(lines), ""))
        elif fill is Fill.PRODUCT_NAME:
            fields.append((element, FieldKind.NAME, " ".join(lines).replace(ELLIPSIS, ""), ""))
    return fields


def _op_element(element: Element, op: TextOp) -> Element:
    """An element holding one text op, boxed by its ink exactly."""
    left, top, right, bottom = text_mask(op.weight, op.size, op.text).box
    box = (op.x + left, op.baseline + top, op.x + right, op.baseline + bottom)
    return Element(region=element.region, box=box, ops=(op,))


def _crop(image: Image.Image, element: Element) -> Image.Image:
    """The region's text as print for the engine: its ink black on white, enlarged.

    Only pixels of the text's own palette index count as ink, so a badge or highlight
    field behind the text reads as paper (what a person's eye does with colour).
    """
    colours = {op.colour for op in element.ops if isinstance(op, TextOp)}
    region = image.crop(element.box)
    ink = region.point([0 if index in colours else 255 for index in range(256)], mode="L")
    bounds = ImageOps.invert(ink).getbbox()  # scaled by the text, not by its region
    if bounds is not None:
        ink = ink.crop(bounds)
    lines = max(1, sum(1 for op in element.ops if isinstance(op, TextOp)))
    # Print of about 40 px a line, the size the engine was trained on: small panel text is
    # enlarged (and smoothed), a 100 px shelf price reduced; a margin round like paper.
    margin = max(4, ink.height // (2 * lines))
    canvas = Image.new("L", (ink.width + 2 * margin, ink.height + 2 * margin), 255)
    canvas.paste(ink, (margin, margin))
    scale = _PRINT_LINE_PX * lines / max(1, ink.height)
    if scale < 1:
        size = (max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale)))
        return canvas.resize(size, Image.Resampling.LANCZOS)
    factor = round(scale)  # whole pixels: every panel pixel becomes an equal square
    enlarged = canvas.resize(
        (canvas.width * factor, canvas.height * factor), Image.Resampling.NEAREST
    )
    return enlarged.filter(ImageFilter.GaussianBlur(factor / 2)) if factor > 1 else enlarged


# How tesseract reads a crop: page segmentation mode (per field, as a person reads one
# field at a time). The engine is never told what alphabet to expect: a digits-only
# whitelist would turn a "3D" into "30" or an "S" into "5" and agree with the label
# whatever its pixels show (docs/templates.md, "What the reader may be told"). The
# integer and decimals of the shelf price are read as a line (mode 7), as every other
# one-line field is: in single-word mode (8) the engine reads nothing at all in a clean
# 40 px "15" or "44" now and then, which says nothing about the type. The raised
# decimals alone are read as a raw line (mode 13): as a line the engine reads nothing in
# a lone bold "00" (1 299,00 zł, on every model from 1.54" to 2.9") or a 23 px "60",
# and as a raw line it reads every piece of decimals of the full and the four-digit
# matrices. An integer with its group separator ("1.299", "£1,299") is digits too.
_WORDS = ("8",)
_LINE = ("7",)
_BLOCK = ("6",)
_RAW_LINE = ("13",)


def read_fields(cases: Sequence[LabelCase], *, workers: int = 2) -> list[FieldReading]:
    """Render every case 1:1 and read its fields with tesseract (`workers` processes)."""
    readings: list[FieldReading] = []
    crops: list[tuple[Image.Image, tuple[str, ...]]] = []
    for case, fills, elements, image in _painted(cases):
        for element, kind, expected, piece in _expected_fields(case, elements):
            lines = sum(1 for op in element.ops if isinstance(op, TextOp))
            digits = piece in ("integer", "fraction")
            # The integer and any one-line field: a line; the decimals: a raw line; the
            # currency: a word.
            mode = (
                _RAW_LINE if piece == "fraction"
                else _LINE if piece == "integer"
                else _WORDS if piece
                else _LINE if lines <= 1
                else _BLOCK
            )  # fmt: skip
            # Names are Polish on every label; label texts are in the locale's language;
            # the digits of the shelf price belong to no language.
            if kind is FieldKind.NAME:
                language = "pol"
            elif digits:
                language = _DIGIT_LANGUAGES
            else:
                language = _OCR_LANGUAGES[case.locale]
            crops.append((_crop(image, element), (*mode, "-l", language)))
            fill = fills[element.region]
            readings.append(FieldReading(case.id, element.region, fill, kind, expected, ""))
    texts = _read_crops(crops, workers=workers)
    return [replace(reading, read=texts[i]) for i, reading in enumerate(readings)]


def read_code_digits(cases: Sequence[LabelCase], *, workers: int = 2) -> list[FieldReading]:
    """Render every case 1:1 and read the printed digits of its EAN-13 with tesseract, as
    a shopper or a cashier reads them when the scanner fails: one reading for the leading
    digit in the left quiet zone and one for each group of six under the bars, each cut
    by its own ink (clear of the guard bars between the groups), scored exactly. Not part
    of `measure`: `esl bench render`'s figures are unchanged.

    The engine reads a lone "5" of 10 to 12 px (and at times a whole line) as "3" or "J"
    whatever its context, a trait of its models on a glyph with no word round it (as
    `_DIGIT_LANGUAGES` notes of a lone "4"): the tests hold the groups of six to exact."""
    readings: list[FieldReading] = []
    crops: list[tuple[Image.Image, tuple[str, ...]]] = []
    for case, fills, elements, image in _painted(cases):
        for element in elements:
            if fills[element.region] is not Fill.EAN13:
                continue
            for op in element.ops:
                if isinstance(op, TextOp):
                    crop = _crop(image, _op_element(element, op))
                    crops.append((crop, (*_LINE, "-l", _DIGIT_LANGUAGES)))
                    readings.append(
                        FieldReading(case.id, element.region, Fill.EAN13,
                                     FieldKind.CODE_DIGITS, op.text, "")
                    )  # fmt: skip
    texts = _read_crops(crops, workers=workers)
    return [replace(reading, read=texts[i]) for i, reading in enumerate(readings)]


def _painted(
    cases: Sequence[LabelCase],
) -> Iterator[tuple[LabelCase, dict[str, Fill], tuple[Element, ...], Image.Image]]:
    """Each case laid out on its model's default template and painted 1:1: the case, the
    fill of each region, the elements and the image. Refused up front (nothing rendered)
    where tesseract cannot read them."""
    if not tesseract_available():
        raise OcrUnavailableError(
            "tesseract with its Polish, English and German models is needed: "
            "apt-get install tesseract-ocr-pol tesseract-ocr-eng tesseract-ocr-deu"
        )
    for case in cases:
        template = default_template(case.model)
        fills = {region.name: region.fill for region in template.regions}
        elements = layout_label(case.content, model=case.model, template=template)
        yield case, fills, elements, paint(elements, model=case.model)


def _read_crops(crops: Sequence[tuple[Image.Image, tuple[str, ...]]], *, workers: int) -> list[str]:
    """What tesseract reads in each crop: crops of one mode go to one process as a batch,
    split over `workers` processes."""
    texts: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="esl-ocr-") as folder:
        batches: dict[tuple[tuple[str, ...], int], list[int]] = {}
        for index, (crop, mode) in enumerate(crops):
            crop.save(Path(folder) / f"{index:05d}.png")
            batches.setdefault((mode, index % max(1, workers)), []).append(index)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            chunks = pool.map(lambda item: _tesseract(folder, item[0][0], item[1]),
                              batches.items())  # fmt: skip
            for chunk in chunks:
                texts.update(chunk)
    return [texts[index] for index in range(len(crops))]


def _tesseract(folder: str, mode: tuple[str, ...], indexes: list[int]) -> dict[int, str]:
    """One tesseract process reads a batch of crops (the model loads once per batch)."""
    listing = Path(folder) / f"list-{indexes[0]}.txt"
    listing.write_text("".join(f"{folder}/{i:05d}.png\n" for i in indexes), encoding="utf-8")
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(
        ["tesseract", str(listing), "stdout", "--psm", *mode],
        capture_output=True, text=True, env=environment, check=True,
    )  # fmt: skip
    pages = done.stdout.split("\f")
    if len(pages) < len(indexes):
        raise OcrUnavailableError(f"tesseract returned {len(pages)} pages for {len(indexes)}")
    return {index: " ".join(page.split()) for index, page in zip(indexes, pages, strict=False)}


def measure(cases: Sequence[LabelCase], *, workers: int = 2) -> LegibilityFigures:
    return summarise(read_fields(cases, workers=workers), labels=len(cases))


def summarise(readings: Sequence[FieldReading], *, labels: int) -> LegibilityFigures:
    money = [r for r in readings if r.kind is FieldKind.MONEY]
    names = [r for r in readings if r.kind is FieldKind.NAME]
    rates = [r.cer for r in names]
    return LegibilityFigures(
        labels=labels,
        money_fields=len(money),
        name_fields=len(names),
        price_exact=sum(r.exact for r in money) / max(1, len(money)),
        name_cer=sum(rates) / max(1, len(rates)),
        worst_name_cer=max(rates, default=0.0),
        misread=tuple(r for r in money if not r.exact),
        line_exact=sum(r.line_exact for r in money) / max(1, len(money)),
        caption_punctuation_misses=tuple(r for r in money if r.exact and not r.line_exact),
    )


def character_error_rate(read: str, expected: str) -> float:
    """Levenshtein distance over the expected length (0 is perfect)."""
    previous = list(range(len(expected) + 1))
    for row, got in enumerate(read, 1):
        current = [row]
        for column, want in enumerate(expected, 1):
            current.append(min(previous[column] + 1, current[column - 1] + 1,
                               previous[column - 1] + (got != want)))  # fmt: skip
        previous = current
    return previous[len(expected)] / max(1, len(expected))


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _amount(expected: str) -> str | None:
    """The amount a caption states (its last word, squeezed), or None for a line that is
    all amount (a piece of the shelf price) or has no digit in its last word."""
    if " " not in expected.strip():
        return None
    last = expected.strip().rsplit(" ", 1)[-1]
    return _squeeze(last) if any(character.isdigit() for character in last) else None


def _letters(text: str) -> str:
    """`text` without its punctuation marks (Unicode category P: ":" ";" "," "." "-")."""
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


def _collapse(text: str) -> str:
    return " ".join(text.split())
