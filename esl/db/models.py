"""The store of record as SQLAlchemy 2.0 typed models.

Rows are persistence only: `esl.db.mapping` turns them into the pricing engine's frozen
values and back, so nothing outside `esl/` ever sees an ORM object.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from esl.db.types import ExactDecimal, UtcDateTime
from esl.text_lengths import (
    API_KEY_NAME_LENGTH,
    BRAND_LENGTH,
    CATEGORY_LENGTH,
    PRINCIPAL_LENGTH,
    PRODUCT_NAME_LENGTH,
    PROMOTION_ID_LENGTH,
    PROMOTION_NAME_LENGTH,
    PUBLICATION_TITLE_LENGTH,
    SKU_LENGTH,
    STORE_NAME_LENGTH,
    WEB_URL_LENGTH,
)

__all__ = [
    "GATEWAY_REASON_CHARS",
    "PARKED_DETAIL_CHARS",
    "UNPLANNED_REASON_CHARS",
    "ApiKeyRow",
    "Base",
    "ChannelRow",
    "GatewayRow",
    "GatewayStateRow",
    "LabelAcknowledgementRow",
    "LabelBindingRow",
    "LabelModelRow",
    "LabelRow",
    "LabelStateRow",
    "LedgerEntryRow",
    "LedgerInstantRow",
    "OutboxRow",
    "PlannedPublicationRow",
    "PlanningQueueRow",
    "PlanningQueueShelfRow",
    "PriceRuleRow",
    "PriceRuleVersionRow",
    "ProductRow",
    "ProductVersionRow",
    "PromotionRow",
    "PromotionTargetRow",
    "PromotionVersionRow",
    "PublicationItemRow",
    "PublicationRow",
    "RenderedContentRow",
    "SecurityEventRow",
    "StoreRow",
    "StoreVersionRow",
    "ZoneRow",
    "core_table",
]

# Named constraints so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Serial = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ChannelRow(Base):
    __tablename__ = "channels"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


class ZoneRow(Base):
    __tablename__ = "price_zones"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))


class StoreRow(Base):
    __tablename__ = "stores"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(STORE_NAME_LENGTH))
    zone: Mapped[str | None] = mapped_column(ForeignKey("price_zones.code"), index=True)
    # IANA zone its labels date in (a promotion's last day); NULL: the installation's.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Since when it sells (`pricing.Store.opened`): given when it was created (else its
    # creation), moved back by imported history of its shelves; NULL: always, as far as
    # anyone knows (a store written without `esl.services.stores`, before migration 0029).
    opened: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Since when this installation records its prices: its creation here
    # (`pricing.Store.recorded_since`); NULL: stored before migration 0048, or seeded with
    # its complete history.
    recorded_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class StoreVersionRow(Base):
    """A store as it was from `valid_from` until its next version: its name, price zone,
    time zone and opening then, so an audit of a past instant prices and dates its labels as
    then (a store moved to another zone since is priced in its zone then). Written with
    every store created or changed (`esl.services.stores.save_stores`, the demo's
    seeding); migration 0029 gave each store stored then a version valid since the
    epoch. A store without versions is, as far as anyone knows, as it is now."""

    __tablename__ = "store_versions"

    store: Mapped[str] = mapped_column(ForeignKey("stores.code"), primary_key=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    name: Mapped[str] = mapped_column(String(STORE_NAME_LENGTH))
    zone: Mapped[str | None] = mapped_column(ForeignKey("price_zones.code"))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Its opening then (`stores.opened`; migration 0049: a version stored before has the
    # store's opening as it was at the migration): an opening moved earlier keeps the one
    # before, which the audit dates a prior-price problem by (`esl.audit.known_prior`).
    opened: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class ProductFacts:
    """The columns of a product's facts, in `products` and, as they were, in
    `product_versions`: one list, so a fact added to a product is kept in its versions."""

    name: Mapped[str] = mapped_column(String(PRODUCT_NAME_LENGTH))
    brand: Mapped[str] = mapped_column(String(BRAND_LENGTH))
    gtin: Mapped[str] = mapped_column(String(14))
    category: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    vat_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    net_content: Mapped[Decimal] = mapped_column(ExactDecimal())
    net_unit: Mapped[str] = mapped_column(String(8))
    perishable: Mapped[bool] = mapped_column(Boolean)
    on_sale_since: Mapped[datetime] = mapped_column(UtcDateTime())
    web_url: Mapped[str | None] = mapped_column(String(WEB_URL_LENGTH))
    unit_price_per_100: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set on a SKU re-used for this product: its ledger before is another product's
    # (`pricing.products.Product.ledger_since`; migration 0039).
    ledger_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # Since when this installation records its prices: its creation here, the same in
    # every version (`pricing.Product.recorded_since`; migration 0048); NULL: stored
    # before, or seeded with its complete history.
    recorded_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class ProductRow(ProductFacts, Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(SKU_LENGTH), primary_key=True)


class ProductVersionRow(ProductFacts, Base):
    """A product's facts as they were from `valid_from` until its next version (category,
    net content and unit, perishable, on sale since, and what else its label draws), so an
    audit or a quote of a past instant prices it as then: a product moved to another
    category since was reduced by its category's promotions then, a pack size put right
    since had its unit price then. Written with every product created or changed (`esl
    import products`, PUT /api/v1/products, the demo's seeding: `record_product_versions`);
    migration 0037 gave each product stored then a version valid since the epoch. A product
    without a version that early is, as far as anyone knows, as it is now."""

    __tablename__ = "product_versions"

    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)


class PriceRuleRow(Base):
    """A regular price in a scope (national, zone or store; one channel or all)."""

    __tablename__ = "price_rules"

    # "<sku>#<digest of scope and start>", see esl.imports.prices.price_rule_id
    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str | None] = mapped_column(ForeignKey("channels.code"))
    zone: Mapped[str | None] = mapped_column(ForeignKey("price_zones.code"))
    store: Mapped[str | None] = mapped_column(ForeignKey("stores.code"))
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))


class PromotionRow(Base):
    """A promotion; what it targets and where it applies are rows of `promotion_targets`."""

    __tablename__ = "promotions"

    id: Mapped[str] = mapped_column(String(PROMOTION_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(PROMOTION_NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    # What the kind needs: a percentage, an amount or price, and quantities for multi-buys.
    percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[int | None] = mapped_column(Integer)
    free_quantity: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))


class PromotionTargetRow(Base):
    """One of a promotion's SKUs, categories, channels, zones or stores (`dimension`).

    Indexed by (dimension, value) so a quote finds the promotions of one SKU or category
    without reading the others.
    """

    __tablename__ = "promotion_targets"
    __table_args__ = (Index("ix_promotion_targets_lookup", "dimension", "value"),)

    promotion_id: Mapped[str] = mapped_column(
        ForeignKey("promotions.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)


class PriceRuleVersionRow(Base):
    """A price rule as the record held it from `recorded_at` (the instant it was written)
    until its next version; `removed`: deleted then (its amount NULL). An audit or a quote
    of a past instant prices with the rules as they were recorded then: a rule updated in
    place since (a price file row of the same identity) charged its amount then, and one
    written since with a start already passed did not exist then. Written with every rule
    created, changed or deleted, in the same transaction (`esl import prices`, a
    publication, the demo's seeding, the audit bench: `esl.services.rule_versions`);
    migration 0041 gave each rule stored then a version recorded since the epoch. A rule
    without any version is, as far as anyone knows, as it is now."""

    __tablename__ = "price_rule_versions"
    __table_args__ = (
        # A past instant reads the versions of a slice's SKUs recorded up to it.
        Index("ix_price_rule_versions_sku_recorded_at", "sku", "recorded_at"),
        # Every price writer reads the newest version recorded (`begin_price_write`).
        Index("ix_price_rule_versions_recorded_at", "recorded_at"),
    )

    # Two versions of one rule at one reading of the clock: the later id wins.
    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(96))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    removed: Mapped[bool] = mapped_column(Boolean)
    sku: Mapped[str] = mapped_column(String(SKU_LENGTH))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    currency: Mapped[str | None] = mapped_column(String(3))
    channel: Mapped[str | None] = mapped_column(String(16))
    zone: Mapped[str | None] = mapped_column(String(32))
    store: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PromotionVersionRow(Base):
    """A promotion, with its targets, as the record held it from `recorded_at` until its
    next version; `removed`: deleted then (its other columns NULL). Written with every
    promotion created, replaced or deleted (`esl import promotions`, a publication, the
    demo's seeding, the audit bench: `esl.services.rule_versions`); migration 0041 gave each
    promotion stored then a version recorded since the epoch. `targets`: its
    `promotion_targets` rows as [dimension, value] pairs (promotions are few: a past
    instant reads all their versions up to it)."""

    __tablename__ = "promotion_versions"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    promotion_id: Mapped[str] = mapped_column(String(PROMOTION_ID_LENGTH))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    removed: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(PROMOTION_NAME_LENGTH))
    kind: Mapped[str | None] = mapped_column(String(32))
    percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[int | None] = mapped_column(Integer)
    free_quantity: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int | None] = mapped_column(Integer)
    exclusive: Mapped[bool | None] = mapped_column(Boolean)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    targets: Mapped[list[list[str]] | None] = mapped_column(JSON)


class LedgerEntryRow(Base):
    """An applied price from its instant on: append-only, never updated or deleted once
    its instant has passed (one written ahead of its instant may be corrected when the
    instant arrives: docs/pricing.md)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        # Also the index a quote uses to read one key's history up to an instant.
        UniqueConstraint("sku", "channel", "store", "effective_at", name="uq_ledger_key_instant"),
        # Every price writer reads the newest entry recorded (`begin_price_write`).
        Index("ix_ledger_entries_recorded_at", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    channel: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    store: Mapped[str] = mapped_column(ForeignKey("stores.code"))
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # All three None: a withdrawal, the key had no price from `effective_at` on
    # (pricing.LedgerEntry.withdrawn); a withdrawn span charged nothing.
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    regular_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    currency: Mapped[str | None] = mapped_column(String(3))
    promotion_id: Mapped[str | None] = mapped_column(String(64))
    # The lower price loyalty-card holders paid meanwhile (`LedgerEntry.card_price`); NULL:
    # they paid `amount`, or, for rows written before migration 0043, no card price known.
    card_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    # "history" (imported, before installation), "publication", "import" (a price or
    # promotion file), "scheduled" (an instant that arrived by itself), "store" (a zone move)
    # or "product" (a category move)
    source: Mapped[str] = mapped_column(String(16))
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PublicationRow(Base):
    """The pricing team's unit of work: draft -> validated -> published (or rejected)."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(PUBLICATION_TITLE_LENGTH))
    kind: Mapped[str] = mapped_column(String(16), default="changes")
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(PRINCIPAL_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    effective_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    validated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    published_by: Mapped[str | None] = mapped_column(String(PRINCIPAL_LENGTH))
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    impact: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PublicationItemRow(Base):
    __tablename__ = "publication_items"
    __table_args__ = (UniqueConstraint("publication_id", "position", name="uq_item_position"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(API_KEY_NAME_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    store: Mapped[str | None] = mapped_column(ForeignKey("stores.code"))
    # sha256 of the token; the token itself is shown once, at creation, and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LabelModelRow(Base):
    __tablename__ = "label_models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    accent_colour: Mapped[str | None] = mapped_column(String(16))


class GatewayRow(Base):
    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store: Mapped[str] = mapped_column(ForeignKey("stores.code"), index=True)
    transport: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))


class LabelRow(Base):
    __tablename__ = "labels"
    # One label per BLE address a pairing code names: two codes naming one address mean
    # one of them is not what is printed on its label (concurrent registrations included).
    __table_args__ = (Index("uq_labels_pairing_address", "pairing_address", unique=True),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store: Mapped[str] = mapped_column(ForeignKey("stores.code"), index=True)
    model: Mapped[str] = mapped_column(ForeignKey("label_models.id"))
    gateway: Mapped[str | None] = mapped_column(ForeignKey("gateways.id"))
    # The label's own key for authenticated frames: the controller needs it in clear.
    secret_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A BLE label's printed out-of-band pairing code (`gateways.ble.pairing_code`, not a
    # secret): association pairs with it, so only that label is given its key.
    pairing_code: Mapped[str | None] = mapped_column(String(128))
    # The code's address, as `gateways.ble.pairing_code.bare_address` spells it.
    pairing_address: Mapped[str | None] = mapped_column(String(17))
    # Retired (broken, thrown away: `esl.services.labels.retire_label`): left out of the
    # audit, health, keep-alive pings and identification screens; its history stays.
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retired_by: Mapped[str | None] = mapped_column(String(128))


class LabelBindingRow(Base):
    """A label shows a product through a template; unbinding closes the row, keeping history."""

    __tablename__ = "label_bindings"
    __table_args__ = (
        Index(
            "uq_label_bindings_current",
            "label_id",
            unique=True,
            sqlite_where=text("unbound_at IS NULL"),
            postgresql_where=text("unbound_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"), index=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), index=True)
    template: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(UtcDateTime())
    bound_by: Mapped[str] = mapped_column(String(128))
    unbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


def core_table(model: type[Base]) -> Table:
    """The Core table of a model, for executemany inserts and updates without ORM objects."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


# ---------------------------------------------------------------- update pipeline (esl/pipeline)
# Owned by the update pipeline: what each label should show, what it confirmed, the durable
# outbox of signed frames, and the history of what labels said they displayed.


class RenderedContentRow(Base):
    """The planes of every image the pipeline sent, by content hash: later deltas' bases."""

    __tablename__ = "rendered_contents"

    content_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    black: Mapped[bytes] = mapped_column(LargeBinary)
    accent: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


UNPLANNED_REASON_CHARS = 500  # why a label could not be planned, cut to this


class LabelStateRow(Base):
    """One label as the pipeline knows it: desired content, confirmed content, health."""

    __tablename__ = "label_states"

    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"), primary_key=True)
    # The controller's sequence counter for this label: the last number it signed.
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    binding_id: Mapped[int | None] = mapped_column(Integer)
    # template | model | LabelContent.fingerprint of what the label should show.
    desired_key: Mapped[str | None] = mapped_column(String(160))
    desired_hash: Mapped[str | None] = mapped_column(String(32))
    desired_display_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The content of the last frame the label acknowledged (shown, or held for a flip).
    confirmed_hash: Mapped[str | None] = mapped_column(String(32))
    # What the label last said it shows.
    displayed_hash: Mapped[str | None] = mapped_column(String(32))
    can_schedule: Mapped[bool] = mapped_column(Boolean, default=True)
    battery_mv: Mapped[int | None] = mapped_column(Integer)
    rssi_dbm: Mapped[int | None] = mapped_column(Integer)
    temperature_tenths_c: Mapped[int | None] = mapped_column(Integer)
    firmware: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[int | None] = mapped_column(Integer)
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The newest displayed-content claim believed, as the label's own signed order
    # (sequence, label clock): an answer not newer than this is never applied.
    claim_sequence: Mapped[int] = mapped_column(BigInteger, server_default="0")
    claim_label_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The latest the label's clock ever read in an answer it signed (never goes back): an
    # answer signed before its clock was set back carries a time up to this, so only one
    # signed after it can prove the label's count went back (`counter_went_back`).
    latest_label_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The latest-signed word of the label not believed as its newest (older by its count
    # than the claim held, or a refusal of a frame it did not take) yet signed after that
    # claim: its clock reading, the panel it showed (NULL: blank) and when it arrived. An
    # answer signed before it showing another panel is not the label's newest word (a
    # label reset to factory after signing it), until a believed word passes it
    # (`answer_acceptance.signed_before_a_later_word`). NULL: none held.
    later_word_label_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    later_word_hash: Mapped[str | None] = mapped_column(String(32))
    later_word_heard_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The label's clock minus the controller's, in ms, as its newest fresh answer showed,
    # when off by more than the clock tolerance (None: right as far as known): a timed
    # image flips by that clock (`esl.services.panel_image`, `label_clocks`).
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The timed image the label acknowledged holding for a flip, and its instant on the
    # label's clock: a fact of the label, kept until a later believed answer shows it no
    # longer holds it (`esl.pipeline.held_flips`), whatever the plan says since. A flip
    # withdrawn while the label was out of reach still happens on the panel.
    held_hash: Mapped[str | None] = mapped_column(String(32))
    held_display_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Why the controller could not plan the content due now for the label's binding (no
    # price, a template of another size, a refused announcement, a render that failed),
    # as `esl health` and the audit report it; None once it is planned again. The label
    # keeps the image it shows, which `desired_hash` still names.
    unplanned_reason: Mapped[str | None] = mapped_column(String(UNPLANNED_REASON_CHARS))


PARKED_DETAIL_CHARS = 64  # what a parked reason leaves open, cut to this


class OutboxRow(Base):
    """A signed frame waiting for, or settled by, its label's acknowledgement.

    status: pending (due at `not_before`) -> sent -> acked | pending (retry) | parked;
    any open row -> superseded when newer content is planned for the label.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_open", "status", "gateway", "not_before"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"), index=True)
    store: Mapped[str] = mapped_column(String(64))
    gateway: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(32))
    base_hash: Mapped[str | None] = mapped_column(String(32))
    display_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The first send of this round of attempts (None: not sent since planned or revived):
    # what the wait for a frame its gateway reports queued counts from (migration 0042).
    first_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    parked_reason: Mapped[str | None] = mapped_column(String(64))  # a ParkReason
    # What the reason leaves open: the refusing reason code, the kind of tampering.
    parked_detail: Mapped[str | None] = mapped_column(String(PARKED_DETAIL_CHARS))
    # When it was parked (None: not parked, or parked before migration 0018).
    parked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LabelAcknowledgementRow(Base):
    """Verified label responses, check-ins and answers, each with what the record made of
    it: what the label showed at that instant as the pipeline took it (append-only; which
    are kept, `esl.pipeline.settlement`)."""

    __tablename__ = "label_acknowledgements"
    __table_args__ = (Index("ix_label_acknowledgements_label_at", "label_id", "at"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    # The image the label reported showing, when the record took it (`panel` reported).
    displayed_hash: Mapped[str | None] = mapped_column(String(32))
    acked_hash: Mapped[str | None] = mapped_column(String(32))  # the frame's, acknowledged
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    # What the record made of the word's panel (a `RecordedPanel`) and whether it took its
    # health (the label heard then); NULL in rows kept before migration 0046.
    panel: Mapped[str | None] = mapped_column(String(16))
    heard: Mapped[bool | None] = mapped_column(Boolean)


GATEWAY_REASON_CHARS = 128  # a gateway's own words on its status, cut to this


class GatewayStateRow(Base):
    """A store gateway's last reported status (MQTT: its retained status or last will)."""

    __tablename__ = "gateway_states"

    store: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(GATEWAY_REASON_CHARS))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlannedPublicationRow(Base):
    """A publication the pipeline has turned into outbox rows (so a restart does not redo it)."""

    __tablename__ = "planned_publications"

    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), primary_key=True)
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    labels: Mapped[int] = mapped_column(Integer)


class LedgerInstantRow(Base):
    """A scheduled publication whose instant the ledger has recorded: the entries of the
    prices that changed then were written with this row, in one transaction, so an
    instant is recorded exactly once (esl/services/ledger_instants.py)."""

    __tablename__ = "ledger_instants"

    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True
    )
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    entries: Mapped[int] = mapped_column(Integer)


class PlanningQueueRow(Base):
    """A publication handed to the pipeline, written in its publishing transaction: the
    controller plans what this queue holds (esl/planning_queue.py)."""

    __tablename__ = "planning_queue"

    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True
    )
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime())
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlanningQueueShelfRow(Base):
    """A shelf whose label a queued publication may change: a SKU in one store, or in
    every store (`store` None: a SKU a promotion item reaches)."""

    __tablename__ = "planning_queue_shelves"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    publication_id: Mapped[int] = mapped_column(
        ForeignKey("planning_queue.publication_id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64))
    store: Mapped[str | None] = mapped_column(String(64))


class SecurityEventRow(Base):
    """Evidence of an attack or a broken relay: a forged uplink, a frame the controller
    signed that a label received altered (health and the API count them). One row stands
    for the event at `at` and its `repeats` (same store, label and kind) up to `last_at`
    within an interval (migration 0023): a flood writes bounded rows; the last one's
    sequence and detail are kept beside the first's (0025)."""

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_at", "at"),
        Index("ix_security_events_key", "kind", "store", "label_id", "at"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    store: Mapped[str | None] = mapped_column(String(64))
    gateway: Mapped[str | None] = mapped_column(String(64))
    label_id: Mapped[str | None] = mapped_column(String(64))
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(String(256))
    repeats: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The event at `last_at`: its sequence and detail (migration 0025), so the newest
    # forgery of a flood is read, not only the first.
    last_sequence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_detail: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # The store of the registered label it names (migration 0038; `store` is the topic's):
    # an event of another store's label is that store's to read in full, and the topic's
    # store reads it without the label. None: no registered label, or a row from before.
    label_store: Mapped[str | None] = mapped_column(String(64), nullable=True)
