"""`esl bench render`: label rendering speed, encoded sizes, cached fan-out.

One run over a corpus of varied 2.9" BWR labels measures:

- render_per_s: ours, one core, content -> laid-out palette image (formatting, fitting,
  wrapping, barcodes included); texts that earlier labels drew are reused, as in
  production (`render_per_s_no_shared_text` clears that cache before every label);
- baseline_render_per_s: plain Pillow drawing the same texts and bars on the same
  canvas at fixed positions with preloaded fonts, no layout logic;
- raw_bytes, zlib9_bytes_avg, full_bytes_avg: plane size, zlib level 9 of the raw planes
  (what OpenEPaperLink sends), our full format;
- delta_bytes_avg: our delta for a price-only change of each label;
- cached_fanout_per_s: 10,000 labels showing 1,000 distinct contents through the render
  cache (the 1,000 renders done first; `fanout_cold_per_s` includes them);
- ocr_price_exact, ocr_name_cer: legibility read back by tesseract over the matrix of
  display models (2.13" and up) x content kinds x locales (`esl.label_legibility`): the
  share of price, prior-price, unit-price and offer fields read exactly (the amount to
  the last character, its caption but for punctuation), and the mean character error
  rate of product names; ocr_money_line_exact counts every character of those lines and
  ocr_caption_punctuation_misses the fields that differ only in a caption's punctuation.
  On models whose template draws a QR (4.2", 7.5") every label is read with and without
  a product page (two layouts);
- matrix_ean13_*/matrix_qr_*: the codes of those matrix labels decoded by zxing-cpp from
  the 1:1 pixels (ean13_*/qr_*: three sample labels with a product page on every model).
"""

from __future__ import annotations

import random
import statistics
import time
import zlib
from dataclasses import replace
from datetime import date
from decimal import ROUND_DOWN, Decimal

from PIL import Image, ImageDraw

from esl.bench._render_codes import barcode_figures
from esl.label_legibility import OCR_MODELS, measure, sample_matrix
from pricing.gtin import gtin_with_check_digit
from rendering.cache import RenderCache
from rendering.codes import ean13_modules
from rendering.content import LabelContent
from rendering.display_models import DisplayModel, get_display_model
from rendering.encoding import (
    encode_delta,
    encode_full,
    planes_from_image,
    raw_planes,
)
from rendering.fonts import Weight, font, forget_drawn_text
from rendering.locale_texts import format_money, format_unit_price, label_texts
from rendering.render import render_label

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS = (
    "labels",
    "render_per_s",
    "baseline_render_per_s",
    "render_ratio",
    "raw_bytes",
    "zlib9_bytes_avg",
    "full_bytes_avg",
    "delta_bytes_avg",
    "delta_to_full_ratio",
    "cached_fanout_per_s",
    "fanout_cold_per_s",
    "fanout_renders",
    "ocr_labels",
    "ocr_price_exact",
    "ocr_name_cer",
)

_NAMES = (
    "Masło ekstra Łaciate 82%",
    "Mleko UHT 3,2% Łowicz",
    "Ser żółty Gouda plastry",
    "Jogurt naturalny gęsty",
    "Chleb żytni na zakwasie",
    "Kawa ziarnista Espresso Crema",
    "Herbata czarna Earl Grey 100 torebek",
    "Woda mineralna niegazowana",
    "Sok pomarańczowy 100% tłoczony",
    "Czekolada gorzka 70% kakao",
    "Płatki owsiane górskie",
    "Makaron świderki pełnoziarnisty",
    "Proszek do prania kolor 4,5 kg",
    "Pasta do zębów wybielająca",
    "Papier toaletowy trzywarstwowy 8 rolek",
)
_BRANDS = ("Mlekpol", "Łowicz", "Wedel", "Tymbark", "Żywiec Zdrój", "Lubella", "Dr Oetker", "")
_UNITS = ("1 kg", "1 litr", "100 g", "100 ml", "1 szt.")


def _gtin(rng: random.Random) -> str:
    return gtin_with_check_digit("590" + "".join(rng.choice("0123456789") for _ in range(9)))


def corpus(size: int, *, seed: int = 2026) -> list[LabelContent]:
    """Varied labels: names of every length, prices from 0,49 to 4 999,99, a third on promotion."""
    rng = random.Random(seed)
    labels = []
    for index in range(size):
        name = rng.choice(_NAMES)
        if rng.random() < 0.3:
            name += " " + rng.choice(_NAMES).lower()
        price = Decimal(rng.choice((rng.randint(49, 999), rng.randint(1000, 9999),
                                    rng.randint(10000, 499999)))).scaleb(-2)  # fmt: skip
        promotion = rng.random() < 0.35
        # Lawful announcements only (rendering/announcements.py): the struck-through price
        # is the 30-day low and the badge's saving is measured from it.
        regular = (price * Decimal("1.25")).quantize(Decimal("0.01")) if promotion else None
        saving = ((regular - price) * 100 / regular).to_integral_value(ROUND_DOWN) if regular else 0
        labels.append(
            LabelContent(
                sku=f"{100000 + index}",
                name=name,
                brand=rng.choice(_BRANDS),
                gtin=_gtin(rng),
                currency="PLN",
                price=price,
                regular_price=regular,
                prior_price=regular,
                unit_price=(price * rng.choice((2, 4, 10))).quantize(Decimal("0.01")),
                unit_label=rng.choice(_UNITS),
                promotion_text=rng.choice((f"-{saving}%", "Super cena")) if promotion else None,
                promotion_kind="percent_off" if promotion else None,
                valid_until=date(2026, rng.randint(1, 12), rng.randint(1, 28))
                if promotion
                else None,
                store_name="Warszawa Mokotów",
            )
        )
    return labels


def _price_changed(content: LabelContent, rng: random.Random) -> LabelContent:
    step = Decimal(rng.choice((10, 20, 50, 100, 150))).scaleb(-2)
    price = max(Decimal("0.10"), content.price + rng.choice((-1, 1)) * step)
    unit = content.unit_price
    ratio = (unit / content.price) if unit is not None and content.price else None
    changed = replace(
        content,
        price=price,
        unit_price=(price * ratio).quantize(Decimal("0.01")) if ratio is not None else None,
    )
    prior = content.prior_price
    if prior is None:
        return changed
    if price >= prior:  # no longer below the 30-day low: nothing may be announced
        return replace(changed, regular_price=None, prior_price=None, promotion_text=None,
                       promotion_kind=None, valid_until=None)  # fmt: skip
    if content.promotion_text and content.promotion_text.endswith("%"):
        saving = ((prior - price) * 100 / prior).to_integral_value(ROUND_DOWN)
        return replace(changed, promotion_text=f"-{saving}%")
    return changed


def _baseline_texts(content: LabelContent) -> list[tuple[tuple[int, int], str, int, Weight]]:
    """The texts our medium template draws, at fixed places: what hand-written Pillow code does."""
    texts = label_texts(content.locale)
    money = format_money(content.price, content.currency, content.locale)
    out = [
        ((9, 14), content.brand or " ", 13, Weight.REGULAR),
        ((200, 13), content.sku, 11, Weight.REGULAR),
        ((9, 36), content.name, 13, Weight.BOLD),
        ((130, 100), money.split(",")[0], 50, Weight.BOLD),
        ((230, 75), money.split(",")[-1][:2], 25, Weight.BOLD),
        ((230, 100), "zł", 15, Weight.REGULAR),
    ]
    if content.unit_price is not None and content.unit_label:
        unit = format_unit_price(content.unit_price, content.currency, content.locale)
        out.append(((130, 124), texts.unit_price.format(unit=content.unit_label, price=unit),
                    13, Weight.REGULAR))  # fmt: skip
    if content.promotion_text:
        out.append(((15, 72), content.promotion_text, 12, Weight.BOLD))
    if content.prior_price is not None:
        prior = format_money(content.prior_price, content.currency, content.locale)
        out.append(((9, 95), texts.prior_price.format(price=prior), 9, Weight.REGULAR))
    return out


def _baseline_render(
    model: DisplayModel, texts: list[tuple[tuple[int, int], str, int, Weight]], bars: str | None
) -> Image.Image:
    image = Image.new("P", (model.width, model.height), 0)
    image.putpalette([c for colour in model.palette for c in colour])
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    for xy, text, size, weight in texts:
        draw.text(xy, text, font=font(weight, size), fill=1, anchor="ls")
    if bars:
        for index, bit in enumerate(bars):
            if bit == "1":
                draw.rectangle((10 + index, 58, 10 + index, 98), fill=1)
    return image


def run(*, smoke: bool) -> dict[str, object]:
    model = get_display_model("2.9-bwr")
    size = 20 if smoke else 1000
    labels = corpus(size)
    rng = random.Random(7)

    for content in labels[:20]:  # warm font objects and Babel data for both contenders
        render_label(content, model=model)
    baseline_inputs = [(_baseline_texts(c), ean13_modules(c.gtin)) for c in labels]
    _baseline_render(model, *baseline_inputs[0])

    start = time.perf_counter()
    images = [render_label(content, model=model) for content in labels]
    ours = time.perf_counter() - start

    # The same again with no text rendered by an earlier label: the cost of a label
    # whose every text is new.
    start = time.perf_counter()
    for content in labels:
        forget_drawn_text()
        render_label(content, model=model)
    uncached = time.perf_counter() - start

    start = time.perf_counter()
    for texts, bars in baseline_inputs:
        _baseline_render(model, texts, bars)
    baseline = time.perf_counter() - start

    planes = [planes_from_image(image, has_accent=True) for image in images]
    zlib9 = [len(zlib.compress(raw_planes(p), 9)) for p in planes]
    full = [len(encode_full(p)) for p in planes]
    deltas = []
    for content, old in zip(labels, planes, strict=True):
        changed = render_label(_price_changed(content, rng), model=model)
        deltas.append(len(encode_delta(old, planes_from_image(changed, has_accent=True))))

    fanout_labels, distinct = (200, 20) if smoke else (10_000, 1_000)
    contents = [labels[i % len(labels)] for i in range(distinct)]
    # Each store builds its own LabelContent value: equal by value, not the same object.
    requests = [replace(contents[rng.randrange(distinct)]) for _ in range(fanout_labels)]
    cache = RenderCache()
    forget_drawn_text()  # the cold figure starts with no text drawn before
    start = time.perf_counter()
    for content in contents:
        cache.full(cache.render(content, model=model))
    warmed = time.perf_counter()
    for content in requests:
        cache.full(cache.render(content, model=model))
    done = time.perf_counter()

    # Smoke: two models, a third of their kinds x locales; full: every case of the matrix.
    ocr_models = ("2.9-bwr", "4.2-bwy") if smoke else OCR_MODELS
    matrix = sample_matrix(full=not smoke, models=ocr_models)
    legibility = measure(matrix, workers=2)

    render_per_s = size / ours
    baseline_per_s = size / baseline
    full_avg = statistics.fmean(full)
    delta_avg = statistics.fmean(deltas)
    return {
        "labels": size,
        "model": model.id,
        "render_per_s": round(render_per_s, 1),
        "baseline_render_per_s": round(baseline_per_s, 1),
        "render_ratio": round(render_per_s / baseline_per_s, 3),
        "render_per_s_no_shared_text": round(size / uncached, 1),
        "render_ratio_no_shared_text": round(size / uncached / baseline_per_s, 3),
        "raw_bytes": len(raw_planes(planes[0])),
        "zlib9_bytes_avg": round(statistics.fmean(zlib9), 1),
        "full_bytes_avg": round(full_avg, 1),
        "full_never_above_zlib9": all(f <= z for f, z in zip(full, zlib9, strict=True)),
        "delta_bytes_avg": round(delta_avg, 1),
        "delta_to_full_ratio": round(delta_avg / full_avg, 3),
        "cached_fanout_per_s": round(fanout_labels / (done - warmed), 1),
        "fanout_cold_per_s": round(fanout_labels / (done - start), 1),
        "fanout_renders": cache.renders,
        **barcode_figures(matrix),
        "ocr_labels": legibility.labels,
        "ocr_money_fields": legibility.money_fields,
        "ocr_price_exact": round(legibility.price_exact, 3),
        "ocr_money_line_exact": round(legibility.line_exact, 3),
        "ocr_caption_punctuation_misses": len(legibility.caption_punctuation_misses),
        "ocr_name_cer": round(legibility.name_cer, 4),
        "ocr_name_cer_worst": round(legibility.worst_name_cer, 3),
    }
