"""Gathering the audit's facts from the store of record in a few bulk queries.

One query each for the bound labels (with their pipeline state), the open outbox frames,
the contents shown, and the ledger; the catalogue through `load_catalogue_slice`. Prices
are resolved once per (SKU, store), never per label, and nothing is queried per label.

`at` in the past audits that instant: bindings in force then, what each label showed then
(its last acknowledgement at or before `at`), the frames open then, and the ledger up to
`at`. The catalogue is today's, so rules or promotions deleted since are not seen; the
battery at a past instant is unknown (acknowledgements do not carry it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from esl.audit.classify import (
    LabelFacts,
    LabelVerdict,
    OpenUpdate,
    PriorPriceProblem,
    ShownContent,
    Thresholds,
    check_prior_price,
    classify_label,
    expected_prior_price,
)
from esl.audit.report import AuditReport, summarise
from esl.db.audit_models import LabelContentRow
from esl.db.models import (
    LabelAcknowledgementRow,
    LabelBindingRow,
    LabelRow,
    LabelStateRow,
    LedgerEntryRow,
    OutboxRow,
    ProductRow,
    StoreRow,
    core_table,
)
from esl.errors import NotFoundError
from esl.services.catalogue_loading import load_catalogue_slice
from pricing import (
    Catalogue,
    Channel,
    LedgerEntry,
    Money,
    PriceKey,
    PriceLedger,
    ResolvedPrice,
    resolve,
)
from pricing.errors import NoApplicablePriceError

__all__ = ["GatheredAudit", "gather_audit"]

_CHUNK = 500
_labels = core_table(LabelRow)
_bindings = core_table(LabelBindingRow)
_states = core_table(LabelStateRow)
_outbox = core_table(OutboxRow)
_acks = core_table(LabelAcknowledgementRow)
_contents = core_table(LabelContentRow)
_ledger = core_table(LedgerEntryRow)


@dataclass(frozen=True, slots=True)
class _Bound:
    label_id: str
    store: str
    model: str
    sku: str
    bound_at: datetime


@dataclass(frozen=True, slots=True)
class _Seen:
    shown_hash: str | None
    last_seen: datetime | None
    battery_mv: int | None


@dataclass(frozen=True, slots=True)
class GatheredAudit:
    """The report plus what its previews need (models, shown contents, due prices)."""

    report: AuditReport
    catalogue: Catalogue
    models: dict[str, str]  # label id -> display model id
    shown_contents: dict[str, dict[str, Any]]  # content hash -> content_to_dict form
    due: dict[str, ResolvedPrice]  # label id -> its store-channel price due at `at`


def gather_audit(
    session: Session,
    *,
    at: datetime,
    now: datetime,
    currency: str,
    locale: str = "pl_PL",
    stores: Iterable[str] | None = None,
    thresholds: Thresholds | None = None,
) -> GatheredAudit:
    """Audit `stores` (None: every store) at `at`; `now` tells whether `at` is the present
    (the pipeline's live label states) or the past (the acknowledgement history)."""
    thresholds = thresholds or Thresholds()
    store_codes = _store_codes(session, stores)
    live = at >= now
    bound = _bound_labels(session, store_codes, at=at, live=live)
    label_ids = [b.label_id for b in bound]
    seen = _live_seen(session, label_ids, at=at) if live else _past_seen(session, label_ids, at=at)
    updates = _open_updates(session, label_ids, at=at)
    shown_rows = _shown_contents(session, {s.shown_hash for s in seen.values() if s.shown_hash})
    all_skus = list(session.scalars(select(ProductRow.sku)))
    catalogue = load_catalogue_slice(session, all_skus, currency=currency)
    ledger = _ledger_up_to(session, store_codes, at=at)

    prices: dict[PriceKey, ResolvedPrice | None] = {}

    def price_of(sku: str, channel: Channel, store: str) -> ResolvedPrice | None:
        key = PriceKey(sku, channel, store)
        if key in prices:
            return prices[key]
        found: ResolvedPrice | None = None
        if sku in catalogue.products and catalogue.products[sku].on_sale_since <= at:
            try:
                found = resolve(
                    catalogue,
                    sku=sku,
                    channel=channel,
                    store=store,
                    at=at,
                    ledger=ledger,
                    locale=locale,
                )
            except NoApplicablePriceError:
                found = None
        prices[key] = found
        return found

    verdicts: list[LabelVerdict] = []
    problems: list[PriorPriceProblem] = []
    due_by_label: dict[str, ResolvedPrice] = {}
    priors: dict[tuple[PriceKey, Decimal], Decimal | None] = {}
    nothing_seen = _Seen(None, None, None)
    for label in bound:
        due = price_of(label.sku, Channel.STORE, label.store)
        web = price_of(label.sku, Channel.WEB, label.store)
        store_key = PriceKey(label.sku, Channel.STORE, label.store)
        entry = ledger.entry_at(store_key, at)
        state = seen.get(label.label_id, nothing_seen)
        row = shown_rows.get(state.shown_hash) if state.shown_hash else None
        shown = row[0] if row is not None else None
        facts = LabelFacts(
            label_id=label.label_id,
            store=label.store,
            sku=label.sku,
            bound_at=label.bound_at,
            shown_hash=state.shown_hash,
            shown=shown,
            due=due,
            web=web,
            due_since=entry.effective_from if entry is not None else None,
            update=updates.get(label.label_id),
            last_seen=state.last_seen,
            battery_mv=state.battery_mv,
        )
        verdicts.append(classify_label(facts, at=at, thresholds=thresholds))
        if due is not None:
            due_by_label[label.label_id] = due
        if shown is not None and shown.price < shown.regular_price:
            memo = (store_key, shown.price)
            if memo not in priors:
                product = catalogue.products.get(label.sku)
                expected = (
                    expected_prior_price(
                        ledger,
                        key=store_key,
                        product=product,
                        price=Money(shown.price, shown.currency),
                        at=at,
                    )
                    if product is not None
                    else None
                )
                priors[memo] = expected.amount if expected is not None else None
            problem = check_prior_price(facts, expected=priors[memo])
            if problem is not None:
                problems.append(problem)

    labelled = {(b.sku, b.store) for b in bound}
    unlabelled: dict[str, list[str]] = defaultdict(list)
    for store in store_codes:
        for sku in catalogue.products:
            if (sku, store) not in labelled and price_of(sku, Channel.WEB, store) is not None:
                unlabelled[store].append(sku)
    report = summarise(
        verdicts,
        at=at,
        thresholds=thresholds,
        stores=store_codes,
        unlabelled=unlabelled,
        prior_price_problems=problems,
    )
    return GatheredAudit(
        report=report,
        catalogue=catalogue,
        models={b.label_id: b.model for b in bound},
        shown_contents={digest: row[1] for digest, row in shown_rows.items()},
        due=due_by_label,
    )


def _store_codes(session: Session, stores: Iterable[str] | None) -> list[str]:
    known = set(session.scalars(select(StoreRow.code)))
    if stores is None:
        return sorted(known)
    wanted = sorted(set(stores))
    for code in wanted:
        if code not in known:
            raise NotFoundError("store", code)
    return wanted


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _bound_labels(session: Session, stores: list[str], *, at: datetime, live: bool) -> list[_Bound]:
    statement = (
        select(
            _labels.c.id,
            _labels.c.store,
            _labels.c.model,
            _bindings.c.sku,
            _bindings.c.bound_at,
        )
        .join(_bindings, _bindings.c.label_id == _labels.c.id)
        .where(_labels.c.store.in_(stores))
        .order_by(_labels.c.store, _labels.c.id)
    )
    if live:
        statement = statement.where(_bindings.c.unbound_at.is_(None))
    else:
        statement = statement.where(
            _bindings.c.bound_at <= at,
            or_(_bindings.c.unbound_at.is_(None), _bindings.c.unbound_at > at),
        )
    return [_Bound(*row) for row in session.execute(statement)]


def _live_seen(session: Session, label_ids: list[str], *, at: datetime) -> dict[str, _Seen]:
    """What each label shows now, from the pipeline's label states.

    The label's own last word (its displayed hash) wins over what it acknowledged, except
    for a timed image it confirmed whose instant has passed since it last reported: the
    label flipped to it by itself.
    """
    found: dict[str, _Seen] = {}
    columns = (
        _states.c.label_id,
        _states.c.confirmed_hash,
        _states.c.displayed_hash,
        _states.c.desired_hash,
        _states.c.desired_display_at,
        _states.c.last_seen,
        _states.c.battery_mv,
    )
    statement = select(*columns)
    if len(label_ids) > 20 * _CHUNK:
        rows: Iterable[Any] = session.execute(statement)  # most of the table: read it all
    else:
        rows = (
            r
            for chunk in _chunks(label_ids)
            for r in session.execute(statement.where(_states.c.label_id.in_(chunk)))
        )
    for label_id, confirmed, displayed, desired, display_at, last_seen, battery in rows:
        shown = displayed or confirmed
        flipped = (
            confirmed is not None
            and confirmed == desired
            and display_at is not None
            and display_at <= at
            and (last_seen is None or last_seen < display_at)
        )
        if flipped:
            shown = confirmed
        found[label_id] = _Seen(shown, last_seen, battery)
    return found


def _past_seen(session: Session, label_ids: list[str], *, at: datetime) -> dict[str, _Seen]:
    """What each label showed at `at`: its last acknowledgement at or before `at`."""
    found: dict[str, _Seen] = {}
    latest = (
        select(_acks.c.label_id, func.max(_acks.c.at).label("at"))
        .where(_acks.c.at <= at)
        .group_by(_acks.c.label_id)
        .subquery()
    )
    confirmed = (
        select(_acks.c.label_id, func.max(_acks.c.at).label("at"))
        .where(_acks.c.at <= at, _acks.c.acked_hash.is_not(None))
        .group_by(_acks.c.label_id)
        .subquery()
    )
    last_rows = select(
        _acks.c.label_id, _acks.c.displayed_hash, _acks.c.acked_hash, _acks.c.at
    ).join(latest, and_(latest.c.label_id == _acks.c.label_id, latest.c.at == _acks.c.at))
    acked_rows = select(_acks.c.label_id, _acks.c.acked_hash).join(
        confirmed, and_(confirmed.c.label_id == _acks.c.label_id, confirmed.c.at == _acks.c.at)
    )
    wanted = set(label_ids)
    last_acked: dict[str, str] = {}
    for label_id, acked in session.execute(acked_rows):
        if label_id in wanted and acked is not None:
            last_acked[label_id] = acked
    for label_id, displayed, acked, heard in session.execute(last_rows):
        if label_id in wanted:
            shown = displayed or acked or last_acked.get(label_id)
            found[label_id] = _Seen(shown, heard, None)
    return found


def _open_updates(session: Session, label_ids: list[str], *, at: datetime) -> dict[str, OpenUpdate]:
    """The newest frame per label open at `at`: created by then, not settled by then."""
    statement = (
        select(
            _outbox.c.label_id,
            _outbox.c.sequence,
            _outbox.c.status,
            _outbox.c.created_at,
            _outbox.c.attempts,
            _outbox.c.parked_reason,
        )
        .where(
            _outbox.c.created_at <= at,
            or_(_outbox.c.settled_at.is_(None), _outbox.c.settled_at > at),
        )
        .order_by(_outbox.c.label_id, _outbox.c.sequence)
    )
    wanted = set(label_ids)
    found: dict[str, OpenUpdate] = {}
    for label_id, _sequence, status, created, attempts, reason in session.execute(statement):
        if label_id in wanted:
            # A row settled after `at` was still waiting at `at`, whatever its status now.
            shown_status = status if status in ("pending", "sent", "parked") else "sent"
            found[label_id] = OpenUpdate(
                status=shown_status, since=created, attempts=attempts, reason=reason
            )
    return found


def _shown_contents(
    session: Session, hashes: set[str]
) -> dict[str, tuple[ShownContent, dict[str, Any]]]:
    found: dict[str, tuple[ShownContent, dict[str, Any]]] = {}
    ordered = sorted(hashes)
    for chunk in _chunks(ordered):
        for row in session.execute(
            select(
                _contents.c.content_hash,
                _contents.c.currency,
                _contents.c.price,
                _contents.c.regular_price,
                _contents.c.prior_price,
                _contents.c.promotion_id,
                _contents.c.price_fingerprint,
                _contents.c.content,
            ).where(_contents.c.content_hash.in_(chunk))
        ):
            shown = ShownContent(
                content_hash=row.content_hash,
                currency=row.currency,
                price=row.price,
                regular_price=row.regular_price,
                prior_price=row.prior_price,
                promotion_id=row.promotion_id,
                price_fingerprint=row.price_fingerprint,
            )
            found[row.content_hash] = (shown, row.content)
    return found


def _ledger_up_to(session: Session, stores: list[str], *, at: datetime) -> PriceLedger:
    """The store and web ledgers of `stores` up to `at`, in time order per key."""
    ledger = PriceLedger()
    channels = {c.value: c for c in Channel}
    statement = (
        select(
            _ledger.c.sku,
            _ledger.c.channel,
            _ledger.c.store,
            _ledger.c.effective_at,
            _ledger.c.amount,
            _ledger.c.regular_amount,
            _ledger.c.currency,
            _ledger.c.promotion_id,
        )
        .where(
            _ledger.c.effective_at <= at,
            _ledger.c.channel.in_((Channel.STORE.value, Channel.WEB.value)),
            _ledger.c.store.in_(stores),
        )
        .order_by(_ledger.c.sku, _ledger.c.channel, _ledger.c.store, _ledger.c.effective_at)
    )
    append = ledger.append
    for sku, channel, store, effective, amount, regular, currency, promotion in session.execute(
        statement
    ):
        append(
            LedgerEntry(
                key=PriceKey(sku, channels[channel], store),
                effective_from=effective,
                price=Money(amount, currency),
                regular_price=Money(regular, currency),
                promotion_id=promotion,
            )
        )
    return ledger
