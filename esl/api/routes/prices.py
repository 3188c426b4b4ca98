"""Prices, promotions, the ledger, the CSV export and the quote."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from esl.api.dependencies import (
    ApiKey,
    Ctx,
    CurrentSession,
    Reader,
    principal_of,
)
from esl.api.errors import require_aware_query
from esl.api.instants import Instant
from esl.api.pagination import Pages, paginate, where_given
from esl.api.schemas import (
    Channel,
    LedgerEntryOut,
    Page,
    PriceRuleOut,
    PromotionOut,
    QuoteOut,
)
from esl.db.models import LedgerEntryRow, PriceRuleRow, PromotionRow
from esl.db.repositories import load_promotions
from esl.errors import NotFoundError
from esl.imports.price_export import export_prices
from esl.services.keys import Principal
from esl.services.quotes import quote
from pricing.promotions import Promotion
from pricing.resolved import ResolvedPrice

__all__ = ["router"]

router = APIRouter(tags=["prices"])  # every route here is in this section of the API docs
# Read as every body and file reads a channel (`esl.enumerated_words`): " Web" is web.
ChannelQuery = Channel
Text64 = Annotated[str | None, Query(max_length=64)]


@router.get("/prices", response_model=Page[PriceRuleOut])
def list_prices(
    session: CurrentSession,
    _: Reader,
    page: Pages,
    sku: Text64 = None,
    store: Text64 = None,
    zone: Text64 = None,
    channel: ChannelQuery | None = None,
    current_at: Annotated[
        Instant | None, Query(description="Only rules in force at this instant.")
    ] = None,
) -> dict[str, Any]:
    """Stored price rules, a page at a time; filter by SKU, or those in force at an instant."""
    statement = where_given(
        select(PriceRuleRow).order_by(PriceRuleRow.sku, PriceRuleRow.id),
        (PriceRuleRow.sku, sku),
        (PriceRuleRow.store, store),
        (PriceRuleRow.zone, zone),
        (PriceRuleRow.channel, channel),
    )
    if current_at is not None:
        at = require_aware_query(current_at)
        statement = statement.where(
            PriceRuleRow.valid_from.is_(None) | (PriceRuleRow.valid_from <= at),
            PriceRuleRow.valid_until.is_(None) | (PriceRuleRow.valid_until > at),
        )
    return paginate(session, statement, page, PriceRuleOut.model_validate)


@router.get(
    "/prices/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The price file."}},
)
def export_price_file(
    ctx: Ctx,
    _: Reader,
    current: Annotated[bool, Query(description="Only rules in force now.")] = False,
) -> StreamingResponse:
    """Every stored price rule as a CSV file in the price import format."""
    now = ctx.clock()

    def chunks() -> Iterator[str]:
        # Its own session: the response streams after the request's session has closed.
        with ctx.sessions() as session:
            yield from export_prices(session, current_at=now if current else None)

    return StreamingResponse(
        chunks(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="prices.csv"'},
    )


def _promotion_out(promotion: Promotion) -> PromotionOut:
    return PromotionOut(
        id=promotion.id,
        name=promotion.name,
        kind=promotion.kind.value,
        skus=sorted(promotion.skus),
        categories=sorted(promotion.categories),
        channels=sorted(c.value for c in promotion.channels),
        zones=sorted(promotion.zones),
        stores=sorted(promotion.stores),
        percent=promotion.percent,
        amount=promotion.amount.amount if promotion.amount else None,
        currency=promotion.amount.currency if promotion.amount else None,
        quantity=promotion.quantity,
        free_quantity=promotion.free_quantity,
        priority=promotion.priority,
        exclusive=promotion.exclusive,
        valid_from=promotion.valid_from,
        valid_until=promotion.valid_until,
    )


@router.get("/promotions", response_model=Page[PromotionOut])
def list_promotions(session: CurrentSession, _: Reader, page: Pages) -> dict[str, Any]:
    """Stored promotions, a page at a time."""
    statement = select(PromotionRow.id).order_by(PromotionRow.id)
    result = paginate(session, statement, page, str)
    found = load_promotions(session, result["items"])
    result["items"] = [_promotion_out(found[i]) for i in result["items"]]
    return result


@router.get("/promotions/{promotion_id}", response_model=PromotionOut)
def get_promotion(promotion_id: str, session: CurrentSession, _: Reader) -> PromotionOut:
    """One promotion by its id."""
    found = load_promotions(session, [promotion_id])
    if promotion_id not in found:
        raise NotFoundError("promotion", promotion_id)
    return _promotion_out(found[promotion_id])


@router.get("/ledger", response_model=Page[LedgerEntryOut])
def list_ledger(
    session: CurrentSession,
    _: Reader,
    page: Pages,
    sku: Text64 = None,
    store: Text64 = None,
    channel: ChannelQuery | None = None,
    since: Annotated[Instant | None, Query(description="Entries effective from here.")] = None,
    until: Annotated[Instant | None, Query(description="Entries effective before here.")] = None,
) -> dict[str, Any]:
    """The applied-price ledger (what each key cost when), the source of the 30-day low."""
    statement = where_given(
        select(LedgerEntryRow).order_by(
            LedgerEntryRow.sku,
            LedgerEntryRow.channel,
            LedgerEntryRow.store,
            LedgerEntryRow.effective_at,
        ),
        (LedgerEntryRow.sku, sku),
        (LedgerEntryRow.store, store),
        (LedgerEntryRow.channel, channel),
    )
    if since is not None:
        statement = statement.where(LedgerEntryRow.effective_at >= require_aware_query(since))
    if until is not None:
        statement = statement.where(LedgerEntryRow.effective_at < require_aware_query(until))
    return paginate(session, statement, page, LedgerEntryOut.model_validate)


def quote_out(resolved: ResolvedPrice) -> QuoteOut:
    promotion = resolved.promotion
    return QuoteOut(
        sku=resolved.sku,
        channel=resolved.channel.value,
        store=resolved.store,
        at=resolved.at,
        currency=resolved.currency,
        regular_price=resolved.regular_price.amount,
        price=resolved.price.amount,
        promotion=None
        if promotion is None
        else {
            "id": promotion.id,
            "name": promotion.name,
            "kind": promotion.kind.value,
            "text": promotion.text,
            "valid_until": promotion.valid_until,
            "effective_unit_price": promotion.effective_unit_price.amount,
            "min_quantity": promotion.min_quantity,
            "loyalty_only": promotion.loyalty_only,
            "offer_unit_price": promotion.offer_unit_price.amount
            if promotion.offer_unit_price is not None
            else None,
        },
        announces_reduction=resolved.announces_reduction,
        prior_price=resolved.prior_price.amount if resolved.prior_price else None,
        shows_prior_price=resolved.shows_prior_price,
        prior_price_basis=resolved.prior_price_basis,
        saving=resolved.saving.amount if resolved.saving else None,
        saving_percent=resolved.saving_percent,
        unit_price=resolved.unit_price.amount if resolved.unit_price else None,
        unit_label=resolved.unit_label,
        price_rule_id=resolved.price_rule_id,
        price_scope=resolved.price_scope.value,
        fingerprint=resolved.fingerprint,
    )


@router.get("/quote", response_model=QuoteOut)
async def get_quote(
    request: Request,
    ctx: Ctx,
    token: ApiKey,
    sku: Annotated[str, Query(min_length=1, max_length=64)],
    store: Annotated[str, Query(min_length=1, max_length=32)],
    channel: ChannelQuery = "store",
    at: Annotated[Instant | None, Query(description="Instant with offset; default now.")] = None,
    locale: Annotated[
        str | None,
        Query(max_length=16, description="Label texts' locale; default: ESL_LOCALE (pl_PL)."),
    ] = None,
) -> QuoteOut:
    """The resolved price with every label-visible field, as the web shop and audit see it.

    Any role may ask. The whole quote (key check, reads, resolution) runs as one unit in
    the thread pool: this is the latency-critical route, and every hop between the event
    loop and a worker thread costs time.
    """
    now = ctx.clock()
    instant = require_aware_query(at) if at is not None else now

    def work() -> QuoteOut:
        with ctx.sessions() as session, session.begin():
            if not isinstance(getattr(request.state, "principal", None), Principal):
                principal_of(session, token)  # mounted without the ApiKeyGate
            resolved = quote(
                session,
                sku=sku,
                store=store,
                channel=channel,
                at=instant,
                now=now,
                locale=locale or ctx.settings.locale,
                currency=ctx.settings.currency,
            )
        return quote_out(resolved)

    return await run_in_threadpool(work)
