"""Zones, stores, products and label models: reference data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select

from esl.api.dependencies import Admin, Ctx, CurrentSession, PricingTeam, Reader
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
from esl.blanks import trim_blanks
from esl.case_twins import stored_case_twin, twin_refusal
from esl.db.models import LabelModelRow, ProductRow, StoreRow, ZoneRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import ConflictError, InvalidItemError, NotFoundError
from esl.one_line_text import OneLineText
from esl.services.label_models import put_label_model as put_model
from esl.services.product_writes import (
    PublishedAs,
    check_products,
    refuse_first,
    write_products,
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
    `esl.skus` says, without blanks around it (422, naming the SKU meant), and may not
    differ from a stored one only in case (409, naming it); one stored before those
    rules is still replaced. The rules of the write are the
    product file's (`esl.services.product_writes`); a change is recorded as a publication
    of kind `catalogue`."""
    stored = session.scalar(select(ProductRow.sku).where(ProductRow.sku == sku)) is not None
    # A file trims its sku cell and a body its texts; a path names a product exactly, and
    # blanks around it are a client's bug (a fixed-width column sent as it was): said so,
    # naming the SKU meant, rather than writing that one under another name.
    if not stored and (meant := trim_blanks(sku)) != sku:
        raise InvalidItemError(
            f"sku {sku!r} begins or ends with blanks (spaces, tabs, no-break spaces): "
            f"a path names a product exactly; write {meant!r}",
            field="sku",
        )
    if not stored and not is_sku_text(sku):
        raise InvalidItemError(f"sku {sku!r}: {SKU_SPELLING}", field="sku")
    # 'mlk-1' beside 'MLK-1' would be a product no file can price (`esl.case_twins`).
    if not stored and (twin := stored_case_twin(session, ProductRow.sku, sku)):
        raise ConflictError(twin_refusal(sku, twin, "SKU"), field="sku")
    # The engine's own checks (GTIN, VAT, units) raise PricingError: a 422 like any other.
    product = Product(sku=sku, **{**body.model_dump(), "net_unit": NetUnit(body.net_unit)})
    checked = check_products(session, [product], now=ctx.clock())
    if checked.refusals:
        refuse_first(checked.refusals)
    write_products(
        session,
        checked,
        now=ctx.clock,
        currency=ctx.settings.currency,
        published_as=PublishedAs(
            kind="catalogue",
            title=f"product {sku}",
            by=who.name,
            impact=lambda *_: {"product": sku},
        ),
    )
    # Written by the service's statements: read as stored now, not as this session had it.
    row = session.get(ProductRow, sku, populate_existing=True)
    assert row is not None  # written just now
    return row


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
