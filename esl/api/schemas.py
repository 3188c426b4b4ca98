"""Request and response bodies of the API, separate from the database rows.

Money travels as a decimal string ("12.99") beside its currency, never as a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from esl.api.instants import Instant
from esl.blanks import trim_blanks
from esl.decimal_digits import (
    NET_CONTENT_DIGITS,
    PERCENT_DIGITS,
    VAT_RATE_DIGITS,
    foreign_digits_problem,
)
from esl.enumerated_words import enumerated_word
from esl.one_line_text import require_one_line
from esl.promotion_ids import NewPromotionId
from esl.services.amounts import thousands_group_question
from esl.services.gateway_ids import GATEWAY_ID_PATTERN
from esl.services.publication_commands import (
    MAX_PROMOTION_COUNT,
    MAX_PROMOTION_PRIORITY,
    MIN_PROMOTION_COUNT,
    MIN_PROMOTION_PRIORITY,
    EndPrice,
    EndPromotion,
    PublicationCommand,
    SetPrice,
    UpsertPromotion,
)
from esl.services.zones import ZONE_NAME_MAX
from esl.text_lengths import (
    BRAND_LENGTH,
    CATEGORY_LENGTH,
    PRODUCT_NAME_LENGTH,
    PROMOTION_ID_LENGTH,
    PROMOTION_NAME_LENGTH,
    PUBLICATION_TITLE_LENGTH,
    SKU_LENGTH,
    STORE_NAME_LENGTH,
    WEB_URL_LENGTH,
)
from esl.time_zones import check_time_zone
from gateways.ble.errors import PairingCodeError
from gateways.ble.pairing_code import PairingCode
from pricing.ledger import PriorPriceBasis
from pricing.money import is_decimal_text
from pricing.products import Channel as ChannelValue
from pricing.promotions import PromotionKind

__all__ = [
    "BindingIn",
    "BindingOut",
    "Channel",
    "EndPriceItemIn",
    "EndPromotionItemIn",
    "ErrorBody",
    "GatewayIn",
    "GatewayOut",
    "LabelIn",
    "LabelModelIn",
    "LabelModelOut",
    "LabelOut",
    "LedgerEntryOut",
    "Page",
    "PriceRuleOut",
    "ProductIn",
    "ProductOut",
    "PromotionOut",
    "PublicationIn",
    "PublicationItemIn",
    "PublicationOut",
    "QuoteOut",
    "RequestBody",
    "RowOut",
    "SetPriceItemIn",
    "StoreIn",
    "StoreOut",
    "UpsertPromotionItemIn",
    "ZoneIn",
    "ZoneOut",
]

T = TypeVar("T")


class RowOut(BaseModel):
    """A response body read from a database row's (or any object's) attributes."""

    model_config = ConfigDict(from_attributes=True)


class RequestBody(BaseModel):
    """A request body: a field it does not know is refused (422), never silently dropped.

    Subclasses that set `model_config` (for examples) keep this: pydantic merges configs."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None


def _trimmed(value: object) -> object:
    return trim_blanks(value) if isinstance(value, str) else value


def _not_only_blanks(value: object, info: ValidationInfo) -> object:
    # Blanks only: refused as a file's empty required cell is ("name is empty"), with
    # the reason the text was not empty as sent.
    if isinstance(value, str) and value and not trim_blanks(value):
        raise ValueError(f"{info.field_name} is empty: only blanks (spaces, tabs, no-break spaces)")
    return value


# A body's texts are trimmed as a file's cells are (`esl.blanks`), so a product, a store
# or a promotion is stored and drawn the same whichever way it came. Trimmed before
# their checks: a text's length is the trimmed text's, as a file's cell is counted (a
# name too long only by the blanks a PIM left around it is taken), and a tab at its end
# is trimmed, not refused by the one-line check. Each is generic over the text it
# trims: a length constraint that must be checked after trimming goes inside,
# `Trimmed[Annotated[str, Field(max_length=32)]] | None` (pydantic checks the one of
# an optional field's or a list item's `Field` placed after the validator before it).
Text = TypeVar("Text", bound=str)
Trimmed = Annotated[Text, BeforeValidator(_trimmed)]
_ONE_LINE_TRIMMED = Field(
    description="One line of text: no control character, no line break, no direction "
    "control (U+202A-U+202E, U+2066-U+2069) (422). Blanks around it (spaces, tabs, "
    "no-break spaces) are trimmed, as a file's cells are, before its length is "
    "checked; inner ones are kept."
)
TrimmedOneLine = Annotated[
    Text, BeforeValidator(_trimmed), AfterValidator(require_one_line), _ONE_LINE_TRIMMED
]
# A name a label or a person needs: blanks only are refused (422), not stored as "".
NotBlank = Annotated[Text, BeforeValidator(_not_only_blanks)]
Named = Annotated[
    Text,
    BeforeValidator(_trimmed),
    AfterValidator(require_one_line),
    _ONE_LINE_TRIMMED,
    BeforeValidator(_not_only_blanks),
]


# An optional text left empty or blank is absent (null), as a file's empty cell is: a
# store's time zone "  " is the installation's, a product's web address "" none, where a
# check would refuse the empty text as unknown. Only where absent is a harmless default:
# not where it would change what is priced, where or when (`_refused_if_blank`). Around the
# optional type, so it runs before the text's own checks; a required text stays refused.
def _blank_as_absent(value: object) -> object:
    return None if isinstance(value, str) and not trim_blanks(value) else value


BlankAsAbsent = BeforeValidator(_blank_as_absent)


# An optional field: empty or blanks is absent (`BlankAsAbsent`).
OrAbsent = Annotated[T | None, BlankAsAbsent]


def _refused_if_blank(left_out: str) -> BeforeValidator:
    # Where left out (or null) is the widest choice: a store's zone (none: the national
    # prices), a price's or promotion's start and end (the publication's instant; never
    # ending). A blank there is a client's bug (a date or a zone lost on its way), and read
    # as left out it would reprice a store, keep a week's offer for good or start it early:
    # refused, as a blank where a price applies is (its channel, zone, store). A file, which
    # cannot leave a cell out, reads its empty cell as left out.
    def refuse(value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not trim_blanks(value):
            raise ValueError(
                f"{info.field_name} is empty or blank: leave it out or send null for "
                f"{left_out}; a blank is not read as left out"
            )
        return value

    return BeforeValidator(refuse)


def _spelled(words: tuple[str, ...]) -> BeforeValidator:
    # An enumerated word in any case, blanks around it trimmed, is the one it spells
    # (`esl.enumerated_words`, the files' rule); anything else is left for the enum's
    # check, which refuses it naming the words allowed.
    def canonical(value: object) -> object:
        if isinstance(value, str):
            return enumerated_word(value, words) or value
        return value

    return BeforeValidator(canonical)


_ANY_CASE = (
    "Blanks around it are trimmed and any case is read as the spelling listed (' Store' "
    "is store), as the files read it."
)
TrimmedText = Trimmed[str]
TrimmedOneLineText = TrimmedOneLine[str]
NamedText = Named[str]
TrimmedInstant = Annotated[Instant, BeforeValidator(_trimmed)]


class ZoneIn(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Północ"}]})
    # Trimmed here for its length (the service trims it again for `esl zones put`); a
    # name of blanks only reaches `save_zone`, which refuses it as the command line's.
    name: Trimmed[Annotated[str, Field(max_length=ZONE_NAME_MAX)]]


class ZoneOut(RowOut):
    code: str
    name: str


class StoreIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Gdańsk Oliwa", "zone": "north", "time_zone": "Europe/Warsaw"}]
        }
    )
    name: NamedText = Field(min_length=1, max_length=STORE_NAME_LENGTH)
    zone: Annotated[
        Trimmed[Annotated[str, Field(max_length=32)]] | None,
        _refused_if_blank("no zone (national prices)"),
    ] = Field(
        default=None,
        description='Its price zone; left out or null: none (national prices); "" or '
        "blanks are refused (422), not read as none",
    )
    time_zone: OrAbsent[
        Annotated[Trimmed[Annotated[str, Field(max_length=64)]], AfterValidator(check_time_zone)]
    ] = Field(
        default=None,
        description="The IANA time zone its labels date in (a promotion's last day); "
        "null, \"\" or blanks: the installation's (ESL_TIME_ZONE, else the locale's)",
    )
    opened: OrAbsent[TrimmedInstant] = Field(
        default=None,
        description="Since when the store sells, not in the future: a reduction within 30 "
        'days of it is captioned the lowest price since it went on sale. Omitted, null, "" '
        "or blanks: a new store opens now, a stored one keeps its opening. An earlier one "
        "corrects it; a later one is refused after the first price its shelves have in the ledger",
    )


class StoreOut(RowOut):
    code: str
    name: str
    zone: str | None
    time_zone: str | None
    opened: datetime | None = Field(
        description="Since when it sells (given, its creation, or moved back by imported "
        "history); null: always, as far as anyone knows"
    )


def _ascii_digits(value: object) -> object:
    # Decimal() and int() read other scripts' digits ("３.９９", "٣.٩٩") as the digits
    # meant (`esl.decimal_digits`): refused with the characters named, as the files do.
    if isinstance(value, str) and (problem := foreign_digits_problem(value)):
        raise ValueError(problem)
    return value


def _decimal_text(value: object) -> object:
    # Decimal() would read "3_49" as 349 and "1e2" as 100 (`pricing.money`).
    _ascii_digits(value)
    if isinstance(value, str) and not is_decimal_text(value):
        raise ValueError(f"{value!r} is not a decimal number (digits and a point: 3.49)")
    return value


DecimalText = Annotated[Decimal, BeforeValidator(_decimal_text)]


def _net_content_text(value: object) -> object:
    # A string keeps its decimals as written: "1.000" g, from a German hand or file, may be
    # a kilogram, and read as 1 g it makes the Grundpreis a thousand times too high. (A
    # JSON number 1.000 is the number 1 by the time it is read.)
    if isinstance(value, str) and is_decimal_text(value):
        question = thousands_group_question(Decimal(value.strip()))
        if question is not None:
            raise ValueError(f"net_content {value!r}: {question}")
    return value


NetContent = Annotated[DecimalText, BeforeValidator(_net_content_text)]
# A GTIN in other digits ("５９００..." fullwidth) is refused as such, not taken for the
# EAN it spells: no scanner reads it and no stored GTIN matches it.
GtinText = Annotated[str, AfterValidator(_ascii_digits)]


TrimmedGtin = Annotated[GtinText, BeforeValidator(_trimmed)]
NetUnitWord = Literal["g", "kg", "ml", "l", "m", "pcs"]
NetUnitText = Annotated[NetUnitWord, _spelled(get_args(NetUnitWord)), Field(description=_ANY_CASE)]


class ProductIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Mleko 3,2% 1 l",
                    "brand": "Łaciate",
                    "gtin": "5900820000011",
                    "category": "dairy",
                    "vat_rate": "5",
                    "net_content": "1",
                    "net_unit": "l",
                    "perishable": True,
                    "on_sale_since": "2025-01-01T00:00:00Z",
                }
            ]
        },
    )
    # Not blank: a label needs a name to draw, as a file's line does.
    name: NamedText = Field(min_length=1, max_length=PRODUCT_NAME_LENGTH)
    brand: TrimmedOneLineText = Field(default="", max_length=BRAND_LENGTH)
    gtin: TrimmedGtin = Field(default="", max_length=14)
    category: TrimmedOneLineText = Field(default="", max_length=CATEGORY_LENGTH)
    vat_rate: DecimalText = Field(
        ge=0,
        lt=100,
        max_digits=VAT_RATE_DIGITS.total,
        decimal_places=VAT_RATE_DIGITS.places,
    )
    net_content: NetContent = Field(
        gt=0, max_digits=NET_CONTENT_DIGITS.total, decimal_places=NET_CONTENT_DIGITS.places
    )
    net_unit: NetUnitText
    perishable: bool = False
    on_sale_since: TrimmedInstant
    # One line too: NUL was stored by SQLite and refused by PostgreSQL as a generic error.
    # Empty or blanks: no page, as a product file's empty column. Held to the request,
    # not to `Product`: a product stored with `""` before this rule reads as it was
    # drawn until its next write records the change.
    web_url: OrAbsent[TrimmedOneLine[Annotated[str, Field(max_length=WEB_URL_LENGTH)]]] = None
    unit_price_per_100: bool = False


class ProductOut(RowOut):
    sku: str
    name: str
    brand: str
    gtin: str
    category: str
    vat_rate: Decimal
    net_content: Decimal
    net_unit: str
    perishable: bool
    on_sale_since: datetime
    web_url: str | None
    unit_price_per_100: bool


class PriceRuleOut(RowOut):
    id: str
    sku: str
    amount: Decimal
    currency: str
    channel: str | None
    zone: str | None
    store: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    publication_id: int | None


class PromotionOut(BaseModel):
    id: str
    name: str
    kind: str
    skus: list[str]
    categories: list[str]
    channels: list[str]
    zones: list[str]
    stores: list[str]
    percent: Decimal | None
    amount: Decimal | None
    currency: str | None
    quantity: int | None
    free_quantity: int | None
    priority: int
    exclusive: bool
    valid_from: datetime | None
    valid_until: datetime | None


class LedgerEntryOut(RowOut):
    sku: str
    channel: str
    store: str
    effective_at: datetime
    amount: Decimal | None = Field(
        description="Null with `regular_amount` and `currency`: a withdrawal, the key had "
        "no price from `effective_at` on (delisted, or its price ended without a "
        "successor); nothing charged then counts towards a 30-day low."
    )
    regular_amount: Decimal | None
    currency: str | None
    promotion_id: str | None
    card_amount: Decimal | None = Field(
        default=None,
        description="The lower price loyalty-card holders paid from `effective_at` on (a "
        "card price), which counts in the 30-day low of a later card price; null when they "
        "paid `amount`, or for entries recorded before card prices were (no card price known).",
    )
    source: str
    publication_id: int | None
    recorded_at: datetime


ChannelWord = Literal["store", "web", "app"]
Channel = Annotated[ChannelWord, _spelled(get_args(ChannelWord)), Field(description=_ANY_CASE)]
PromotionKindWord = Literal[
    "percent_off", "amount_off", "fixed_price", "multi_buy", "buy_n_get_m", "loyalty_price"
]
PromotionKindName = Annotated[
    PromotionKindWord, _spelled(get_args(PromotionKindWord)), Field(description=_ANY_CASE)
]
Code = Trimmed[Annotated[str, Field(min_length=1, max_length=32)]]
# A promotion's target category: a product's category, one line of at most its length
# (every target is stored in promotion_targets; PostgreSQL refuses a longer one on
# publish, SQLite would keep a target no product can have).
CategoryName = Named[Annotated[str, Field(min_length=1, max_length=CATEGORY_LENGTH)]]
# A SKU referred to, not created: any stored SKU, those stored before the spelling rule
# (`esl.skus`: 'MLEKO-Ł', 'MLK 2') too, so their prices, promotions and labels can still
# be changed; one that names no product is refused as unknown where it is used.
SkuReference = TrimmedOneLine[Annotated[str, Field(min_length=1, max_length=SKU_LENGTH)]]
Amount = Annotated[DecimalText, Field(gt=0, max_digits=12, decimal_places=4)]


def _currency_code(value: object) -> object:
    # As a price or promotion file reads its currency cell (`parse_currency`): blanks
    # around it trimmed, any case. A code is letters, so " pln" can mean only PLN; which
    # codes are taken (the system's only) is the service's check, the files' too.
    return trim_blanks(value).upper() if isinstance(value, str) else value


CurrencyCode = Annotated[
    Annotated[str, Field(min_length=3, max_length=3)],
    BeforeValidator(_currency_code),
    Field(
        description="The ISO 4217 code, the system's (ESL_CURRENCY) only; left out: the "
        "system's. Blanks around it are trimmed and lower case is read as upper case "
        "(`pln` is PLN), as the price and promotion files read it."
    ),
]


class _PriceScopeIn(RequestBody):
    sku: SkuReference
    # Where it applies: left out (or null) is everywhere; a blank one is refused, not
    # read as absent as the rest are: a client's blank never widens a price to the chain.
    channel: Channel | None = None
    zone: Code | None = None
    store: Code | None = None


class SetPriceItemIn(_PriceScopeIn):
    """A regular price in a scope (no zone and no store: national), from the effective
    instant until `valid_until` (unset: until changed)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"action": "set_price", "sku": "MLK-1", "zone": "north", "amount": "3.29"}]
        },
    )
    action: Literal["set_price"]
    amount: Amount = Field(description="Gross, at most as many decimals as the currency has.")
    currency: OrAbsent[CurrencyCode] = None
    valid_until: Annotated[Instant | None, _refused_if_blank("no end")] = None

    def to_command(self) -> SetPrice:
        return SetPrice(
            sku=self.sku,
            amount=self.amount,
            channel=_channel(self.channel),
            zone=self.zone,
            store=self.store,
            currency=self.currency,
            valid_until=self.valid_until,
        )


class EndPriceItemIn(_PriceScopeIn):
    """End the price rule in force in this scope at the effective instant."""

    action: Literal["end_price"]

    def to_command(self) -> EndPrice:
        return EndPrice(
            sku=self.sku, channel=_channel(self.channel), zone=self.zone, store=self.store
        )


class UpsertPromotionItemIn(RequestBody):
    """Add a promotion, or replace one that has not started yet."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "upsert_promotion",
                    "promotion_id": "BW-15",
                    "name": "Black Week -15 %",
                    "kind": "percent_off",
                    "percent": "15",
                    "categories": ["dairy"],
                }
            ]
        },
    )
    action: Literal["upsert_promotion"]
    promotion_id: NewPromotionId
    # Null or left out: named by its id. Blanks only, or "", are refused as a promotion
    # file's empty name is (a label would draw nothing, or the id, by the way it came).
    name: Named[Annotated[str, Field(min_length=1, max_length=PROMOTION_NAME_LENGTH)]] | None = None
    kind: PromotionKindName
    # Empty lists: everywhere. A blank item is refused, not dropped as a file's empty
    # cell is: `[" "]` read as none would widen a one-store promotion to the chain.
    skus: list[SkuReference] = Field(default_factory=list, max_length=10_000)
    categories: list[CategoryName] = Field(default_factory=list, max_length=1_000)
    channels: list[Channel] = Field(default_factory=list, max_length=3)
    zones: list[Code] = Field(default_factory=list, max_length=1_000)
    stores: list[Code] = Field(default_factory=list, max_length=10_000)
    percent: OrAbsent[DecimalText] = Field(
        default=None, max_digits=PERCENT_DIGITS.total, decimal_places=PERCENT_DIGITS.places
    )
    amount: OrAbsent[Amount] = None
    currency: OrAbsent[CurrencyCode] = None
    # Strict: JSON `true` is no quantity (pydantic would take it as 1).
    quantity: StrictInt | None = Field(default=None, ge=MIN_PROMOTION_COUNT, le=MAX_PROMOTION_COUNT)
    free_quantity: StrictInt | None = Field(
        default=None, ge=MIN_PROMOTION_COUNT, le=MAX_PROMOTION_COUNT
    )
    priority: StrictInt = Field(default=0, ge=MIN_PROMOTION_PRIORITY, le=MAX_PROMOTION_PRIORITY)
    exclusive: bool = False
    valid_from: Annotated[Instant | None, _refused_if_blank("the publication's instant")] = None
    valid_until: Annotated[Instant | None, _refused_if_blank("no end")] = None

    def to_command(self) -> UpsertPromotion:
        return UpsertPromotion(
            promotion_id=self.promotion_id,
            kind=PromotionKind(self.kind),
            name=self.name,
            skus=tuple(self.skus),
            categories=tuple(self.categories),
            channels=tuple(ChannelValue(c) for c in self.channels),
            zones=tuple(self.zones),
            stores=tuple(self.stores),
            percent=self.percent,
            amount=self.amount,
            currency=self.currency,
            quantity=self.quantity,
            free_quantity=self.free_quantity,
            priority=self.priority,
            exclusive=self.exclusive,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


class EndPromotionItemIn(RequestBody):
    """End a running promotion at the effective instant (or drop one not yet started)."""

    action: Literal["end_promotion"]
    # Any stored id, one stored before the id rule (`esl.promotion_ids`: "LATO ") too, so
    # it can still be ended; one that names no promotion is refused as unknown.
    promotion_id: str = Field(min_length=1, max_length=PROMOTION_ID_LENGTH)

    def to_command(self) -> EndPromotion:
        return EndPromotion(promotion_id=self.promotion_id)


def _channel(name: Channel | None) -> ChannelValue | None:
    return ChannelValue(name) if name is not None else None


# Each action's required fields are the schema's business, not discovered in the service.
PublicationItemIn = Annotated[
    SetPriceItemIn | EndPriceItemIn | UpsertPromotionItemIn | EndPromotionItemIn,
    Field(discriminator="action"),
]


class PublicationIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Weekend coffee",
                    "effective_at": "2026-05-02T00:00:00+02:00",
                    "items": [
                        {"action": "set_price", "sku": "CFE-1", "zone": "north", "amount": "54.99"},
                        {"action": "end_promotion", "promotion_id": "DAIRY-10"},
                    ],
                }
            ]
        },
    )
    title: NotBlank[TrimmedText] = Field(min_length=1, max_length=PUBLICATION_TITLE_LENGTH)
    effective_at: Instant | None = Field(
        default=None, description="When the changes take effect; unset means when published."
    )
    items: list[PublicationItemIn] = Field(min_length=1, max_length=10_000)

    def commands(self) -> list[PublicationCommand]:
        """The items as the service's commands, in order."""
        return [item.to_command() for item in self.items]


class PublicationOut(RowOut):
    id: int
    title: str
    kind: str
    status: str
    created_by: str
    created_at: datetime
    effective_at: datetime | None
    validated_at: datetime | None
    published_at: datetime | None
    published_by: str | None
    problems: list[dict[str, Any]]
    impact: dict[str, Any] | None
    items: list[dict[str, Any]] = Field(default_factory=list)


class LabelModelIn(RequestBody):
    width: StrictInt = Field(ge=8, le=4096)
    height: StrictInt = Field(ge=8, le=4096)
    accent_colour: str | None = Field(default=None, max_length=16)


class LabelModelOut(RowOut):
    id: str
    width: int
    height: int
    accent_colour: str | None


TransportWord = Literal["mqtt", "ble"]


class GatewayIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"store": "S01", "transport": "mqtt", "name": "Oliwa, sales floor"}]
        },
    )
    # Trimmed as every text an admin sends: " S01" is the store S01 (a store file's
    # cell is read so), " Oliwa " is named Oliwa; a name of blanks only is refused.
    store: Code
    transport: Annotated[
        TransportWord, _spelled(get_args(TransportWord)), Field(description=_ANY_CASE)
    ]
    name: Named[Annotated[str, Field(min_length=1, max_length=128)]]


class GatewayOut(RowOut):
    id: str
    store: str
    transport: str
    name: str


class LabelIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "S01-gw1-00001", "store": "S01", "model": "2.9-bwr", "gateway": "GW1"}
            ]
        },
    )
    id: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$",
        description="1-32 of A-Z a-z 0-9 . _ : -: every frame of the wire protocol names it",
    )
    # Trimmed as every store and name an operator sends (docs/api.md, blanks): " S01" is
    # the store S01, as in a gateway's body and the store file.
    store: Code
    model: Code
    gateway: str | None = Field(default=None, max_length=64, pattern=GATEWAY_ID_PATTERN)
    pairing_code: str | None = Field(
        default=None,
        max_length=128,
        description="A BLE label's printed out-of-band pairing code (eslpair:..., "
        "docs/ble.md): association then pairs with it, so only that label gets its key.",
    )

    @field_validator("pairing_code")
    @classmethod
    def _readable_pairing_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(PairingCode.parse(value))
        except PairingCodeError as error:
            raise ValueError(error.message) from None


class BindingIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sku": "MLK-1", "template": "standard"}]}
    )
    sku: SkuReference
    template: Trimmed[Annotated[str, Field(min_length=1, max_length=64)]] = "standard"


class TemplateOut(RowOut):
    name: str
    version: int
    size_class: str | None
    definition: dict[str, Any]
    updated_at: datetime
    updated_by: str


class BindingOut(RowOut):
    label_id: str
    sku: str
    template: str
    bound_at: datetime
    bound_by: str
    unbound_at: datetime | None


class LabelOut(RowOut):
    id: str
    store: str
    model: str
    gateway: str | None
    registered_at: datetime
    pairing_code: str | None = None
    binding: BindingOut | None = None
    retired_at: datetime | None = Field(
        default=None,
        description="When it was retired (broken, thrown away: POST /labels/{id}/retire); "
        "null: in service",
    )
    retired_by: str | None = None


class PromotionSummaryOut(BaseModel):
    id: str
    name: str
    kind: str
    text: str | None = Field(
        description="What a label or page shows of the offer; null for a reduction that "
        "may not be announced (not below the 30-day prior price)."
    )
    valid_until: datetime | None
    effective_unit_price: Decimal
    min_quantity: int
    loyalty_only: bool
    offer_unit_price: Decimal | None = Field(
        default=None,
        description="Multi-buy and loyalty offers: the unit price (per `unit_label`) under "
        "the offer; `unit_price` beside it is a single item's.",
    )


class QuoteOut(BaseModel):
    sku: str
    channel: str
    store: str
    at: datetime
    currency: str
    regular_price: Decimal
    price: Decimal
    promotion: PromotionSummaryOut | None
    announces_reduction: bool = Field(
        description="True when the price may be announced as a reduction (badge, colour, "
        "struck-through price, percentage): it is below `prior_price` (see "
        "`prior_price_basis`), which must then be shown, and `saving` and "
        "`saving_percent` are measured from it. False: show the price plainly."
    )
    prior_price: Decimal | None
    shows_prior_price: bool = Field(
        description="True when a shelf label prints `prior_price` (its prior-price line): "
        "beside an announced reduction, and beside a loyalty-card price that has a prior "
        "price. False: the label prints none, though `prior_price` may be set (a "
        "reduction that saves nothing against it is shown as a plain price)."
    )
    prior_price_basis: PriorPriceBasis | None = Field(
        description="Which rule gave `prior_price`, and so what to call it: "
        "`lowest_30_days`, the lowest price of the 30 days before the reduction; "
        "`lowest_since_on_sale`, for a product on sale for less than 30 days, the lowest "
        "since it went on sale (PL art. 4 ust. 3); `before_first_reduction`, a "
        "perishable product's price before its first reduction (PL art. 4 ust. 4). Only "
        "`lowest_30_days` may be called a 30-day low. Null without a prior price.",
    )
    saving: Decimal | None
    saving_percent: Decimal | None
    unit_price: Decimal | None
    unit_label: str | None
    price_rule_id: str
    price_scope: str
    fingerprint: str
