"""Hypothesis strategies shared by the test folders; each area appends its own section."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import strategies as st

from gateways.protocol import (
    FlashLed,
    ImageEncoding,
    ImageUpdate,
    LabelFrame,
    LedColour,
    LedPattern,
    Ping,
    RefreshDisplay,
    SetClock,
    SwitchPage,
    Unassociate,
)
from pricing import (
    Channel,
    Money,
    NetUnit,
    PriceRule,
    Product,
    Promotion,
    PromotionKind,
    Store,
)
from rendering.content import LabelContent
from rendering.encoding import Planes

# ---------------------------------------------------------------- rendering: label images


def _clear_padding(plane: bytearray, *, width: int) -> bytes:
    spare = -width % 8
    if spare:
        stride = (width + 7) // 8
        for index in range(stride - 1, len(plane), stride):
            plane[index] &= 0xFF ^ ((1 << spare) - 1)
    return bytes(plane)


@st.composite
def label_planes(draw: st.DrawFn, *, width: int, height: int, has_accent: bool) -> Planes:
    """Bit planes of one size: noise, sparse dots or rectangles, like labels and worse."""
    stride = (width + 7) // 8
    size = stride * height
    style = draw(st.sampled_from(["blocks", "sparse", "noise"]))

    def plane() -> bytes:
        if style == "noise":
            # A seed rather than st.binary: a 7.5" plane is far beyond Hypothesis' buffer.
            data = bytearray(random.Random(draw(st.integers(0, 2**32))).randbytes(size))
        elif style == "sparse":
            data = bytearray(size)
            for index in draw(st.lists(st.integers(0, size - 1), max_size=40)):
                data[index] = draw(st.integers(1, 255))
        else:
            data = bytearray(size)
            for _ in range(draw(st.integers(0, 6))):
                top = draw(st.integers(0, height - 1))
                left = draw(st.integers(0, stride - 1))
                rows = draw(st.integers(1, height - top))
                cols = draw(st.integers(1, stride - left))
                for row in range(top, top + rows):
                    start = row * stride + left
                    data[start : start + cols] = b"\xff" * cols
        return _clear_padding(data, width=width)

    black = plane()
    return Planes(width=width, height=height, black=black, accent=plane() if has_accent else None)


@st.composite
def edited_planes(draw: st.DrawFn, base: Planes) -> Planes:
    """`base` with a few rectangles flipped, as when a price or badge changes."""
    planes = [bytearray(p) for p in base.planes]
    stride = base.stride
    for _ in range(draw(st.integers(0, 4))):
        plane = draw(st.sampled_from(planes))
        top = draw(st.integers(0, base.height - 1))
        left = draw(st.integers(0, stride - 1))
        rows = draw(st.integers(1, min(24, base.height - top)))
        cols = draw(st.integers(1, min(8, stride - left)))
        value = draw(st.integers(0, 255))
        for row in range(top, top + rows):
            for col in range(left, left + cols):
                plane[row * stride + col] ^= value
    black, *accent = (_clear_padding(p, width=base.width) for p in planes)
    return Planes(
        width=base.width, height=base.height, black=black, accent=accent[0] if accent else None
    )


# Letters a Polish, German or British label prints, the tall and deep ones included.
LABEL_ALPHABET = "aąbcćdeęfghijklłmnńoóprsśtuwyzźżAĄBCĆEĘŁŃÓŚŹŻäöüßÄÖÜé0123456789%,.-/ "
LABEL_LOCALES = {"pl_PL": "PLN", "en_GB": "GBP", "de_DE": "EUR"}


@st.composite
def label_contents(draw: st.DrawFn) -> LabelContent:
    """Label content from plain to hostile: long names, long prices, every locale."""
    locale = draw(st.sampled_from(sorted(LABEL_LOCALES)))
    cents = draw(st.integers(1, 99_999_999))
    price = Decimal(cents).scaleb(-2)
    promotion = draw(st.booleans())
    regular = price + Decimal(draw(st.integers(1, 50_000))).scaleb(-2) if promotion else None
    text = st.text(LABEL_ALPHABET, min_size=1, max_size=160).filter(str.strip)
    return LabelContent(
        sku=draw(st.text("0123456789ABC", min_size=1, max_size=14)),
        name=draw(text),
        brand=draw(st.text(LABEL_ALPHABET, max_size=40)),
        gtin=draw(st.sampled_from(["", "5901234123457", "4006381333931", "012345678905"])),
        currency=LABEL_LOCALES[locale],
        price=price,
        regular_price=regular,
        prior_price=regular,
        unit_price=draw(
            st.none() | st.integers(1, 99_999_999).map(lambda c: Decimal(c).scaleb(-2))
        ),
        unit_label=draw(st.sampled_from(["1 kg", "100 g", "1 l", "100 ml", "1 szt."])),
        promotion_text=draw(text) if promotion else None,
        valid_until=draw(st.dates(date(2026, 1, 1), date(2027, 12, 31))) if promotion else None,
        web_url=draw(st.none() | st.just("https://sklep.example.pl/p/12345?utm=label")),
        store_name=draw(st.none() | text),
        locale=locale,
    )


# ---------------------------------------------------------------- mqtt: topic levels and logins
# Store and gateway ids as the MQTT layout accepts them (gateways/mqtt/topics.py).
topic_part_ids = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    min_size=1,
    max_size=64,
)
# Anything a person might type as a password, including URL and config metacharacters.
any_passwords = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
)


# ---------------------------------------------------------------- protocol: frames and commands
# Label ids, keys and every command of gateways/protocol, for round-trip and tamper tests.
label_ids = st.from_regex(r"[A-Za-z0-9._:\-]{1,32}", fullmatch=True)
label_keys = st.binary(min_size=32, max_size=32)
frame_sequences = st.integers(min_value=1, max_value=0xFFFF_FFFF)
wire_instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
).map(lambda at: at.replace(microsecond=at.microsecond // 1000 * 1000))
content_hashes = st.binary(min_size=16, max_size=16).filter(any)


@st.composite
def image_updates(draw: st.DrawFn) -> ImageUpdate:
    encoding = draw(st.sampled_from(ImageEncoding))
    return ImageUpdate(
        model_id=draw(st.sampled_from(["2.9-bwr", "1.54-bw", "7.5-bwr"])),
        encoding=encoding,
        content_hash=draw(content_hashes),
        image=draw(st.binary(min_size=1, max_size=2000)),
        base_hash=draw(content_hashes) if encoding is ImageEncoding.DELTA else None,
        page=draw(st.integers(0, 255)),
        display_at=draw(st.none() | wire_instants),
    )


protocol_commands = st.one_of(
    st.just(Ping()),
    st.just(Unassociate()),
    st.just(RefreshDisplay()),
    wire_instants.map(lambda at: SetClock(at=at)),
    st.builds(SwitchPage, page=st.integers(0, 255), display_at=st.none() | wire_instants),
    st.builds(
        FlashLed,
        colour=st.sampled_from(LedColour),
        pattern=st.sampled_from(LedPattern),
        duration_s=st.integers(1, 0xFFFF),
        led=st.integers(0, 255),
    ),
    image_updates(),
)
label_frames = st.builds(
    LabelFrame, label_id=label_ids, sequence=frame_sequences, command=protocol_commands
)


# ---------------------------------------------------------------- pricing: money, catalogues
# Small random catalogues for the engine's properties (tests/pricing/test_properties.py).
# Instants fall on whole hours of a 60-day period so windows often touch and overlap.
PRICING_EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
pricing_instants = st.integers(0, 60 * 24).map(lambda h: PRICING_EPOCH + timedelta(hours=h))
money_amounts = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("100000"), allow_nan=False, allow_infinity=False
)
# At least 2 zł, so the 1 zł promotions of `promotion_sets` always stay below it.
price_cents = st.integers(200, 50_000)
PRICING_STORES = (
    Store("S1", "Jeden", "north"),
    Store("S2", "Dwa", "north"),
    Store("S3", "Trzy", "south"),
    Store("S4", "Cztery", None),
)
PRICING_SKUS = ("A", "B", "C")


def gtin_payloads() -> st.SearchStrategy[str]:
    """The digits of a GTIN-8, -12, -13 or -14 before its check digit."""
    return st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
    )


def pln(cents: int) -> Money:
    return Money(Decimal(cents).scaleb(-2), "PLN")


def pricing_product(sku: str, *, category: str = "dairy", perishable: bool = False) -> Product:
    return Product(
        sku=sku,
        name=f"Produkt {sku}",
        brand="Marka",
        gtin="5901234100014",
        category=category,
        vat_rate=Decimal(5),
        net_content=Decimal(500),
        net_unit=NetUnit.G,
        perishable=perishable,
        on_sale_since=PRICING_EPOCH - timedelta(days=400),
    )


@st.composite
def price_rule_sets(draw: st.DrawFn) -> list[PriceRule]:
    """Rules over PRICING_SKUS whose windows never overlap within one scope.

    Each scope gets a sequence of back-to-back or gapped windows, so the set is always
    a valid catalogue; every SKU has an open-ended base rule so every key has a price.
    """
    rules = [
        PriceRule(id=f"{sku}-base", sku=sku, amount=draw(price_cents.map(pln)))
        for sku in PRICING_SKUS
    ]
    scopes = draw(
        st.lists(
            st.tuples(
                st.sampled_from(PRICING_SKUS),
                st.none() | st.sampled_from(Channel),
                st.sampled_from(
                    [
                        (None, None),
                        ("north", None),
                        ("south", None),
                        (None, "S1"),
                        (None, "S3"),
                        (None, "S4"),
                    ]
                ),
            ),
            unique=True,
            max_size=6,
        )
    )
    for n, (sku, channel, (zone, store)) in enumerate(scopes):
        if channel is None and zone is None and store is None:
            continue  # the base scope already has its open-ended rule
        cuts = sorted(draw(st.sets(st.integers(0, 60 * 24), min_size=0, max_size=4)))
        edges: list[datetime | None] = [
            None,
            *(PRICING_EPOCH + timedelta(hours=c) for c in cuts),
            None,
        ]
        for w, (start, end) in enumerate(pairwise(edges)):
            if draw(st.booleans()):
                rules.append(
                    PriceRule(
                        id=f"r{n}-{w}",
                        sku=sku,
                        amount=draw(price_cents.map(pln)),
                        channel=channel,
                        zone=zone,
                        store=store,
                        valid_from=start,
                        valid_until=end,
                    )
                )
    return rules


@st.composite
def promotion_sets(draw: st.DrawFn) -> list[Promotion]:
    """Promotions whose prices can never exceed a regular price (percent and buy-N-get-M
    kinds, or tiny absolute amounts), over SKUs, the category and channel/store scopes."""
    promotions = []
    for n in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(PromotionKind))
        start = draw(st.none() | pricing_instants)
        end = draw(st.none() | pricing_instants)
        if start is not None and end is not None and start >= end:
            start, end = end - timedelta(hours=1), start + timedelta(hours=1)
        target: dict[str, frozenset[str]] = draw(
            st.sampled_from(
                [
                    {"skus": frozenset({"A"})},
                    {"skus": frozenset({"A", "B"})},
                    {"categories": frozenset({"dairy"})},
                ]
            )
        )
        fields: dict[str, object] = {
            "kind": kind,
            "priority": draw(st.integers(0, 3)),
            "exclusive": draw(st.booleans()),
            "channels": frozenset(draw(st.sets(st.sampled_from(Channel), max_size=2))),
            "stores": frozenset(draw(st.sets(st.sampled_from(["S1", "S3"]), max_size=1))),
            "zones": frozenset(draw(st.sets(st.sampled_from(["north"]), max_size=1))),
        }
        if kind is PromotionKind.PERCENT_OFF:
            fields["percent"] = Decimal(draw(st.integers(1, 100)))
        elif kind is PromotionKind.BUY_N_GET_M:
            fields["quantity"] = draw(st.integers(1, 4))
            fields["free_quantity"] = draw(st.integers(1, 2))
        elif kind is PromotionKind.MULTI_BUY:
            fields["quantity"] = draw(st.integers(2, 4))
            fields["amount"] = pln(fields["quantity"])  # type: ignore[arg-type]
        else:
            fields["amount"] = pln(1)
        promotions.append(
            Promotion(
                id=f"P{n}",
                name=f"Promocja {n}",
                valid_from=start,
                valid_until=end,
                **target,
                **fields,  # type: ignore[arg-type]
            )
        )
    return promotions


# ---------------------------------------------------------------- store: CSV price files
# Rows of the price import format over the seed data of tests/support/database.py (SKUs MLK-1,
# CHS-1, CFE-1; zones north/south; stores S01-S03): at most one row per scope, so a file
# drawn here is always valid, and a bad row can be spliced in anywhere.
_CSV_SKUS = ("MLK-1", "CHS-1", "CFE-1")
_CSV_PLACES = (("national", ""), ("zone", "north"), ("zone", "south"), ("store", "S01"))
_CSV_CHANNELS = ("", "store", "web", "app")


@st.composite
def price_csv_rows(draw: st.DrawFn) -> list[str]:
    scopes = draw(
        st.lists(
            st.tuples(
                st.sampled_from(_CSV_SKUS),
                st.sampled_from(_CSV_PLACES),
                st.sampled_from(_CSV_CHANNELS),
            ),
            min_size=1,
            max_size=12,
            unique=True,
        )
    )
    rows = []
    for sku, (scope, place), channel in scopes:
        cents = draw(st.integers(min_value=1, max_value=999_999))
        rows.append(f"{sku},{scope},{channel},{place},{Decimal(cents) / 100:.2f},PLN,,")
    return rows


bad_price_csv_rows = st.sampled_from(
    [
        "GHOST-1,national,,,1.00,PLN,,",
        "MLK-1,zone,,west,1.00,PLN,,",
        "MLK-1,national,,,0.00,PLN,,",
        "MLK-1,national,,,1.001,PLN,,",
        "MLK-1,national,,,1.00,EUR,,",
        "MLK-1,store,,,1.00,PLN,,",
        "MLK-1,national,fax,,1.00,PLN,,",
        "MLK-1,national,,,1.00,PLN,2026-01-01T00:00:00,",
    ]
)


# ---------------------------------------------------------------- ble: ESL Control Point
# Every control point command and response of gateways/ble/control_point.py, any field
# value the spec allows. Imported inside so this file's top stays shared and short.
_esl_ids = st.integers(min_value=0, max_value=254)
_bytes_u8 = st.integers(min_value=0, max_value=255)


def ble_control_point_commands() -> st.SearchStrategy[object]:
    from gateways.ble import control_point as cp

    return st.one_of(
        st.builds(cp.Ping, _esl_ids),
        st.builds(cp.Unassociate, _esl_ids),
        st.builds(cp.UpdateComplete, _esl_ids),
        st.builds(cp.RefreshDisplay, _esl_ids, display=_bytes_u8),
        st.builds(cp.DisplayImage, _esl_ids, image=_bytes_u8, display=_bytes_u8),
        st.builds(
            cp.DisplayTimedImage,
            _esl_ids,
            image=_bytes_u8,
            absolute_time=st.integers(min_value=0, max_value=0xFFFF_FFFF),
            display=_bytes_u8,
        ),
        st.builds(
            cp.LedControl,
            _esl_ids,
            led=_bytes_u8,
            colour_brightness=_bytes_u8,
            pattern=st.binary(min_size=5, max_size=5),
            off_period=_bytes_u8,
            on_period=_bytes_u8,
            repeat=st.integers(min_value=0, max_value=0xFFFF),
        ),
    )


def ble_control_point_responses() -> st.SearchStrategy[object]:
    from gateways.ble import control_point as cp
    from gateways.ble.esl_service import BasicStateFlag, ReasonCode

    return st.one_of(
        st.builds(cp.EslErrorResponse, st.sampled_from(list(ReasonCode)[1:])),
        st.builds(cp.LedState, _bytes_u8),
        st.builds(cp.BasicState, st.integers(0, 0x1F).map(BasicStateFlag)),
        st.builds(cp.DisplayState, display=_bytes_u8, image=_bytes_u8),
    )
