"""Gathering the audit's facts from the store of record in a few bulk queries.

What each label is bound to and shows, the frames open or sent unanswered, and the labels
bound to no product that may still show a price are read by `esl.audit.label_reads`; the
catalogue and the ledger through the data-access layer (`esl.db.repositories`), the big
reads at driver speed (its `fast_reads`). Prices are resolved here once per (SKU,
channel, store), or once per zone where no store rule or promotion can make the stores of
a zone differ, and each label classified (`esl.audit.classify`); nothing is queried per
label.

`at` in the past audits that instant: bindings in force then, what each label showed then
as the pipeline took it (its last kept word at or before `at` that the record took as its
panel, or that made it forget the panel: `label_reads.past_seen`; a timed image it
flipped to by itself since, and the frames sent it unanswered then, which may be on its
panel: `past_panels`), its health where nothing changed since, the frames open then,
the ledger up to `at`, each store as it was then (its zone and time zone:
`store_versions`) and each product as it was then (its category, net content,
perishable: `product_versions`), and the price rules and promotions as the record held
them then (`price_rule_versions`, `promotion_versions`: one updated in place since at its
price then, one written since not at all); the battery at a past instant is known only
for a label not heard since (acknowledgements do not carry it).
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.audit.classify import (
    LabelFacts,
    LabelVerdict,
    PriorPriceProblem,
    ShownContent,
    Thresholds,
    UnansweredFrame,
    UnboundFacts,
    check_prior_price,
    classify_label,
    classify_unbound,
    shows_due_price,
)
from esl.audit.content_changes import ContentChanges
from esl.audit.dating import LastDays
from esl.audit.known_prior import card_price_shown, reduction_shown_since
from esl.audit.label_reads import (
    Bound,
    Seen,
    bound_labels_now,
    bound_labels_then,
    ended_bindings,
    labels_of,
    open_updates,
    reporting_since,
    sent_without_price,
    shown_contents,
    unanswered_frames,
    unbound_labels_now,
)
from esl.audit.past_panels import past_panels
from esl.audit.report import AuditReport, summarise
from esl.db.models import (
    ProductRow,
    StoreRow,
)
from esl.db.repositories import (
    StorePriceRun,
    catalogue_as_at,
    load_catalogue_slice,
    load_ledger_for_skus,
    products_as_at,
    store_price_runs,
)
from esl.errors import NotFoundError
from pricing import (
    Catalogue,
    Channel,
    Money,
    PriceKey,
    PriceLedger,
    PriorPrice,
    ResolvedPrice,
    due_card_prior_price,
    due_prior_price,
)
from pricing.errors import CurrencyMismatchError, EslError, NoApplicablePriceError
from pricing.products import label_time_zone
from pricing.resolution import resolve_key
from rendering.content import LabelContent, content_from_dict
from rendering.errors import ContentError
from rendering.locale_zones import locale_time_zone

if TYPE_CHECKING:
    from esl.settings import Settings

__all__ = ["AuditInstantError", "GatheredAudit", "gather_audit", "gather_configured_audit"]

log = logging.getLogger(__name__)
# The prior price a label must show could not be worked out (a ledger in another currency).
_UNKNOWN_PRIOR = object()


def _prior_or_unknown(sku: str, due: Callable[[], PriorPrice | None]) -> object:
    """`due()`, or `_UNKNOWN_PRIOR` when the ledger holds another currency's prices."""
    try:
        return due()
    except CurrencyMismatchError as error:
        log.warning("audit: no prior price to check for %s: %s", sku, error)
        return _UNKNOWN_PRIOR


def _check_prior(facts: Any, expected: object, problems: list[Any]) -> None:
    """Add the label's prior-price problem against `expected`, unless that is unknown."""
    if expected is None or isinstance(expected, PriorPrice):
        problem = check_prior_price(facts, expected=expected)
        if problem is not None:
            problems.append(problem)


# A caller's clock a little ahead of ours asks for "now", not for the future.
CLOCK_LEEWAY = timedelta(minutes=1)


class AuditInstantError(EslError):
    """An audit asked for an instant that has not come yet."""

    code = "audit_instant_in_future"


@dataclass(frozen=True, slots=True)
class GatheredAudit:
    """The report plus what its previews need (models, shown contents, due prices)."""

    report: AuditReport
    catalogue: Catalogue
    models: dict[str, str]  # label id -> display model id
    shown_contents: dict[str, dict[str, Any]]  # content hash -> content_to_dict form
    due: dict[str, ResolvedPrice]  # label id -> its store-channel price due at `at`
    # Where a store names no time zone, the one its labels date in (None: the locale's).
    time_zone: str | None = None


@contextmanager
def _collection_paused() -> Iterator[None]:
    """An audit allocates a dozen objects per label and frees none before it returns, so
    the cyclic garbage collector would only walk them again and again (a sixth of the
    time at 100,000 labels); reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def gather_audit(
    session: Session,
    *,
    at: datetime,
    now: datetime,
    currency: str,
    locale: str,
    stores: Iterable[str] | None = None,
    thresholds: Thresholds | None = None,
    time_zone: str | None = None,
) -> GatheredAudit:
    """Audit `stores` (None: every store) at `at`; `now` tells whether `at` is the present
    (the pipeline's live label states) or the past (the acknowledgement history).
    `time_zone` is the installation's (`ESL_TIME_ZONE`), for stores that name none.

    An `at` later than `now` is refused (AuditInstantError): what labels will show is not
    known, and a report of it would read as fact (a mistyped day called every label
    `offline`). Up to `CLOCK_LEEWAY` ahead is taken as now, for a caller whose clock runs
    a little ahead of ours."""
    if at > now + CLOCK_LEEWAY:
        raise AuditInstantError(
            f"cannot audit {at.isoformat()}: it is later than now ({now.isoformat()}); "
            "an audit reports what labels showed, at now or a past instant",
            at=at.isoformat(),
            now=now.isoformat(),
        )
    at = min(at, now)
    with _collection_paused():
        return _gather(
            session,
            at=at,
            now=now,
            currency=currency,
            locale=locale,
            stores=stores,
            thresholds=thresholds or Thresholds(),
            time_zone=time_zone,
        )


def gather_configured_audit(
    session: Session,
    settings: Settings,
    *,
    at: datetime,
    now: datetime,
    stores: Iterable[str] | None = None,
    thresholds: Thresholds | None = None,
) -> GatheredAudit:
    """`gather_audit` as the installation is set up: its currency, locale and time zone,
    and its label thresholds (`ESL_LABEL_*`) unless `thresholds` are given."""
    return gather_audit(
        session,
        at=at,
        now=now,
        currency=settings.currency,
        locale=settings.locale,
        time_zone=settings.time_zone,
        stores=stores,
        thresholds=Thresholds.from_settings(settings) if thresholds is None else thresholds,
    )


def _gather(
    session: Session,
    *,
    at: datetime,
    now: datetime,
    currency: str,
    locale: str,
    stores: Iterable[str] | None,
    thresholds: Thresholds,
    time_zone: str | None,
) -> GatheredAudit:
    store_codes = _store_codes(session, stores)
    live = at >= now
    # Labels bound to no product (unbound, unassociated unconfirmed) are listed when
    # their panel still shows a price: id -> store, display model, what it shows.
    unbound: dict[str, tuple[str, str, Seen]]
    if live:
        bound, seen, claims = bound_labels_now(session, store_codes, at=at)
        ended = ended_bindings(session, store_codes, at=at)
        unbound = unbound_labels_now(session, store_codes, ended, at=at)
        # Frames signed after a label's newest believed answer and sent, and the image
        # before a flip it was not heard after: they may be on its panel whatever it
        # last reported or the record counts (the pipeline's sequences).
        frames = unanswered_frames(session, claims, seen, at=at)
    else:
        bound = bound_labels_then(session, store_codes, at=at)
        ended = ended_bindings(session, store_codes, at=at)
        unbound_then = labels_of(session, store_codes, ended)
        # Its last word then, a timed image it flipped to unheard, and the frames sent it
        # unanswered then, read from the kept words and the outbox as the live audit
        # read the label's state at that instant.
        seen, frames = past_panels(
            session,
            [b.label_id for b in bound] + list(unbound_then),
            at=at,
            every=stores is None,
        )
        unbound = {
            label_id: (store, model, seen.pop(label_id))
            for label_id, (store, model) in unbound_then.items()
            if label_id in seen
        }
    label_ids = [b.label_id for b in bound]
    # Read for the audited labels only; an audit of every store reads the outbox once.
    updates = open_updates(session, [*label_ids, *unbound], at=at, every=stores is None)
    shown_rows = shown_contents(
        session,
        {s.shown_hash for s in seen.values() if s.shown_hash}
        | {s.shown_hash for _, _, s in unbound.values() if s.shown_hash}
        | {frame.content_hash for sent in frames.values() for frame in sent},
    )
    sent_screens = sent_without_price(
        session,
        {
            label_id: state.shown_hash
            for label_id, state in seen.items()
            if state.shown_hash and state.shown_hash not in shown_rows
        },
        at=at,
    )
    # Labels reporting an image the controller never sent are wrong since they began
    # reporting it: dated from their kept reports, for those few labels only.
    tampered = reporting_since(
        session,
        {
            label_id: state.shown_hash
            for label_id, state in seen.items()
            if state.shown_hash
            and state.shown_hash not in shown_rows
            and label_id not in sent_screens
        },
        at=at,
    )
    all_skus = list(session.scalars(select(ProductRow.sku)))
    # Each store as it was then: a store moved to another zone since (or given another
    # time zone) was priced in its zone then, and its labels dated in its zone then. Each
    # product too: one moved to another category since was reduced by its category then.
    catalogue = catalogue_as_at(
        session,
        load_catalogue_slice(
            session,
            all_skus,
            currency=currency,
            products_then=products_as_at(session, at, now=now),
        ),
        at=at,
        now=now,
    )
    promoted = {sku for sku in catalogue.products if catalogue.promotions_for(sku)}
    # Only a promotion makes a resolution read the ledger (for its prior price), and only
    # a label showing a reduction needs it for the prior-price check: the full history is
    # loaded for those SKUs, the rest need only when their current price started.
    reduced_shown: set[str] = set()
    # Labels showing an image first recorded for another product than theirs, which was
    # rendered for their own binding all the same: twin products whose labels draw the
    # same pixels. The same pixels are the same shelf. Only the plan for the label's
    # current binding vouches for that: a frame of the image is no proof, as a frame of
    # the earlier binding's image may be signed again (re-sent in full, re-signed) after
    # the re-binding, in a row created then.
    drawn_for_binding: set[str] = set()
    for b in bound:  # one pass over 100,000 labels
        state = seen.get(b.label_id)
        if state is None or state.shown_hash is None:
            continue
        row = shown_rows.get(state.shown_hash)
        if row is None:
            continue
        # The reduction is checked in the ledger of the product it was recorded for: a
        # re-bound label may still show the earlier binding's announcement.
        shown_sku = row[0].sku
        if shown_sku != b.sku and state.planned_hash == state.shown_hash:
            drawn_for_binding.add(b.label_id)
            shown_sku = b.sku  # a twin's image: the same pixels, its own product's
        if row[0].shows_prior_price:
            reduced_shown.add(shown_sku)
    ledger = load_ledger_for_skus(
        session,
        promoted | reduced_shown,
        channels=(Channel.STORE, Channel.WEB),
        stores=store_codes,
        up_to=at,
    )
    store_priced = {
        sku for sku in catalogue.products if any(r.store for r in catalogue.rules_for(sku))
    }
    zones = {code: store.zone for code, store in catalogue.stores.items()}

    prices: dict[PriceKey, ResolvedPrice | None] = {}
    # A SKU without store rules or promotions resolves alike in every store of a zone (of
    # the chain, without zone rules), so it is resolved once per zone: its ResolvedPrice
    # (whose `store` names the first store asked for) serves every store of the zone.
    by_zone: dict[tuple[str, Channel, str | None], ResolvedPrice | None] = {}
    shared = set(catalogue.products) - promoted - store_priced
    zoned = {sku for sku in shared if any(r.zone for r in catalogue.rules_for(sku))}

    # Why a price that applies could not be worked out (its ledger in an old currency),
    # by the key `price_of` keeps it under: not the same as no price at all.
    unknown: dict[object, str] = {}

    def memo_key(sku: str, channel: Channel, store: str) -> object:
        if sku in shared:
            return (sku, channel, zones.get(store) if sku in zoned else None)
        return PriceKey(sku, channel, store)

    def price_of(sku: str, channel: Channel, store: str) -> ResolvedPrice | None:
        if sku in shared:
            zone_key = (sku, channel, zones.get(store) if sku in zoned else None)  # memo_key
            try:
                return by_zone[zone_key]
            except KeyError:
                found = by_zone[zone_key] = _resolve_or_none(
                    catalogue,
                    PriceKey(sku, channel, store),
                    at=at,
                    ledger=ledger,
                    locale=locale,
                    unknown=partial(unknown.__setitem__, zone_key),
                )
                return found
        key = PriceKey(sku, channel, store)
        try:
            return prices[key]
        except KeyError:
            found = prices[key] = _resolve_or_none(
                catalogue,
                key,
                at=at,
                ledger=ledger,
                locale=locale,
                unknown=partial(unknown.__setitem__, key),
            )
            return found

    verdicts: list[LabelVerdict] = []
    problems: list[PriorPriceProblem] = []
    due_by_label: dict[str, ResolvedPrice] = {}
    priors: dict[tuple[PriceKey, Decimal, datetime], PriorPrice | object | None] = {}
    card_priors: dict[tuple[PriceKey, Decimal, datetime], PriorPrice | object | None] = {}
    nothing_seen = Seen(None, None, None)
    # Labels not showing the due price need when it started; asked for after the first
    # pass, for those labels only, then classified again.
    late: list[tuple[int, LabelFacts]] = []
    last_days = LastDays(catalogue, time_zone)
    # Each store's clock, which its labels' reasons read instants on: the zone its labels
    # date in (its own, the installation's, else the locale's).
    clocks = {
        code: label_time_zone(store, time_zone) or locale_time_zone(locale)
        for code, store in catalogue.stores.items()
    }
    store_channel = Channel.STORE

    def content_shows_due(
        row: tuple[ShownContent, dict[str, Any]], due: ResolvedPrice, store: str, *, twin: bool
    ) -> bool:
        """Whether a recorded content (rendered for the label's product) shows `due`,
        as `shows_due_price` judges what a label shows."""
        shown = row[0]
        return (
            shown.price_fingerprint == due.fingerprint
            or _draws(row[1], due, catalogue, store, time_zone, twin=twin)
        ) and last_days.misdated(*row, due, store) is None

    def unanswered(label: Bound, state: Seen, due: ResolvedPrice) -> UnansweredFrame | None:
        """The newest frame sent since the label's newest believed answer whose image is
        not the due one (nor the one it shows): the panel may show it."""
        for frame in frames.get(label.label_id, ()):
            if frame.content_hash == state.shown_hash:
                continue
            row = shown_rows.get(frame.content_hash)
            # Recorded for its product, or its current binding's plan (twin products).
            ours = row is not None and (
                row[0].sku == label.sku or frame.content_hash == state.planned_hash
            )
            if (
                row is None
                or not ours
                or not content_shows_due(row, due, label.store, twin=row[0].sku != label.sku)
            ):
                return UnansweredFrame(
                    frame.content_hash,
                    row[0] if row is not None else None,
                    frame.sent_at,
                    frame.before_flip,
                )
        return None

    for label in bound:
        due = price_of(label.sku, store_channel, label.store)
        state = seen.get(label.label_id, nothing_seen)
        row = shown_rows.get(state.shown_hash) if state.shown_hash else None
        twin = row is not None and label.label_id in drawn_for_binding
        if row is not None and twin:
            row = (replace(row[0], sku=label.sku), row[1])
        shown = row[0] if row is not None else None
        facts = LabelFacts(
            label.label_id,
            label.store,
            label.sku,
            label.bound_at,
            state.shown_hash,
            shown,
            due,
            price_of(label.sku, Channel.WEB, label.store),
            None,
            updates.get(label.label_id),
            state.last_seen,
            state.battery_mv,
            state.gateway_online,
            label.label_id in sent_screens,
            row is not None
            and due is not None
            and shown is not None
            and shown.sku == label.sku
            and shown.price_fingerprint != due.fingerprint
            and _draws(row[1], due, catalogue, label.store, time_zone, twin=twin),
            last_days.misdated(*row, due, label.store) if row and due is not None else None,
            unanswered(label, state, due) if due is not None and label.label_id in frames else None,
            state.unplanned,
            tampered.get(label.label_id) if tampered else None,
            clocks.get(label.store),
            unknown.get(memo_key(label.sku, Channel.WEB, label.store)) if unknown else None,
        )
        if due is not None:
            due_by_label[label.label_id] = due
            if not shows_due_price(facts):
                late.append((len(verdicts), facts))
        verdicts.append(classify_label(facts, at=at, thresholds=thresholds))
        # Only a label printing a prior-price line has one to check: an announced
        # reduction's, or a loyalty-card badge's, against what card holders paid
        # (pricing.ledger.card_holder_ledger).
        if shown is not None and (shown.announces_reduction or shown.shows_prior_price):
            # The product the shown label was priced for (a twin's row names the label's
            # own): a label re-bound since still shows the earlier one's, lawful or not by
            # that product's ledger, not the new binding's.
            store_key = PriceKey(shown.sku, store_channel, label.store)
            shown_due = (
                due if shown.sku == label.sku else price_of(shown.sku, store_channel, label.store)
            )
            product = catalogue.products.get(shown.sku)
            if shown.announces_reduction:
                # The 30 days before the reduction the label shows, not before the audit:
                # a label left on an ended reduction is stale, its prior price still that
                # one's.
                priced_at = reduction_shown_since(
                    ledger, store_key, shown, shown_due, draws_due=facts.draws_due, at=at
                )
                memo = (store_key, shown.price, priced_at)
                if memo not in priors:
                    priors[memo] = (
                        _prior_or_unknown(
                            shown.sku,
                            partial(
                                due_prior_price,
                                ledger,
                                key=store_key,
                                product=product,
                                store=catalogue.stores.get(label.store),
                                price=Money(shown.price, shown.currency),
                                at=priced_at,
                            ),
                        )
                        if product is not None
                        else None
                    )
                _check_prior(facts, priors[memo], problems)
            else:
                card = card_price_shown(
                    ledger, store_key, shown, shown_due, draws_due=facts.draws_due, at=at
                )
                if card is not None and product is not None:
                    card_price, card_at = card
                    card_memo = (store_key, card_price.amount, card_at)
                    if card_memo not in card_priors:
                        card_priors[card_memo] = _prior_or_unknown(
                            shown.sku,
                            partial(
                                due_card_prior_price,
                                ledger,
                                key=store_key,
                                product=product,
                                store=catalogue.stores.get(label.store),
                                card_price=card_price,
                                at=card_at,
                            ),
                        )
                    _check_prior(facts, card_priors[card_memo], problems)
    if late:
        runs = store_price_runs(session, {(f.sku, f.store) for _, f in late}, at=at)
        # The ledger dates a change of amount (or of the regular or card price beside it)
        # only: a label at the due amount but drawn otherwise is dated from the change of
        # what it must draw (a pack size, a promotion's last day), not from when the
        # amount began; a label at another amount from when the due amount began, not
        # from a card price added beside it since; one printing another prior price from
        # the ledger entry that made that due (imported history: when it was imported).
        changes = ContentChanges(
            session,
            catalogue,
            (f for _, f in late),
            at=at,
            prior_price_wrong={p.label_id for p in problems},
        )
        for index, facts in late:
            started = changes.due_since(
                facts, _due_since(facts, runs.get((facts.sku, facts.store)))
            )
            if started is not None:
                verdicts[index] = classify_label(
                    facts._replace(due_since=started), at=at, thresholds=thresholds
                )

    for label_id, (store, _, state) in unbound.items():
        row = shown_rows.get(state.shown_hash) if state.shown_hash else None
        if row is None or state.shown_hash is None:
            continue  # its identification screen, or nothing known: no price shown
        bound_sku, unbound_at = ended[label_id]
        verdicts.append(
            classify_unbound(
                UnboundFacts(
                    label_id,
                    store,
                    unbound_at,
                    bound_sku,
                    state.shown_hash,
                    row[0],
                    updates.get(label_id),
                    state.last_seen,
                    state.battery_mv,
                    clocks.get(store),
                )
            )
        )

    # A shelf must show the price of what the store's till sells: a product with a store
    # price here and no label bound here has no price on its shelf. The web price is no
    # test: a web-only product is on no shelf, and one sold at the till only needs a label.
    labelled = {(b.sku, b.store) for b in bound}
    unlabelled: dict[str, list[str]] = defaultdict(list)
    for store in store_codes:
        for sku in catalogue.products:
            if (sku, store) not in labelled and price_of(sku, store_channel, store) is not None:
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
        models={b.label_id: b.model for b in bound}
        | {label_id: model for label_id, (_, model, _) in unbound.items()},
        shown_contents={digest: row[1] for digest, row in shown_rows.items()},
        due=due_by_label,
        time_zone=time_zone,
    )


def _due_since(facts: LabelFacts, run: StorePriceRun | None) -> datetime | None:
    """When the price due to the label of `facts` started, by its store's ledger: for a
    label showing another amount, another product or nothing known, when the due amount
    began, however many entries a card or regular price changed beside it wrote since;
    else when the entry in force began (`ContentChanges` dates what differs from there).
    A due amount the ledger has not recorded yet (its instant just came) is dated by the
    entry in force, as before."""
    if run is None:
        return None
    shown, due = facts.shown, facts.due
    if (
        due is not None
        and run.price == due.price
        and (
            shown is None
            or shown.sku != facts.sku
            or shown.price != due.price.amount
            or shown.currency != due.currency
        )
    ):
        return run.amount_since
    return run.started


def _resolve_or_none(
    catalogue: Catalogue,
    key: PriceKey,
    *,
    at: datetime,
    ledger: PriceLedger,
    locale: str,
    unknown: Callable[[str], object],
) -> ResolvedPrice | None:
    """The price of `key` at `at` as the engine (quotes, the pipeline) gives it; None when
    the product or the store is gone or no price applies, or when one applies but cannot
    be worked out (then `unknown` is told why). A product announced ahead (`on_sale_since`
    later) has its price like any other: `on_sale_since` only opens the Omnibus window
    (docs/pricing.md)."""
    if key.sku not in catalogue.products or key.store not in catalogue.stores:
        return None
    try:
        return resolve_key(catalogue, key, at=at, ledger=ledger, locale=locale)
    except NoApplicablePriceError:
        return None
    except CurrencyMismatchError as error:
        # A ledger in the currency used before a change: no price can be due here (the
        # pipeline does not plan the label either); the rest of the audit goes on.
        log.warning(
            "audit: %s in %s has no %s price: %s", key.sku, key.store, key.channel.value, error
        )
        unknown(str(error))
        return None


def _store_codes(session: Session, stores: Iterable[str] | None) -> list[str]:
    known = set(session.scalars(select(StoreRow.code)))
    if stores is None:
        return sorted(known)
    wanted = sorted(set(stores))
    for code in wanted:
        if code not in known:
            raise NotFoundError("store", code)
    return wanted


def _draws(
    shown: dict[str, Any],
    due: ResolvedPrice,
    catalogue: Catalogue,
    store: str,
    time_zone: str | None,
    *,
    twin: bool = False,
) -> bool:
    """Whether the recorded content `shown` draws exactly the label of `due`: asked only
    where their price fingerprints differ, which also cover what no label draws. Their
    `LabelContent.drawn` forms are compared, which the layout draws from: a reduction
    not announced draws a plain price, whatever its promotion and (undrawn) prior price.

    `twin`: `shown` was recorded for another product, but its image was rendered for
    `due`'s product all the same (the same pixels): what names the product is taken as
    drawn, the rest compared."""
    try:
        recorded = content_from_dict(shown)
    except ContentError:
        return False
    product = catalogue.products.get(due.sku)
    if product is None:
        return False
    due_content = LabelContent.from_resolved(
        product=product,
        price=due,
        locale=recorded.locale,
        timezone=label_time_zone(catalogue.stores.get(store), time_zone),
    )
    if twin:
        due_content = replace(
            due_content,
            sku=recorded.sku,
            gtin=recorded.gtin,
            name=recorded.name,
            brand=recorded.brand,
            web_url=recorded.web_url,
        )
    # The store's name as drawn: a renamed store is no price difference (nor is it to the
    # price fingerprints this stands in for).
    due_drawn = replace(due_content, store_name=recorded.store_name).drawn
    return due_drawn.fingerprint == recorded.drawn.fingerprint
