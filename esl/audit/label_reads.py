"""What each label is bound to and shows, read from the store of record in bulk: the
audit's label facts (`esl.audit.gather` resolves and classifies them).

Now (a live audit): the bound labels with the pipeline's label states, what each panel
shows by `esl.services.panel_image`, the frames sent since a label's newest believed
answer (they may be on its panel unheard), and the labels bound to no product that may
still show a price. Then (a past instant): the bindings in force and what each label
showed by then, as the pipeline took it (`past_seen`; `esl.audit.past_panels` adds the
flips and frames unanswered then). One query each, chunked where a list of ids goes in;
nothing is queried per label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from esl.audit.card_badge import card_price_stated
from esl.audit.classify import OpenUpdate, ShownContent
from esl.db.audit_models import LabelContentRow
from esl.db.models import (
    GatewayStateRow,
    LabelAcknowledgementRow,
    LabelBindingRow,
    LabelRow,
    LabelStateRow,
    OutboxRow,
    core_table,
)
from esl.db.repositories import CHUNK, ColumnReader, driver_rows, in_chunks, raw
from esl.delivery_states import OPEN_STATUSES, OutboxStatus, RecordedPanel
from esl.services.panel_image import PanelSource, flip_instant, panel_image
from pricing import PriorPriceBasis
from rendering.content import CARD_OFFERS, announces_reduction, shows_prior_price

__all__ = [
    "Bound",
    "PanelWord",
    "Seen",
    "SentFrame",
    "bound_labels_now",
    "bound_labels_then",
    "ended_bindings",
    "label_filters",
    "labels_of",
    "last_panel_words",
    "newest_words",
    "open_updates",
    "past_seen",
    "reporting_since",
    "sent_without_price",
    "shown_contents",
    "unanswered_frames",
    "unbound_labels_now",
]

_labels = core_table(LabelRow)
_bindings = core_table(LabelBindingRow)
_states = core_table(LabelStateRow)
_outbox = core_table(OutboxRow)
_acks = core_table(LabelAcknowledgementRow)
_contents = core_table(LabelContentRow)


class Bound(NamedTuple):
    label_id: str
    store: str
    model: str
    sku: str
    bound_at: datetime


class SentFrame(NamedTuple):
    sequence: int
    content_hash: str
    sent_at: datetime
    # Not a frame sent: the image on the panel before a timed flip the label was not
    # heard after, dated at the flip's instant (`classify.UnansweredFrame.before_flip`).
    before_flip: bool = False


class Seen(NamedTuple):
    shown_hash: str | None
    last_seen: datetime | None
    battery_mv: int | None
    gateway_online: bool = True
    # The image last planned for the label's current binding (live audits only).
    planned_hash: str | None = None
    # The sequence of its newest believed answer when frames were signed after it (live
    # audits only; `LabelState.settled_on`): None when that answer covers them all.
    claim: int | None = None
    # Why the controller could not plan the content due now (live audits only).
    unplanned: str | None = None
    # The image it showed before a timed flip whose instant has passed, unheard since
    # (`shown_hash` is the flip's image, as `panel_image` counts it): the panel keeps
    # this one if the label could not draw the flip (live audits only).
    before_flip: SentFrame | None = None


def _in_service(at: datetime) -> ColumnElement[bool]:
    """A label not retired by `at`: one retired (broken, thrown away) is out of the audit
    from then on, so a label that will never answer its identification screen no longer
    alerts for ever; audited at an instant before, it is listed as it was."""
    return or_(_labels.c.retired_at.is_(None), _labels.c.retired_at > at)


def label_filters(
    column: ColumnElement[str], label_ids: Iterable[str], *, every: bool = False
) -> Iterator[ColumnElement[bool]]:
    """The conditions that read the rows of `label_ids` by `column` (a label id): one
    `IN` per chunk of them, so an audit of one store reads that store's labels by their
    index and not the chain's history; or, when `every` (the audit covers every store),
    one condition true of every row: one read of the table costs less than 200 chunks of
    500 (the chain's past audit, 100,000 labels: 3.1 s against 2.1 s for its kept words
    on SQLite), and the caller keeps the rows of `label_ids` as it reads them."""
    if every:
        yield true()
        return
    for chunk in in_chunks(sorted(set(label_ids))):
        yield column.in_(chunk)


def _bound_in(stores: list[str], *more: ColumnElement[Any]) -> Select[Any]:
    """The labels of `stores` with each binding (id, store, model, SKU, raw bound_at),
    then `more` columns; the caller says which bindings count. A retired label is bound
    to nothing from its retirement on (retiring ends its binding and none begins after)."""
    return (
        select(
            _labels.c.id,
            _labels.c.store,
            _labels.c.model,
            _bindings.c.sku,
            raw(_bindings.c.bound_at),
            *more,
        )
        .join(_bindings, _bindings.c.label_id == _labels.c.id)
        .where(_labels.c.store.in_(stores))
    )


def bound_labels_then(session: Session, stores: list[str], *, at: datetime) -> list[Bound]:
    """The labels bound at the past instant `at`."""
    statement = (
        _bound_in(stores)
        .where(
            _bindings.c.bound_at <= at,
            or_(_bindings.c.unbound_at.is_(None), _bindings.c.unbound_at > at),
        )
        .order_by(_labels.c.store, _labels.c.id)
    )
    instant = ColumnReader(session, _bindings.c.bound_at)
    return [
        Bound(label_id, store, model, sku, instant(bound_at))
        for label_id, store, model, sku, bound_at in session.execute(statement).all()
    ]


def bound_labels_now(
    session: Session, stores: list[str], *, at: datetime
) -> tuple[list[Bound], dict[str, Seen], dict[str, int]]:
    """The labels bound now, what each shows, from the pipeline's label states (one
    query), and the labels with frames signed after their newest believed answer (label
    id -> that answer's sequence, `Seen.claim`).

    The label's own last word (its displayed hash) wins over what it acknowledged, except
    for a timed image it confirmed whose instant has passed, on the label's clock as last
    known, since it last reported: the label flipped to it by itself
    (`esl.services.panel_image`, which the console draws by).
    """
    statement = (
        _bound_in(
            stores,
            *_PANEL,
            _bindings.c.id,
            _states.c.binding_id,
            _states.c.claim_sequence,
            _states.c.last_sequence,
            _states.c.unplanned_reason,
        )
        .outerjoin(_states, _states.c.label_id == _labels.c.id)
        .where(_bindings.c.unbound_at.is_(None))
    )  # unordered: the report sorts its verdicts
    panel = _PanelReader(session, at=at)
    bound: list[Bound] = []
    seen: dict[str, Seen] = {}
    claims: dict[str, int] = {}
    instant, seen_on, add = panel.instant, panel.seen, bound.append  # 100,000 rows
    end = 5 + len(_PANEL)
    for row in driver_rows(session, statement):
        label_id, store, model, sku, bound_at = row[:5]
        binding_id, planned_binding, claim, last_signed, unplanned = row[end:]
        add(Bound(label_id, store, model, sku, instant(bound_at)))
        # Frames signed after the newest believed answer may reach the panel unheard.
        if claim is not None and claim < last_signed:
            claims[label_id] = claim
        else:
            claim = None
        seen[label_id] = seen_on(store, row[5:end], planned_binding == binding_id, claim, unplanned)
    return bound, seen, claims


# What a label's state says of its panel: `_PanelReader.seen` reads these columns.
_PANEL = (
    _labels.c.gateway,
    _states.c.confirmed_hash,
    _states.c.displayed_hash,
    _states.c.desired_hash,
    _states.c.held_hash,
    raw(_states.c.held_display_at),
    raw(_states.c.last_seen),
    _states.c.battery_mv,
    _states.c.clock_offset_ms,
)


class _PanelReader:
    """What a label shows now, by its state's `_PANEL` columns and its gateway's status."""

    def __init__(self, session: Session, *, at: datetime) -> None:
        self.instant = ColumnReader(session, _states.c.last_seen)
        self.offline = _offline_gateways(session)
        self.at = at

    def seen(
        self,
        store: str,
        panel: Sequence[Any],
        planned_for_binding: bool = False,
        claim: int | None = None,
        unplanned: str | None = None,
    ) -> Seen:
        """`planned_for_binding`: the image last planned was for the label's current
        binding (`Seen.planned_hash`)."""
        (gateway, confirmed, displayed, desired, held, raw_held_at, raw_seen, battery, offset) = (
            panel
        )
        last_seen = self.instant(raw_seen)
        before_flip = None
        if raw_held_at is None:
            # No timed image held: `panel_image` says the label's last word, else the
            # confirmed image. Said here without the call: 100,000 labels an audit.
            shown = confirmed if displayed is None else displayed
        else:
            held_at = self.instant(raw_held_at)
            panel = panel_image(
                confirmed=confirmed,
                displayed=displayed,
                held=held,
                held_at=held_at,
                at=self.at,
                clock_offset_ms=offset,
            )
            shown = panel.digest
            if panel.source is PanelSource.FLIPPED and displayed not in (None, shown):
                # Flipped by the controller's count, not by the label's word: what it
                # last said it showed may still be on the panel.
                before_flip = SentFrame(0, displayed, flip_instant(held_at, offset), True)
        return Seen(
            shown,
            last_seen,
            battery,
            (store, gateway) not in self.offline,
            desired if planned_for_binding else None,
            claim,
            unplanned,
            before_flip,
        )


def _offline_gateways(session: Session) -> set[tuple[str, str]]:
    """A store gateway that is offline makes its labels offline (as in `esl health`)."""
    return {
        (store, gateway)
        for store, gateway in session.execute(
            select(GatewayStateRow.store, GatewayStateRow.gateway).where(
                GatewayStateRow.online.is_(False)
            )
        )
    }


def ended_bindings(
    session: Session, stores: list[str], *, at: datetime
) -> dict[str, tuple[str, datetime]]:
    """The labels of `stores` bound to no product at `at` whose last binding ended by
    then (label id -> that binding's product and end), in one query. A label never bound
    was never planned a price (it shows its identification screen). Only these stores'
    labels are read: a one-store audit does not read the chain's binding history."""
    current = _bindings.alias("current")
    in_force = select(current.c.id).where(
        current.c.label_id == _bindings.c.label_id,
        current.c.bound_at <= at,
        or_(current.c.unbound_at.is_(None), current.c.unbound_at > at),
    )
    statement = (
        select(_bindings.c.label_id, _bindings.c.sku, raw(_bindings.c.unbound_at))
        .join(_labels, _labels.c.id == _bindings.c.label_id)
        .where(
            _labels.c.store.in_(stores),
            _in_service(at),
            _bindings.c.unbound_at.is_not(None),
            _bindings.c.unbound_at <= at,
            ~in_force.exists(),
        )
    )
    instant = ColumnReader(session, _bindings.c.unbound_at)
    found: dict[str, tuple[str, datetime]] = {}
    for label_id, sku, raw_end in session.execute(statement):
        end = instant(raw_end)
        if label_id not in found or found[label_id][1] < end:
            found[label_id] = (sku, end)
    return found


def unbound_labels_now(
    session: Session, stores: list[str], label_ids: Iterable[str], *, at: datetime
) -> dict[str, tuple[str, str, Seen]]:
    """Of `label_ids` (labels bound to no product now), those of `stores` and what each
    shows by its state (label id -> its store, display model and what it shows)."""
    panel = _PanelReader(session, at=at)
    found: dict[str, tuple[str, str, Seen]] = {}
    for chunk in in_chunks(sorted(label_ids)):
        statement = (
            select(_labels.c.id, _labels.c.store, _labels.c.model, *_PANEL)
            .join(_states, _states.c.label_id == _labels.c.id)
            .where(_labels.c.id.in_(chunk), _labels.c.store.in_(stores), _in_service(at))
        )
        for row in driver_rows(session, statement):
            label_id, store, model = row[:3]
            found[label_id] = (store, model, panel.seen(store, row[3:]))
    return found


def labels_of(
    session: Session, stores: list[str], label_ids: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """Of `label_ids`, those of `stores`: label id -> its store and display model."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in in_chunks(sorted(label_ids)):
        rows = session.execute(
            select(_labels.c.id, _labels.c.store, _labels.c.model).where(
                _labels.c.id.in_(chunk), _labels.c.store.in_(stores)
            )
        )
        found.update({label_id: (store, model) for label_id, store, model in rows})
    return found


class PanelWord(NamedTuple):
    """A label's last word by an instant that the record took as its panel, or that made
    the record forget it (`last_panel_words`)."""

    id: int  # its row
    at: datetime  # when it arrived
    sequence: int  # the label's newest believed claim then
    shown_hash: str | None  # the panel it reports (None: blank, or forgotten)
    forgotten: bool  # the record forgot what the label shows


# A kept word the record took as the label's panel, or that made it forget the panel; a
# row kept before migration 0046 (panel NULL) when it names an image.
_SETS_PANEL = or_(
    _acks.c.panel.in_([RecordedPanel.REPORTED.value, RecordedPanel.FORGOTTEN.value]),
    and_(
        _acks.c.panel.is_(None),
        or_(_acks.c.displayed_hash.is_not(None), _acks.c.acked_hash.is_not(None)),
    ),
)


def newest_words(
    where: ColumnElement[bool], labels: ColumnElement[bool], *, at: datetime
) -> Select[Any]:
    """The id of the newest kept word at or before `at` matching `where` of each label
    the condition `labels` selects (`label_filters`): of its rows at that instant (words
    of one batch arriving together), the last written."""
    latest = (
        select(_acks.c.label_id, func.max(_acks.c.at).label("at"))
        .where(labels, _acks.c.at <= at, where)
        .group_by(_acks.c.label_id)
        .subquery()
    )
    return (
        select(func.max(_acks.c.id).label("id"))
        .join(latest, and_(latest.c.label_id == _acks.c.label_id, latest.c.at == _acks.c.at))
        .where(where)
        .group_by(_acks.c.label_id)
    )


def last_panel_words(
    session: Session, label_ids: Iterable[str], *, at: datetime, every: bool = False
) -> dict[str, PanelWord]:
    """Each label's last word at or before `at` that the record took as its panel
    (`RecordedPanel.REPORTED`: its displayed hash, else the image it acknowledged;
    neither: a blank panel) or that made the record forget what it shows (`FORGOTTEN`).
    A word the record did not take as the panel (`KEPT`) is passed over. `every`: the
    audit covers every store (`label_filters`)."""
    wanted = set(label_ids)
    found: dict[str, PanelWord] = {}
    for labels in label_filters(_acks.c.label_id, wanted, every=every):
        newest = newest_words(_SETS_PANEL, labels, at=at).subquery()
        statement = select(
            _acks.c.label_id,
            _acks.c.id,
            _acks.c.at,
            _acks.c.sequence,
            _acks.c.panel,
            _acks.c.displayed_hash,
            _acks.c.acked_hash,
        ).join(newest, newest.c.id == _acks.c.id)
        for label_id, row_id, word_at, sequence, panel, displayed, acked in session.execute(
            statement
        ):
            if label_id not in wanted:
                continue
            forgotten = panel == RecordedPanel.FORGOTTEN
            found[label_id] = PanelWord(
                row_id, word_at, sequence, None if forgotten else displayed or acked, forgotten
            )
    return found


def past_seen(
    session: Session,
    label_ids: list[str],
    *,
    at: datetime,
    words: dict[str, PanelWord] | None = None,
    every: bool = False,
) -> dict[str, Seen]:
    """What each label last said of its panel at or before `at`, as the pipeline took it
    then (`last_panel_words`: unknown where the record forgot it). A word the record did
    not take as the panel (`KEPT`: refused busy or damaged, older than a claim held: a
    label's backlog relayed late, an acknowledgement behind the check-in after it, a
    replay) leaves the panel taken before it. Heard: its last word whose health the
    record took. A row kept before migration 0046 says neither: it is the panel when it
    names an image, and the label heard. The flip of a timed image it held and the frames
    sent it unanswered are read beside it (`esl.audit.past_panels`). `words`: their
    `last_panel_words`, when read already; `every`: the audit covers every store."""
    wanted = set(label_ids)
    if words is None:
        words = last_panel_words(session, wanted, at=at, every=every)
    shown = {label_id: word.shown_hash for label_id, word in words.items()}
    heard: dict[str, datetime] = {}
    for labels in label_filters(_acks.c.label_id, wanted, every=every):
        heard_rows = (
            select(_acks.c.label_id, func.max(_acks.c.at))
            .where(
                labels,
                _acks.c.at <= at,
                or_(_acks.c.heard.is_(None), _acks.c.heard.is_(True)),
            )
            .group_by(_acks.c.label_id)
        )
        for label_id, last in session.execute(heard_rows):
            if label_id in wanted:
                heard[label_id] = last
    return {
        label_id: Seen(shown.get(label_id), heard.get(label_id), None)
        for label_id in shown.keys() | heard.keys()
    }


def open_updates(
    session: Session, label_ids: list[str], *, at: datetime, every: bool = False
) -> dict[str, OpenUpdate]:
    """The update of each label open at `at` (created by then, not settled by then): its
    newest frame, except that a frame held behind another (a timed image waiting for the
    image of now) is not the update while that one is open, and a parked frame is the
    update whatever is held behind it: the held flip waits for it, and `esl health`
    counts the label failed (offline, flat battery) by it. Read for `label_ids` only, by
    the outbox's label index: a one-store audit does not read the chain's outbox
    (`every`: the audit covers every store, `label_filters`)."""
    wanted = set(label_ids)
    found: dict[str, OpenUpdate] = {}
    # Of a label's open frames: parked first, then any but a held one, then the newest.
    rank: dict[str, tuple[bool, bool]] = {}
    instant = ColumnReader(session, _outbox.c.parked_at)
    for labels in label_filters(_outbox.c.label_id, wanted, every=every):
        statement = (
            select(
                _outbox.c.label_id,
                _outbox.c.sequence,
                _outbox.c.status,
                _outbox.c.created_at,
                _outbox.c.attempts,
                _outbox.c.parked_reason,
                _outbox.c.parked_detail,
                raw(_outbox.c.parked_at),
            )
            .where(
                labels,
                _outbox.c.created_at <= at,
                or_(_outbox.c.settled_at.is_(None), _outbox.c.settled_at > at),
            )
            .order_by(_outbox.c.label_id, _outbox.c.sequence)
        )
        for (
            label_id,
            _sequence,
            status,
            created,
            attempts,
            reason,
            detail,
            parked_at,
        ) in session.execute(statement):
            if label_id not in wanted:
                continue
            # A row settled after `at` was still waiting at `at`, whatever its status now:
            # parked if it was by then, else on its way (when a row was parked is known
            # since migration 0018; a row parked before it counts as parked).
            if parked_at is not None:
                if instant(parked_at) <= at:
                    status = OutboxStatus.PARKED.value
                else:
                    status, reason, detail = OutboxStatus.SENT.value, None, None
            shown_status = status if status in OPEN_STATUSES else OutboxStatus.SENT.value
            weight = (shown_status == OutboxStatus.PARKED, shown_status != OutboxStatus.HELD)
            if label_id in rank and weight < rank[label_id]:
                continue
            rank[label_id] = weight
            found[label_id] = OpenUpdate(
                status=shown_status, since=created, attempts=attempts, reason=reason, detail=detail
            )
    return found


def unanswered_frames(
    session: Session, claims: dict[str, int], seen: dict[str, Seen], *, at: datetime
) -> dict[str, list[SentFrame]]:
    """Per label of `claims` (label id -> the sequence of its newest believed answer,
    where frames were signed after it), the frames signed after that answer, sent by
    `at` and not acknowledged, newest first, whatever their status now (a superseded
    frame that was sent may have reached the panel): `LabelState.settled_on`'s
    sequences, read for every label in one query. A timed frame counts once its instant
    has come on the label's clock: one whose clock the controller knows ahead
    (`clock_offset_ms`) flips that much before the controller's instant (`flip_instant`,
    as for a held image). Last, per label of `seen` that flipped unheard, the image it
    showed before (`Seen.before_flip`): it may be on the panel as well."""
    found: dict[str, list[SentFrame]] = defaultdict(list)
    for label_id, state in seen.items():
        if state.before_flip is not None:
            found[label_id].append(state.before_flip)
    if not claims:
        return found
    statement = (
        select(
            _outbox.c.label_id,
            _outbox.c.sequence,
            _outbox.c.content_hash,
            raw(_outbox.c.sent_at),
            raw(_outbox.c.display_at),
            _states.c.clock_offset_ms,
        )
        .join(_states, _states.c.label_id == _outbox.c.label_id)
        .where(
            _states.c.claim_sequence < _states.c.last_sequence,
            _outbox.c.sequence > _states.c.claim_sequence,
            _outbox.c.sent_at.is_not(None),
            # Answered and taken: what the label said then is weighed as its word.
            _outbox.c.status != OutboxStatus.ACKED.value,
        )
    )
    instant = ColumnReader(session, _outbox.c.sent_at)
    for label_id, sequence, digest, sent_at, display_at, offset in driver_rows(session, statement):
        claim = claims.get(label_id)
        if claim is None or sequence <= claim:
            continue
        sent = instant(sent_at)
        if sent > at or (display_at is not None and flip_instant(instant(display_at), offset) > at):
            continue
        found[label_id].append(SentFrame(sequence, digest, sent))
    for frames in found.values():
        frames.sort(reverse=True)
    return found


def sent_without_price(session: Session, unknown: dict[str, str], *, at: datetime) -> set[str]:
    """Which labels of `unknown` (label id -> a shown hash no recorded content has) show
    an image the controller planned for them by `at`: a screen without a price (the
    identification screen), not one changed behind its back. Rare, so asked for alone."""
    found: set[str] = set()
    for chunk in in_chunks(sorted(unknown)):
        rows = session.execute(
            select(_outbox.c.label_id, _outbox.c.content_hash).where(
                _outbox.c.label_id.in_(chunk), _outbox.c.created_at <= at
            )
        )
        found.update(label_id for label_id, digest in rows if unknown[label_id] == digest)
    return found


def shown_contents(
    session: Session, hashes: set[str]
) -> dict[str, tuple[ShownContent, dict[str, Any]]]:
    found: dict[str, tuple[ShownContent, dict[str, Any]]] = {}
    ordered = sorted(hashes)
    for chunk in in_chunks(ordered):
        for row in session.execute(
            select(
                _contents.c.content_hash,
                _contents.c.sku,
                _contents.c.currency,
                _contents.c.price,
                _contents.c.regular_price,
                _contents.c.prior_price,
                _contents.c.promotion_id,
                _contents.c.price_fingerprint,
                _contents.c.content,
                _contents.c.resolved_at,
            ).where(_contents.c.content_hash.in_(chunk))
        ):
            shown = ShownContent(
                content_hash=row.content_hash,
                sku=row.sku,
                currency=row.currency,
                price=row.price,
                regular_price=row.regular_price,
                promotion_id=row.promotion_id,
                price_fingerprint=row.price_fingerprint,
                prior_price_basis=_prior_basis(row.content),
                priced_at=row.resolved_at,
                **_drawn(
                    row.content, price=row.price, prior_price=row.prior_price, currency=row.currency
                ),
            )
            found[row.content_hash] = (shown, row.content)
    return found


_BASES = {basis.value: basis for basis in PriorPriceBasis}


def _drawn(
    content: dict[str, Any], *, price: Decimal, prior_price: Decimal | None, currency: str
) -> dict[str, Any]:
    """What the label of `price` draws beside it (`ShownContent.prior_price`,
    `struck_price` and on), from a rendered content's JSON form (`content_to_dict`); a
    value it lacks or cannot be read is None. Its prior price (the row's, the content's)
    only where the label prints its line, as rendering.layout draws it
    (`LabelContent.shows_prior_price`: beside an announced reduction or a loyalty-card
    badge): the engine gives one to every promotion, announced or not. The card price a
    loyalty-card badge states, read from its text (`card_price_stated`)."""
    fields = content.get("price")
    fields = fields if isinstance(fields, dict) else {}
    promotion = fields.get("promotion")
    promotion = promotion if isinstance(promotion, dict) else {}
    badge = promotion.get("text")
    badge = badge if isinstance(badge, str) else None
    kind = promotion.get("kind")
    kind = kind if isinstance(kind, str) else None
    unit = fields.get("unit_label")
    struck = _amount(fields.get("regular_price"))
    locale = content.get("locale")
    card = (
        card_price_stated(badge, currency=currency, locale=locale)
        if badge is not None and kind in CARD_OFFERS and isinstance(locale, str)
        else None
    )
    announced = announces_reduction(
        price=price, regular_price=struck, promotion_text=badge, promotion_kind=kind
    )
    shown_prior = shows_prior_price(
        announced=announced, promotion_text=badge, promotion_kind=kind, prior_price=prior_price
    )
    return {
        "prior_price": prior_price if shown_prior else None,
        "announces_reduction": announced,
        "shows_prior_price": shown_prior,
        "struck_price": struck if struck is not None and struck > price else None,
        "badge": badge,
        "unit_price": _amount(fields.get("unit_price")),
        "unit_label": unit if isinstance(unit, str) else None,
        "card_price": card,
    }


def _amount(value: object) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _prior_basis(content: dict[str, Any]) -> PriorPriceBasis | None:
    """The rule a rendered content's prior-price line names (read only where the row has
    a prior price): content stored before the basis was a field names the 30-day low; an
    unknown name is a caption the audit can't vouch for (None, reported against the one
    due)."""
    name = (content.get("price") or {}).get("prior_price_basis")
    if not name:
        return PriorPriceBasis.LOWEST_30_DAYS
    return _BASES.get(name) if isinstance(name, str) else None


def reporting_since(
    session: Session, reported: dict[str, str], *, at: datetime
) -> dict[str, datetime]:
    """When each label of `reported` (label id -> the image it reports) began reporting
    that image without a break, as of `at`: its first report of it after its last report
    of another image. Every believed check-in and answer is kept with what the label said
    it showed (`label_acknowledgements`), so a label that keeps checking in with an image
    the controller never sent is dated by its first report of it, not its latest. Meant
    for those few labels (`unknown_content`): one query per chunk of them, by the
    acknowledgements' (label, instant) index. A label with no such report is left out."""
    found: dict[str, datetime] = {}
    # Three lists of bound values per chunk: labels, and (label, image) pairs twice.
    for chunk in in_chunks(sorted(reported), size=CHUNK // 5):
        its_image = tuple_(_acks.c.label_id, _acks.c.displayed_hash).in_(
            [(label_id, reported[label_id]) for label_id in chunk]
        )
        # Its last report of another image by `at` (a report saying nothing of the
        # panel, a refusal, breaks nothing).
        other = (
            select(_acks.c.label_id, func.max(_acks.c.at).label("at"))
            .where(
                _acks.c.label_id.in_(chunk),
                _acks.c.at <= at,
                _acks.c.displayed_hash.is_not(None),
                ~its_image,
            )
            .group_by(_acks.c.label_id)
            .subquery()
        )
        statement = (
            select(_acks.c.label_id, func.min(_acks.c.at))
            .outerjoin(other, other.c.label_id == _acks.c.label_id)
            .where(its_image, _acks.c.at <= at, or_(other.c.at.is_(None), _acks.c.at > other.c.at))
            .group_by(_acks.c.label_id)
        )
        for label_id, first in session.execute(statement):
            found[label_id] = first
    return found
