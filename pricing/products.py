"""What the engine knows about products, stores and sales channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pricing.errors import InvalidProductError, UnknownUnitError
from pricing.gtin import require_valid_gtin
from pricing.windows import in_utc

__all__ = ["Channel", "NetUnit", "Product", "Store", "label_time_zone"]


class Channel(StrEnum):
    """Where the customer meets the price."""

    STORE = "store"
    WEB = "web"
    APP = "app"


class NetUnit(StrEnum):
    """Unit of a product's declared net content."""

    G = "g"
    KG = "kg"
    ML = "ml"
    L = "l"
    M = "m"
    PCS = "pcs"

    @classmethod
    def parse(cls, value: str) -> NetUnit:
        """`NetUnit.parse("kg")`; anything else raises `UnknownUnitError`."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise UnknownUnitError(f"unknown net-content unit {value!r}", unit=value) from None


@dataclass(frozen=True, slots=True)
class Product:
    """Product facts a price or a shelf label needs.

    `perishable` marks goods that spoil quickly or are short-dated: for them the prior
    price shown next to a reduction is the price before the first reduction.
    `unit_price_per_100` asks for unit prices per 100 g / 100 ml instead of per kg / l.
    `ledger_since`: set on a SKU re-used for this product (another product had it before):
    the price ledger of its SKU is this product's from that instant on, the earlier entries
    the other product's, which this one was never sold at; None: all of it.
    `web_url`: the product's page (a label's QR code), None when it has none (the API and
    a product file both read an empty one as none).
    `recorded_since`: since when this installation has recorded the product's prices (its
    creation here): a product on sale before then sold at prices its ledger holds only
    where imported history gives them (`pricing.ledger.sold_before_its_ledger`); None:
    all it sold at is recorded (a product stored before migration 0048, the sample's).
    """

    sku: str
    name: str
    brand: str
    gtin: str
    category: str
    vat_rate: Decimal
    net_content: Decimal
    net_unit: NetUnit
    perishable: bool
    on_sale_since: datetime
    web_url: str | None = None
    unit_price_per_100: bool = False
    ledger_since: datetime | None = None
    recorded_since: datetime | None = None

    def __post_init__(self) -> None:
        if not self.sku:
            raise InvalidProductError("a product needs a SKU", sku=self.sku, field="sku")
        if not isinstance(self.net_unit, NetUnit):
            object.__setattr__(self, "net_unit", NetUnit.parse(str(self.net_unit)))
        if not isinstance(self.net_content, Decimal) or not self.net_content > 0:
            raise InvalidProductError(
                f"{self.sku}: net content must be a positive Decimal, got {self.net_content!r}",
                sku=self.sku,
                field="net_content",
            )
        if not isinstance(self.vat_rate, Decimal) or not Decimal(0) <= self.vat_rate < 100:
            raise InvalidProductError(
                f"{self.sku}: VAT rate is a percentage in [0, 100), got {self.vat_rate!r}",
                sku=self.sku,
                field="vat_rate",
            )
        if self.gtin:
            require_valid_gtin(self.gtin, sku=self.sku)
        if self.unit_price_per_100 and self.net_unit not in (
            NetUnit.G,
            NetUnit.KG,
            NetUnit.ML,
            NetUnit.L,
        ):
            raise InvalidProductError(
                f"{self.sku}: per-100 unit prices exist only for g and ml",
                sku=self.sku,
                field="unit_price_per_100",
            )
        on_sale_since = in_utc(self.on_sale_since, field="on_sale_since")
        if on_sale_since is not self.on_sale_since:
            object.__setattr__(self, "on_sale_since", on_sale_since)
        if self.ledger_since is not None:
            ledger_since = in_utc(self.ledger_since, field="ledger_since")
            if ledger_since is not self.ledger_since:
                object.__setattr__(self, "ledger_since", ledger_since)
        if self.recorded_since is not None:
            recorded_since = in_utc(self.recorded_since, field="recorded_since")
            if recorded_since is not self.recorded_since:
                object.__setattr__(self, "recorded_since", recorded_since)


@dataclass(frozen=True, slots=True)
class Store:
    """A store, optionally in a price zone (a named group of stores sharing prices), and
    the IANA time zone its labels date in (None: the installation's).

    `opened`: since when the store sells (given by the retailer, else its creation, moved
    back by imported price history of its shelves); None: as far back as anyone knows. A
    shelf of a store opened after its product went on sale has been selling it only since
    the opening (`pricing.ledger.key_on_sale_since`).
    `recorded_since`: since when this installation has recorded the store's prices (its
    creation here): a shelf opened before then sold at prices its ledger holds only where
    imported history gives them (`pricing.ledger.sold_before_its_ledger`); None: all its
    shelves sold at is recorded (a store stored before migration 0048, the sample's)."""

    code: str
    name: str
    zone: str | None = None
    time_zone: str | None = None
    opened: datetime | None = None
    recorded_since: datetime | None = None

    def __post_init__(self) -> None:
        for field in ("opened", "recorded_since"):
            value = getattr(self, field)
            if value is not None:
                in_zone = in_utc(value, field=field)
                if in_zone is not value:
                    object.__setattr__(self, field, in_zone)


def label_time_zone(store: Store | None, installation: str | None) -> str | None:
    """The IANA zone a label of `store` dates in: the store's, else the installation's
    (`installation`; None: the locale's, `rendering.locale_zones.locale_time_zone`,
    which `esl.settings.Settings` makes sure exists where `ESL_TIME_ZONE` is unset)."""
    return (store.time_zone if store is not None else None) or installation
