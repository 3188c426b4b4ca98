"""Classifying one label: what it shows against what is due in its store and on the web.

Pure: facts in, a verdict out, no database and no clock. A label bound to no product is
listed only while its panel last showed a priced image (`unbound_showing_price`, a price
nobody maintains: `classify_unbound`). Every bound label lands in exactly one class,
tried in this order (the first that applies wins):

1. `no_longer_sold`  the bound product has no store price at the instant: fix the binding;
2. `offline`         `esl.services.label_status.is_offline`: silent for `offline_after`, its
                     store gateway offline, or its update parked as unreachable;
3. `low_battery`     `is_low_battery`: battery under `low_battery_mv`, or its update parked
                     for a flat battery (the same rule and thresholds as `esl health`);
4. `unconfirmed`     it never acknowledged nor reported any content, or it last reported
                     the due image but a frame of another image, sent since its newest
                     believed answer, is unanswered: the panel may show that one; or it
                     holds a timed flip to the due image whose instant has passed and it
                     has not been heard since: the panel may still show the image before;
5. `unknown_content` it reports an image the controller never rendered (changed behind the
                     controller's back);
6. `stale`           it shows another price than the one due (update pending or failed),
                     or the due price with a promotion's last day dated in another time
                     zone than its store's;
7. `intended_difference` / `match`  it shows the due store price, which differs from the
                     web price because of a named rule or promotion, or equals it.

Health comes before content because an unreachable label can neither be verified nor
corrected: the fix is a visit to the shelf, whatever it shows. Each verdict still says
whether the label shows the due price (`shows_due`) and since when it has not
(`wrong_since`), so an offline label with an old price is counted by `--fail-after`.

The instants a reason names are read on the store's clock (`LabelFacts.time_zone`), to
the second with the offset it has then, for an auditor comparing them with the wall
clock (docs/audit.md, *Instants in reasons*); the verdict's fields stay UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfoNotFoundError

from esl.delivery_states import OutboxStatus, ParkReason, park_text
from esl.local_times import shown_time
from esl.services.label_status import StatusThresholds, is_low_battery, is_offline
from pricing import PriorPrice, PriorPriceBasis, PromotionSummary, ResolvedPrice

__all__ = [
    "AuditClass",
    "LabelFacts",
    "LabelVerdict",
    "OpenUpdate",
    "PriorPriceProblem",
    "ShownContent",
    "Thresholds",
    "UnansweredFrame",
    "UnboundFacts",
    "check_prior_price",
    "classify_label",
    "classify_unbound",
    "shows_due_price",
]


class AuditClass(StrEnum):
    UNBOUND_SHOWING_PRICE = "unbound_showing_price"
    NO_LONGER_SOLD = "no_longer_sold"
    OFFLINE = "offline"
    LOW_BATTERY = "low_battery"
    UNCONFIRMED = "unconfirmed"
    UNKNOWN_CONTENT = "unknown_content"
    STALE = "stale"
    INTENDED_DIFFERENCE = "intended_difference"
    MATCH = "match"

    @property
    def is_mismatch(self) -> bool:
        return self not in (AuditClass.MATCH, AuditClass.INTENDED_DIFFERENCE)


# One definition of offline and low battery for health, audit and demo.
Thresholds = StatusThresholds


@dataclass(frozen=True, slots=True)
class ShownContent:
    """The price behind a content hash (a `label_contents` row)."""

    content_hash: str
    sku: str  # the product it was rendered for
    currency: str
    price: Decimal
    regular_price: Decimal
    # The prior price its prior-price line prints: None where it prints none (a label
    # announcing no reduction and drawing no card badge prints none, whatever the
    # engine's prior price was).
    prior_price: Decimal | None
    promotion_id: str | None
    price_fingerprint: str
    # Which rule the label's prior-price line names (its caption), when it has one.
    prior_price_basis: PriorPriceBasis | None = None
    # What the label draws beside its price (its recorded content): a stale label at the
    # due amount is told apart from the due label by these in its reason.
    struck_price: Decimal | None = None  # the struck-through "was" price
    badge: str | None = None  # the promotion's text
    unit_price: Decimal | None = None
    unit_label: str | None = None
    # Its recorded content announces a reduction (`LabelContent.announces_reduction`: a
    # struck-through price, or a badge of no conditional offer): only such a label must
    # print the prior price. A reduction that saves nothing against the 30-day low is
    # drawn as a plain price, its price under its regular price all the same.
    announces_reduction: bool = False
    # It prints a prior-price line (`LabelContent.shows_prior_price`): beside an announced
    # reduction, and beside a loyalty-card badge with a prior price (a reduction for the
    # card's members), so its prior price is checked against the card holders' ledger.
    shows_prior_price: bool = False
    # The card price its loyalty-card badge states (`esl.audit.card_badge`), None where it
    # draws none: its prior-price line is the one of that card price, not the one due.
    card_price: Decimal | None = None
    # The instant its price was resolved for (the `label_contents` row's): the card price
    # it states is the run of it charged then, not a later run of the same amount.
    priced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OpenUpdate:
    """The newest outbox frame of a label that was neither acknowledged nor superseded."""

    status: str  # pending | sent | parked | held (waits for the label's earlier frame)
    since: datetime
    attempts: int
    reason: str | None  # the parked reason (a ParkReason), if parked
    detail: str | None = None  # what the parked reason leaves open (a reason code)

    @property
    def reason_text(self) -> str | None:
        """The parked reason as users read it ("rejected: WRONG_MODEL")."""
        return park_text(self.reason, self.detail)


class UnansweredFrame(NamedTuple):
    """A frame of another image than the due one, sent to the label after its newest
    believed answer (signed with a later sequence: what `LabelState.settled_on` reads)
    and unanswered since: the label may have taken it, its answer lost, so the panel may
    show it whatever the label last reported."""

    content_hash: str
    shown: ShownContent | None  # None: an image without a recorded price
    sent_at: datetime
    # Not a frame sent: the image the label showed before a timed flip whose instant
    # (`sent_at`) has passed, unheard since. The controller counts the flip done, but a
    # label whose battery sagged below a refresh skips it and keeps this image.
    before_flip: bool = False


class LabelFacts(NamedTuple):
    """Everything known about one label at the audit instant.

    NamedTuples rather than frozen dataclasses (as `PriceKey`): an audit builds one of
    these and one `LabelVerdict` per label, 100,000 at a time, and tuples are built in C.
    """

    label_id: str
    store: str
    sku: str
    bound_at: datetime
    shown_hash: str | None  # what the label last reported showing (or confirmed)
    shown: ShownContent | None  # None: the hash is unknown to the controller
    due: ResolvedPrice | None  # the store-channel price due now; None: not sold
    web: ResolvedPrice | None  # the web price in this store now; None: not on the web
    due_since: datetime | None  # when the due price started to apply (the ledger)
    update: OpenUpdate | None
    last_seen: datetime | None
    battery_mv: int | None
    gateway_online: bool = True  # its store gateway's last status (live audits only)
    # The unknown `shown_hash` is an image the controller sent this label that shows no
    # price (its identification screen, before its first product image): not tampering.
    sent_without_price: bool = False
    # The shown content draws exactly what the due content draws, though their price
    # fingerprints differ (a running promotion renamed: its name is not drawn).
    draws_due: bool = False
    # (printed, due): the shown content has the due price fingerprint but prints the
    # promotion's last day of another time zone than its store's (esl/audit/dating.py).
    misdated: tuple[date, date] | None = None
    # The newest frame of another image sent since its newest believed answer: the panel
    # may show it (None: every frame signed since shows the due image, or none was sent).
    unanswered: UnansweredFrame | None = None
    # Why the controller could not plan the content due now (`label_states`), if so.
    unplanned: str | None = None
    # An unknown `shown_hash`: when the label began reporting it without a break (its
    # first report of it after its last of another image), when its reports are kept.
    reporting_since: datetime | None = None
    # The IANA zone of its store's clock (`stores.time_zone`, else the installation's or
    # the locale's): the reason reads its instants on it. None: in UTC.
    time_zone: str | None = None
    # Why the web price that applies could not be worked out (the web's ledger holds an
    # old currency), when `web` is None for that reason rather than for no web price.
    web_unknown: str | None = None


class UnboundFacts(NamedTuple):
    """A label bound to no product whose panel last showed a priced image."""

    label_id: str
    store: str
    unbound_at: datetime  # when its last binding ended
    bound_sku: str  # the product of that binding
    shown_hash: str
    shown: ShownContent
    update: OpenUpdate | None  # its identification screen's frame, if still open
    last_seen: datetime | None
    battery_mv: int | None
    time_zone: str | None = None  # its store's clock, as `LabelFacts.time_zone`


class LabelVerdict(NamedTuple):
    label_id: str
    store: str
    sku: str
    audit_class: AuditClass
    reason: str  # one line a compliance officer reads
    since: datetime | None  # when the label entered this class, as far as known
    shows_due: bool  # the shelf shows the due store price
    wrong_since: datetime | None  # when the shelf stopped showing the due price
    shown_hash: str | None
    shown_price: Decimal | None
    due_price: Decimal | None
    web_price: Decimal | None
    rule: str | None  # intended_difference: the rule or promotion that makes it
    attempts: int | None
    last_reason: str | None
    last_seen: datetime | None
    battery_mv: int | None

    def age(self, at: datetime) -> timedelta | None:
        return None if self.since is None else at - self.since


@dataclass(frozen=True, slots=True)
class PriorPriceProblem:
    """A label announcing a reduction with another prior price, or another caption for
    it, than the ledger gives: the 30-day low, a new product's lowest since it went on
    sale, or a perishable product's price before its first reduction."""

    label_id: str
    store: str
    sku: str  # the product announced (a label re-bound since shows the earlier one's)
    shown_price: Decimal
    shown_prior: Decimal | None
    expected_prior: Decimal | None
    shown_basis: PriorPriceBasis | None = None
    expected_basis: PriorPriceBasis | None = None


def shows_due_price(facts: LabelFacts) -> bool:
    """Whether the label shows the due content: the due label prices, of the product it
    is bound to (the price fingerprint leaves the product out, and a label re-bound to
    another product at the same price still shows the first one's name and code), with
    the promotion's last day dated in its store's time zone, and no frame of another
    image sent since its newest believed answer (`unanswered`: the panel may show that)."""
    due, shown = facts.due, facts.shown
    return (
        due is not None
        and shown is not None
        and shown.sku == facts.sku
        and (shown.price_fingerprint == due.fingerprint or facts.draws_due)
        and facts.misdated is None
        and facts.unanswered is None
    )


def classify_label(facts: LabelFacts, *, at: datetime, thresholds: Thresholds) -> LabelVerdict:
    """The one class of a label at `at`; see the module docstring for the order."""
    due, shown, update, last_seen = facts.due, facts.shown, facts.update, facts.last_seen
    shows_due = shows_due_price(facts)
    wrong_since = None if shows_due else _wrong_since(facts)
    if facts.shown_hash is not None and shown is None and not facts.sent_without_price:
        # An image the controller never sent: wrong since the label first said so, not
        # since its latest check-in (a forged price checking in every ten minutes would
        # never be overdue); its last report when no earlier one is kept.
        wrong_since = facts.reporting_since or last_seen
    parked_update = update if update is not None and update.status == OutboxStatus.PARKED else None
    parked = None if parked_update is None else parked_update.reason
    parked_text = None if parked_update is None else parked_update.reason_text
    rule: str | None = None
    since: datetime | None
    if due is None:
        audit_class = AuditClass.NO_LONGER_SOLD
        reason = f"{facts.sku} has no store price here: unbind the label or price the product"
        since = facts.bound_at
    elif is_offline(
        last_seen=last_seen,
        gateway_online=facts.gateway_online,
        parked_reason=parked,
        now=at,
        thresholds=thresholds,
    ):
        audit_class = AuditClass.OFFLINE
        heard = _clock(last_seen, facts.time_zone) if last_seen is not None else "never"
        reason = f"not heard since {heard}" + (f"; update parked ({parked_text})" if parked else "")
        if not facts.gateway_online:
            reason += "; its store gateway is offline"
        since = last_seen or (update.since if update is not None else facts.bound_at)
    elif is_low_battery(battery_mv=facts.battery_mv, parked_reason=parked, thresholds=thresholds):
        audit_class = AuditClass.LOW_BATTERY
        reasons = []
        if facts.battery_mv is not None and facts.battery_mv < thresholds.low_battery_mv:
            reasons.append(
                f"battery {facts.battery_mv} mV, under {thresholds.low_battery_mv} mV: "
                "replace it before the display stops refreshing"
            )
        elif facts.battery_mv is not None:
            reasons.append(f"battery {facts.battery_mv} mV")
        if parked == ParkReason.FLAT_BATTERY:
            reasons.append(f"update parked ({parked_text})")
        reason = "; ".join(reasons)
        since = last_seen or facts.bound_at
    elif facts.shown_hash is None:
        audit_class = AuditClass.UNCONFIRMED
        reason = "no content acknowledged yet" + _pending_text(update, facts)
        since = facts.bound_at
    elif shown is None and facts.sent_without_price:
        audit_class = AuditClass.STALE
        reason = f"shows its identification screen, due {facts.sku} at {due.price.amount}"
        reason += _pending_text(update, facts)
        since = wrong_since
    elif shown is None:
        audit_class = AuditClass.UNKNOWN_CONTENT
        reason = f"reports image {facts.shown_hash}, which the controller never sent"
        since = wrong_since
    elif facts.unanswered is not None and shows_due_price(facts._replace(unanswered=None)):
        # Its last report is the due image, but the controller signed and sent another
        # since, unanswered: the label may have taken it (its answer lost), as
        # `LabelState.settled_on` says when it sends the due image again. Not a match
        # until an answer covers that frame.
        # Likewise a flip to the due image it was not heard after: not a match on the
        # controller's assumption until a word signed after the instant says so.
        frame = facts.unanswered
        audit_class = AuditClass.UNCONFIRMED
        if frame.before_flip:
            reason = (
                f"holds {shown.price} {shown.currency} (due) timed for "
                f"{_clock(frame.sent_at, facts.time_zone)}, not heard since: the panel still "
                f"shows {_image_text(frame, facts)} if it could not draw the flip"
            )
        else:
            reason = (
                f"last reported {shown.price} {shown.currency} (due), but "
                f"{_frame_text(frame, facts)} was sent at "
                f"{_clock(frame.sent_at, facts.time_zone)} and is unanswered: the panel may show it"
            )
        reason += _pending_text(update, facts)
        since = frame.sent_at
    elif not shows_due:
        audit_class = AuditClass.STALE
        reason = f"shows {shown.price} {shown.currency}, due {due.price.amount}"
        if shown.sku != facts.sku:
            reason = f"shows {shown.sku} at {shown.price} {shown.currency}, due {facts.sku} at "
            reason += f"{due.price.amount}"
        elif facts.misdated is not None:
            printed, due_day = facts.misdated
            reason = (
                f"shows {shown.price} {shown.currency} until {printed.isoformat()}, due until "
                f"{due_day.isoformat()} (the promotion's last day in the store's time zone)"
            )
        elif shown.price == due.price.amount and shown.currency == due.currency:
            # The due amount drawn as another label (an ended promotion's badge and
            # struck-through price): "shows 47.99, due 47.99" would read as a right shelf.
            reason = (
                f"shows {shown.price} {shown.currency}, the due price, but with "
                + _drawn_difference(shown, due)
            )
        reason += _pending_text(update, facts)
        since = wrong_since
    else:
        rule = _difference(due, facts.web, web_unknown=facts.web_unknown)
        audit_class = AuditClass.MATCH if rule is None else AuditClass.INTENDED_DIFFERENCE
        reason = rule or "shows the store price, equal to the web"
        since = facts.due_since
    web = facts.web
    return LabelVerdict(
        facts.label_id,
        facts.store,
        facts.sku,
        audit_class,
        reason,
        since,
        shows_due,
        wrong_since,
        facts.shown_hash,
        shown.price if shown is not None else None,
        due.price.amount if due is not None else None,
        web.price.amount if web is not None else None,
        rule,
        update.attempts if update is not None else None,
        _update_reason(update),
        last_seen,
        facts.battery_mv,
    )


def classify_unbound(facts: UnboundFacts) -> LabelVerdict:
    """A label bound to no product whose panel last showed a priced image: listed, as no
    plan keeps that price right (its identification screen unanswered, or an
    unassociation the device did not confirm). Wrong since its binding ended."""
    shown = facts.shown
    reason = (
        f"bound to no product, still shows {shown.sku} at {shown.price} {shown.currency} "
        f"(unbound from {facts.bound_sku} at {_clock(facts.unbound_at, facts.time_zone)}): "
        "a price nobody maintains"
    )
    update = facts.update
    if update is None:
        reason += "; no identification screen planned"
    else:
        reason += (
            f"; its identification screen {update.status} since "
            f"{_clock(update.since, facts.time_zone)}, "
            f"{update.attempts} attempt(s)" + (f", {update.reason_text}" if update.reason else "")
        )
    return LabelVerdict(
        facts.label_id,
        facts.store,
        shown.sku,
        AuditClass.UNBOUND_SHOWING_PRICE,
        reason,
        facts.unbound_at,
        False,
        facts.unbound_at,
        facts.shown_hash,
        shown.price,
        None,
        None,
        None,
        update.attempts if update is not None else None,
        _update_reason(update),
        facts.last_seen,
        facts.battery_mv,
    )


def _frame_text(frame: UnansweredFrame, facts: LabelFacts) -> str:
    """What an unanswered frame shows, as the reason names it."""
    if frame.shown is None:
        return f"a frame of {_image_text(frame, facts)},"
    return f"a frame showing {_image_text(frame, facts)}"


def _image_text(frame: UnansweredFrame, facts: LabelFacts) -> str:
    """The price the image of `frame` shows ("2.49 PLN"; another product's, named)."""
    shown = frame.shown
    if shown is None:
        return f"image {frame.content_hash}, which shows no recorded price"
    if shown.sku != facts.sku:
        return f"{shown.sku} at {shown.price} {shown.currency}"
    return f"{shown.price} {shown.currency}"


def _drawn_difference(shown: ShownContent, due: ResolvedPrice) -> str:
    """What a label showing the due amount draws otherwise than the due label: another
    promotion or badge, a struck-through price, a prior-price line, a unit price. A
    promotion neither label draws a badge of (a reduction not announced), and a prior
    price printed by neither, are no difference on the shelf and not named."""
    promotion = due.promotion
    due_badge = promotion.text if promotion is not None else None
    differs = []
    # Without a badge on either, nothing of either promotion is drawn.
    badge_drawn = shown.badge is not None or due_badge is not None
    if badge_drawn and shown.promotion_id != (promotion.id if promotion is not None else None):
        differs.append(
            _versus(
                "promotion",
                _promotion_text(shown.promotion_id, shown.badge),
                None if promotion is None else _promotion_text(promotion.id, due_badge),
            )
        )
    elif shown.badge != due_badge:
        differs.append(_versus("badge", _quoted(shown.badge), _quoted(due_badge)))
    # The label strikes through the prior price, only when it may announce the reduction.
    due_struck = due.prior_price.amount if due.announces_reduction and due.prior_price else None
    if shown.struck_price != due_struck:
        differs.append(_versus("struck-through price", shown.struck_price, due_struck))
    shown_prior = _prior_line(shown.prior_price, shown.prior_price_basis)
    # Only a label announcing the reduction, or drawing a card price with a prior price,
    # prints its prior price (rendering.layout; `ResolvedPrice.shows_prior_price`).
    due_prior = _prior_line(
        due.prior_price.amount if due.shows_prior_price and due.prior_price else None,
        due.prior_price_basis,
    )
    if shown_prior != due_prior:
        differs.append(_versus("prior price", shown_prior, due_prior))
    due_unit = _unit_text(
        due.unit_price.amount if due.unit_price is not None else None, due.unit_label
    )
    shown_unit = _unit_text(shown.unit_price, shown.unit_label)
    if shown_unit != due_unit:
        differs.append(_versus("unit price", shown_unit, due_unit))
    if differs:
        return ", ".join(differs)
    if promotion is not None and due_badge is not None:
        return "other terms of the promotion (its last day, quantity or card) than the due ones"
    return "other label fields than the due ones"


def _versus(what: str, shown: object | None, due: object | None) -> str:
    """One drawn difference: "badge '-20 %' (none due)", "no unit price (3.49/l due)"."""
    if shown is None:
        return f"no {what} ({due} due)"
    if due is None:
        return f"{what} {shown} (none due)"
    return f"{what} {shown} (due {due})"


def _promotion_text(promotion_id: str | None, badge: str | None) -> str | None:
    if promotion_id is None:
        return None
    return promotion_id if badge is None else f"{promotion_id} {badge!r}"


def _quoted(text: str | None) -> str | None:
    return None if text is None else repr(text)


def _prior_line(amount: Decimal | None, basis: PriorPriceBasis | None) -> str | None:
    """A prior-price line as the label words it: the amount and, unless the 30-day low,
    the rule that gave it."""
    if amount is None:
        return None
    if basis is None or basis is PriorPriceBasis.LOWEST_30_DAYS:
        return str(amount)
    return f"{amount} {basis.value}"


def _unit_text(amount: Decimal | None, unit: str | None) -> str | None:
    if amount is None:
        return None
    return str(amount) if unit is None else f"{amount}/{unit}"


def _wrong_since(facts: LabelFacts) -> datetime | None:
    # The due price started at `due_since`, but the label cannot be late before it was bound.
    starts = [t for t in (facts.due_since, facts.bound_at) if t is not None]
    if facts.unanswered is not None and shows_due_price(facts._replace(unanswered=None)):
        # It last reported the due image: it may show another since that frame was sent.
        starts.append(facts.unanswered.sent_at)
    return max(starts) if starts else None


def _update_reason(update: OpenUpdate | None) -> str | None:
    if update is None:
        return None
    return update.reason_text or update.status


def _clock(instant: datetime, zone: str | None) -> str:
    """`instant` as the store's clock in `zone` shows it, with the offset it has then
    (`esl.local_times.shown_time`, as the console shows instants): "2026-12-07 12:02:03
    (+01:00)". The auditor reads it against the wall clock, and the offset keeps a label
    last heard in summer time from reading an hour off in winter. No zone, or one this
    machine does not know (its labels cannot be dated either: esl/audit/dating.py): UTC,
    "(+00:00)", never the reason lost."""
    try:
        return shown_time(instant, zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return shown_time(instant, "UTC")


def _pending_text(update: OpenUpdate | None, facts: LabelFacts) -> str:
    """What is on its way to the label; `facts.unplanned`: why the due content cannot be."""
    unplanned = facts.unplanned
    cannot = "" if unplanned is None else f"; the controller cannot plan it: {unplanned}"
    if update is None:
        return cannot or "; no update planned"
    return (
        f"; update {update.status} since {_clock(update.since, facts.time_zone)}, "
        f"{update.attempts} attempt(s)"
        + (f", {update.reason_text}" if update.reason else "")
        + cannot
    )


def _difference(
    due: ResolvedPrice, web: ResolvedPrice | None, *, web_unknown: str | None
) -> str | None:
    """Why the shelf (showing `due`) differs from the web, or None when it does not;
    `web_unknown`: why a web price that applies could not be worked out."""
    if web is None:
        if web_unknown is not None:
            return f"web price unknown: {web_unknown}"
        return "not sold on the web in this store"
    store_promotion = due.promotion.id if due.promotion is not None else None
    web_promotion = web.promotion.id if web.promotion is not None else None
    same_offer = (
        due.price == web.price
        and store_promotion == web_promotion
        and (
            due.promotion is None
            or web.promotion is None
            or due.promotion.effective_unit_price == web.promotion.effective_unit_price
        )
    )
    if same_offer:
        return None
    if due.price == web.price:
        # One price, different conditional offers (a card price, a multi-buy): the offers.
        return _offers_text(due.promotion, web.promotion)
    return _price_difference(due, web)


def _price_difference(due: ResolvedPrice, web: ResolvedPrice) -> str:
    """What makes one unit cost another price at the till than on the web: a promotion
    that changes the price on one side (not a conditional offer, which leaves the price
    as it is: docs/pricing.md), the price rules behind the regular prices, or both."""
    causes = []
    # A promotion is named only where it sets the unit price: a card price or a multi-buy
    # winning on one side leaves that side's unit price alone, so it is no cause.
    store_offer, web_offer = _price_promotion(due), _price_promotion(web)
    if _promotion_id(store_offer) != _promotion_id(web_offer):
        causes.append(_offers_text(store_offer, web_offer))
    if due.regular_price != web.regular_price:
        causes.append(_rules_text(due, web))
    if causes:
        return "; ".join(causes)
    if due.price_rule_id != web.price_rule_id:
        return _rules_text(due, web)
    return f"same rule {due.price_rule_id}, different price in the web channel"


def _price_promotion(resolved: ResolvedPrice) -> PromotionSummary | None:
    """The promotion that sets `resolved.price`, if any (no conditional offer)."""
    promotion = resolved.promotion
    if promotion is None or not promotion.changes_shelf_price:
        return None
    return promotion


def _promotion_id(promotion: PromotionSummary | None) -> str | None:
    return promotion.id if promotion is not None else None


def _offers_text(store: PromotionSummary | None, web: PromotionSummary | None) -> str:
    """The offers named as a difference: the store's and the web's (at least one)."""
    if store is not None and web is not None:
        # Both channels have an offer (one may apply to both but lose on the web).
        return (
            f"store promotion {store.id} ({store.kind.value}, {store.name!r}) "
            f"against web promotion {web.id} ({web.kind.value}, {web.name!r})"
        )
    if store is not None:
        return f"store promotion {store.id} ({store.kind.value}, {store.name!r}) not on the web"
    assert web is not None
    return f"web-only promotion {web.id} ({web.kind.value}, {web.name!r})"


def _rules_text(due: ResolvedPrice, web: ResolvedPrice) -> str:
    return (
        f"store price rule {due.price_rule_id} ({due.price_scope.value} scope) "
        f"against web rule {web.price_rule_id} ({web.price_scope.value} scope)"
    )


def check_prior_price(
    facts: LabelFacts, *, expected: PriorPrice | None
) -> PriorPriceProblem | None:
    """A problem when the label prints a prior-price line (`ShownContent.shows_prior_price`:
    it announces a reduction, or draws a loyalty-card badge with a prior price) with a
    prior price other than `expected`, the ledger's for its store and channel (for a card
    price, what card holders paid), or with the right amount under another rule's caption
    ("30-day low" for 10 days). A label printing none cannot print a wrong one; a card
    label that prints none where one is due is told by the drawn comparison (`stale`)."""
    shown = facts.shown
    if shown is None or not shown.shows_prior_price:
        return None
    due = expected.price.amount if expected is not None else None
    due_basis = expected.basis if expected is not None else None
    shown_basis = shown.prior_price_basis if shown.prior_price is not None else None
    if shown.prior_price == due and shown_basis == due_basis:
        return None
    return PriorPriceProblem(
        label_id=facts.label_id,
        store=facts.store,
        sku=shown.sku,  # the product announced: a re-bound label may show the earlier one
        shown_price=shown.price,
        shown_prior=shown.prior_price,
        expected_prior=due,
        shown_basis=shown_basis,
        expected_basis=due_basis,
    )
