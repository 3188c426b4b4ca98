"""Zones, stores, products and label models: reference data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.api.dependencies import Admin, ApiContext, Ctx, CurrentSession, PricingTeam, Reader
from esl.api.pagination import Pages, paginate, where_given
from esl.api.schemas import (
    LabelModelIn,
    LabelModelOut,
    Page,
    ProductIn,
    ProductOut,
    StoreIn,
    StoreOut,
    ZoneIn,
    ZoneOut,
)
from esl.case_twins import stored_case_twin, twin_refusal
from esl.db.mapping import product_values
from esl.db.models import LabelModelRow, ProductRow, StoreRow, ZoneRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import ConflictError, InvalidItemError, NotFoundError
from esl.one_line_text import OneLineText
from esl.planning_queue import ShelvesAt, category_promotion_instants, record_published_change
from esl.services.keys import Principal
from esl.services.label_models import put_label_model as put_model
from esl.services.ledger_instants import begin_price_write
from esl.services.product_codes import gtin_clashes
from esl.services.products import (
    on_sale_since_refusals,
    record_category_moves,
    record_product_versions,
    sku_reuses,
)
from esl.services.stores import save_stores
from esl.services.zones import save_zone
from esl.skus import SKU_SPELLING, is_sku_text
from esl.text_lengths import SKU_LENGTH
from pricing.products import NetUnit, Product, Store

__all__ = ["router"]

router = APIRouter()
CodePath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]
# A store's code is a part of its gateways' MQTT topics (`gateways.mqtt.topics`): no '.'.
StoreCodePath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
# Any stored SKU, those stored before the spelling rule too (`esl.skus`): a new product's
# SKU is held to the rule where it is created (`put_product`).
SkuPath = Annotated[OneLineText, Path(min_length=1, max_length=SKU_LENGTH)]


@router.get("/zones", response_model=Page[ZoneOut], tags=["catalogue"])
def list_zones(session: CurrentSession, _: Reader, page: Pages) -> dict[str, Any]:
    """Every pricing zone (any role)."""
    return paginate(session, select(ZoneRow).order_by(ZoneRow.code), page, ZoneOut.model_validate)


@router.put("/zones/{code}", response_model=ZoneOut, tags=["catalogue"])
def put_zone(code: CodePath, body: ZoneIn, session: CurrentSession, _: Admin) -> ZoneRow:
    """Create a zone or rename it (admin)."""
    return save_zone(session, code=code, name=body.name)


@router.get("/stores", response_model=Page[StoreOut], tags=["catalogue"])
def list_stores(session: CurrentSession, _: Reader, page: Pages) -> dict[str, Any]:
    """Every store with its zone (any role)."""
    statement = select(StoreRow).order_by(StoreRow.code)
    return paginate(session, statement, page, StoreOut.model_validate)


@router.get("/stores/{code}", response_model=StoreOut, tags=["catalogue"])
def get_store(code: CodePath, session: CurrentSession, _: Reader) -> StoreRow:
    """One store by its code."""
    row = row_or_not_found(session, StoreRow, code, "store")
    return row


@router.put("/stores/{code}", response_model=StoreOut, tags=["catalogue"])
def put_store(
    code: StoreCodePath, body: StoreIn, ctx: Ctx, session: CurrentSession, who: Admin
) -> StoreRow:
    """Create a store or change its name, zone, time zone or opening (admin). A new
    code differing from a stored one only in case is refused (409), naming it."""
    if session.get(StoreRow, code) is None and (
        twin := stored_case_twin(session, StoreRow.code, code)
    ):
        raise ConflictError(twin_refusal(code, twin, "store code"), field="code")
    if body.zone is not None and session.get(ZoneRow, body.zone) is None:
        raise NotFoundError("zone", body.zone)
    save_stores(
        session,
        [
            Store(
                code=code,
                name=body.name,
                zone=body.zone,
                time_zone=body.time_zone,
                opened=body.opened,
            )
        ],
        title=f"store {code}",
        kind="catalogue",
        by=who.name,
        now=ctx.clock,  # read once the price writers' lock is held
        currency=ctx.settings.currency,
        impact={"store": code},
    )
    row = session.get(StoreRow, code)
    assert row is not None  # saved just now
    return row


@router.get("/products", response_model=Page[ProductOut], tags=["catalogue"])
def list_products(
    session: CurrentSession, _: Reader, page: Pages, category: str | None = None
) -> dict[str, Any]:
    """Product master data, a page at a time; filter by category."""
    statement = where_given(
        select(ProductRow).order_by(ProductRow.sku), (ProductRow.category, category)
    )
    return paginate(session, statement, page, ProductOut.model_validate)


@router.get("/products/{sku}", response_model=ProductOut, tags=["catalogue"])
def get_product(sku: SkuPath, session: CurrentSession, _: Reader) -> ProductRow:
    """One product by SKU."""
    row = row_or_not_found(session, ProductRow, sku, "product")
    return row


@router.put("/products/{sku}", response_model=ProductOut, tags=["catalogue"])
def put_product(
    sku: SkuPath, body: ProductIn, ctx: Ctx, session: CurrentSession, who: PricingTeam
) -> ProductRow:
    """Create or replace a product's master data (pricing team). A new SKU is spelled as
    `esl.skus` says, and may not differ from a stored one only in case (409, naming it);
    one stored before those rules is still replaced."""
    row = session.get(ProductRow, sku)
    if row is None and not is_sku_text(sku):
        raise InvalidItemError(f"sku {sku!r}: {SKU_SPELLING}", field="sku")
    # 'mlk-1' beside 'MLK-1' would be a product no file can price (`esl.case_twins`).
    if row is None and (twin := stored_case_twin(session, ProductRow.sku, sku)):
        raise ConflictError(twin_refusal(sku, twin, "SKU"), field="sku")
    # The engine's own checks (GTIN, VAT, units) raise PricingError: a 422 like any other.
    product = Product(sku=sku, **{**body.model_dump(), "net_unit": NetUnit(body.net_unit)})
    # A scanned barcode binds a label to the product it names: one GTIN, one product.
    if clash := gtin_clashes(session, {sku: product.gtin or ""}).get(sku):
        raise ConflictError(clash, field="gtin")
    # A SKU re-used for another product (its GTIN, on sale after the old one sold) starts
    # its ledger then; any other product (one not sold yet, its launch postponed) keeps
    # the start it has.
    reused = sku_reuses(
        session,
        {sku: (product.gtin, product.on_sale_since)},
        {sku: (row.gtin, row.on_sale_since)} if row is not None else {},
        now=ctx.clock(),
    )
    if row is not None:
        product = replace(product, ledger_since=reused.get(sku, row.ledger_since))
    values = product_values(product)
    # The 30-day prior price counts the ledger from `on_sale_since`: a stored product's
    # date is not moved past prices the ledger shows it charged (its own prices).
    stored = {sku: row.on_sale_since} if row is not None and sku not in reused else {}
    late = on_sale_since_refusals(
        session, {sku: product.on_sale_since}, stored, now=ctx.clock()
    ).get(sku)
    if late:
        raise InvalidItemError(late, field="on_sale_since", sku=sku)
    row = row or ProductRow(sku=sku)
    created = row.name is None
    changed = not created and any(getattr(row, n) != v for n, v in values.items())
    category_before = row.category
    moved = changed and category_before != product.category
    # A price writer when it moves the product (categories carry promotions): the instants
    # already due are recorded in the category that stood then, and the clock is read once
    # the lock is held.
    now = (
        begin_price_write(session, now=ctx.clock, currency=ctx.settings.currency)
        if moved
        else ctx.clock()
    )
    # Put into (or taken out of) a category: its promotions' later starts and ends
    # change this product's price too.
    later = (
        category_promotion_instants(session, {sku: {row.category, product.category}}, after=now)
        if created or moved
        else {}
    )
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    if created or changed:
        session.flush()  # the product, before its version names it
        # As it is from now on: a past instant is priced with it as it was then.
        record_product_versions(session, [values], valid_from=now)
    if changed or later:
        # Its labels draw its name, unit price and prior-price rules: planned again.
        publication_id = _replan(
            session, ctx, who, "product", sku, everywhere=[sku] if changed else [], later=later
        )
        if moved:
            # The Omnibus ledger: its prices changed at the move, in every store and channel.
            record_category_moves(
                session,
                {sku: category_before},
                at=now,
                currency=ctx.settings.currency,
                publication_id=publication_id,
            )
    return row


def _replan(
    session: Session,
    ctx: ApiContext,
    who: Principal,
    entity: str,
    key: str,
    *,
    shelves: Iterable[tuple[str, str]] = (),
    everywhere: Iterable[str] = (),
    later: Mapping[datetime, ShelvesAt] | None = None,
) -> int:
    """Hand the labels a changed store or product reaches to planning, now and at `later`
    instants, recorded as a catalogue publication by `who`; its id."""
    return record_published_change(
        session,
        title=f"{entity} {key}",
        kind="catalogue",
        by=who.name,
        now=ctx.clock(),
        impact={entity: key},
        shelves=shelves,
        everywhere=everywhere,
        later=later,
    )


@router.get("/label-models", response_model=Page[LabelModelOut], tags=["labels"])
def list_label_models(session: CurrentSession, _: Reader, page: Pages) -> dict[str, Any]:
    """The display models labels can have."""
    statement = select(LabelModelRow).order_by(LabelModelRow.id)
    return paginate(session, statement, page, LabelModelOut.model_validate)


@router.put("/label-models/{model_id}", response_model=LabelModelOut, tags=["labels"])
def put_label_model(
    model_id: CodePath, body: LabelModelIn, session: CurrentSession, _: Admin
) -> LabelModelRow:
    """Register a display model the renderer draws, with its size and accent colour as
    the renderer draws them (admin); another model, size or colour is 422."""
    return put_model(
        session,
        model_id,
        width=body.width,
        height=body.height,
        accent_colour=body.accent_colour,
    )
