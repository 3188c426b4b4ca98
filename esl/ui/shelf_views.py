"""What the console's pages show, read from the store of record: per-store counts, the
labels of a store with their state, one label's record (a publication's reach:
`esl.ui.publication_reach`).

States come from the one label-state classifier (`esl.services.health.label_conditions`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.models import (
    LabelAcknowledgementRow,
    LabelBindingRow,
    LabelRow,
    LabelStateRow,
    OutboxRow,
    ProductRow,
    StoreRow,
)
from esl.delivery_states import PanelForgottenBy
from esl.pipeline.images import stored_images, stored_planes
from esl.services.health import LabelConditionRow, StoreHealth, label_conditions, label_health
from esl.services.label_status import LabelStatus, StatusThresholds
from esl.services.panel_image import PanelSource, flip_instant, panel_image
from rendering.display_models import get_display_model
from rendering.encoding import image_from_planes
from rendering.render import preview_png

__all__ = [
    "LabelLine",
    "LabelPanel",
    "attention_first",
    "label_image_png",
    "label_panel",
    "store_labels",
]

STATE_FILTERS = (
    *(status.value for status in LabelStatus),
    "offline",
    "low_battery",
)


def attention_first(health: list[StoreHealth]) -> list[StoreHealth]:
    """Stores needing attention first: failed, unplanned (labels nothing will update
    until someone acts), then offline, then pending labels."""
    return sorted(
        health,
        key=lambda h: (-h.failed, -h.unplanned, -h.offline, -h.low_battery, -h.pending, h.store),
    )


@dataclass(frozen=True, slots=True)
class LabelLine:
    label_id: str
    store: str
    sku: str | None
    product: str | None
    gtin: str | None
    status: str
    reason: str | None
    offline: bool
    low_battery: bool
    battery_mv: int | None
    last_seen: datetime | None
    shown_hash: str | None  # what the panel shows (`panel_image`), not only what is confirmed
    due_hash: str | None
    shown_source: PanelSource = PanelSource.CONFIRMED
    shown_known: bool = True  # the controller holds the image's planes (it sent it)

    @property
    def differs(self) -> bool:
        """What is due is not what it shows."""
        return self.due_hash is not None and self.due_hash != self.shown_hash


def store_labels(
    session: Session,
    *,
    store: str,
    now: datetime,
    thresholds: StatusThresholds,
    state: str | None = None,
    search: str | None = None,
) -> list[LabelLine]:
    """The labels of `store`, filtered by state and by a label id, SKU, EAN or name."""
    bound = {
        label_id: (sku, name, gtin)
        for label_id, sku, name, gtin in session.execute(
            select(LabelBindingRow.label_id, ProductRow.sku, ProductRow.name, ProductRow.gtin)
            .join(ProductRow, ProductRow.sku == LabelBindingRow.sku)
            .join(LabelRow, LabelRow.id == LabelBindingRow.label_id)
            .where(LabelBindingRow.unbound_at.is_(None), LabelRow.store == store)
        )
    }
    hashes = {
        label_id: (desired, confirmed, displayed, held, held_at, offset)
        for label_id, desired, confirmed, displayed, held, held_at, offset in session.execute(
            select(
                LabelStateRow.label_id,
                LabelStateRow.desired_hash,
                LabelStateRow.confirmed_hash,
                LabelStateRow.displayed_hash,
                LabelStateRow.held_hash,
                LabelStateRow.held_display_at,
                LabelStateRow.clock_offset_ms,
            )
            .join(LabelRow, LabelRow.id == LabelStateRow.label_id)
            .where(LabelRow.store == store)
        )
    }
    wanted = _Search.of(search) if search else None
    chosen = []
    for row in label_conditions(session, now=now, stores=[store], thresholds=thresholds):
        if wanted is not None and not wanted.finds(row.label_id, bound.get(row.label_id)):
            continue
        if state and not _in_state(row, state):
            continue
        desired, confirmed, displayed, held, held_at, offset = hashes.get(
            row.label_id, (None, None, None, None, None, None)
        )
        panel = panel_image(
            confirmed=confirmed,
            displayed=displayed,
            held=held,
            held_at=held_at,
            at=now,
            clock_offset_ms=offset,
        )
        chosen.append((row, panel, desired))
    known = stored_images(session, (panel.digest for _, panel, _ in chosen))
    lines = []
    for row, panel, desired in chosen:
        sku, name, gtin = bound.get(row.label_id, (None, None, None))
        lines.append(
            LabelLine(
                label_id=row.label_id,
                store=row.store,
                sku=sku,
                product=name,
                gtin=gtin,
                status=row.condition.status.value,
                reason=row.condition.reason,
                offline=row.condition.offline,
                low_battery=row.condition.low_battery,
                battery_mv=row.battery_mv,
                last_seen=row.last_seen,
                shown_hash=panel.digest,
                due_hash=desired,
                shown_source=panel.source,
                shown_known=panel.digest is None or panel.digest in known,
            )
        )
    return lines


@dataclass(frozen=True, slots=True)
class LabelPanel:
    """What one label's page draws: the image on its panel, whose word that is and since
    when, and the image due beside it."""

    shown: str | None
    source: PanelSource
    known: bool  # the controller holds the shown image's planes (it sent it)
    # REPORTED: when the label last reported showing it; FLIPPED: the instant it flipped at.
    since: datetime | None
    due: str | None
    due_at: datetime | None  # the instant a timed due image is shown from

    @property
    def differs(self) -> bool:
        """What is due is not what it shows."""
        return self.due is not None and self.due != self.shown


def label_panel(session: Session, state: LabelStateRow | None, *, now: datetime) -> LabelPanel:
    """What the label's panel shows, as the audit judges it (`panel_image`), and what is
    due: never the confirmed image when the label last said it shows another."""
    if state is None:
        return LabelPanel(None, PanelSource.CONFIRMED, True, None, None, None)
    panel = panel_image(
        confirmed=state.confirmed_hash,
        displayed=state.displayed_hash,
        held=state.held_hash,
        held_at=state.held_display_at,
        at=now,
        clock_offset_ms=state.clock_offset_ms,
    )
    since = None
    if panel.source is PanelSource.REPORTED:
        # Its last believed word with that image (check-ins and answers are kept).
        since = session.scalar(
            select(func.max(LabelAcknowledgementRow.at)).where(
                LabelAcknowledgementRow.label_id == state.label_id,
                LabelAcknowledgementRow.displayed_hash == panel.digest,
            )
        )
        since = since or state.last_seen
    elif panel.source is PanelSource.FLIPPED:
        # When its own clock, as last known, reached the instant.
        held_at = state.held_display_at
        since = None if held_at is None else flip_instant(held_at, state.clock_offset_ms)
    return LabelPanel(
        shown=panel.digest,
        source=panel.source,
        known=panel.digest is None or bool(stored_images(session, [panel.digest])),
        since=since,
        due=state.desired_hash,
        due_at=state.desired_display_at,
    )


def _in_state(row: LabelConditionRow, state: str) -> bool:
    if state == "offline":
        return row.condition.offline
    if state == "low_battery":
        return row.condition.low_battery
    return row.condition.status.value == state


def _folded(text: str) -> str:
    """`text` as compared case-insensitively in any script: "Śmietana", "ŚMIETANA" and
    an "Ś" typed as S and a combining accent alike, "STRASSE" as "Straße". Compared here,
    not in SQL: SQLite's lower() and LIKE fold ASCII letters only, PostgreSQL's lower()
    follows the database's collation (ASCII only under "C"), and LIKE reads `_` and `%`
    as wildcards."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, slots=True)
class _Search:
    """The store view's search: a label id or product name containing the text, in any
    letter case; the SKU; the EAN or GTIN (a scanner types an EAN-13; the record may hold
    the 14-digit GTIN)."""

    text: str
    folded: str
    codes: frozenset[str]

    @classmethod
    def of(cls, search: str) -> _Search:
        text = search.strip()
        codes = {text}
        if text.isdigit():
            codes |= {text.zfill(14), text.lstrip("0")}
        return cls(text=text, folded=_folded(text), codes=frozenset(codes))

    def finds(self, label_id: str, product: tuple[str, str, str | None] | None) -> bool:
        if self.folded in _folded(label_id):
            return True
        if product is None:
            return False
        sku, name, gtin = product
        return sku == self.text or gtin in self.codes or self.folded in _folded(name)


def label_image_png(session: Session, digest: str | None, *, model_id: str) -> bytes | None:
    """The PNG of an image the pipeline rendered (by content hash), in the model's colours."""
    stored = None if digest is None else stored_planes(session, digest)
    if stored is None:
        return None
    _, planes = stored
    try:
        palette = get_display_model(model_id).palette
    except KeyError:
        palette = None
    return preview_png(image_from_planes(planes, palette=palette))


def label_history(session: Session, label_id: str, *, limit: int = 15) -> dict[str, Any]:
    """The label's last updates (outbox rows) and acknowledgements, newest first."""
    updates = session.execute(
        select(
            OutboxRow.sequence,
            OutboxRow.status,
            OutboxRow.attempts,
            OutboxRow.created_at,
            OutboxRow.settled_at,
            OutboxRow.parked_reason,
            OutboxRow.display_at,
        )
        .where(OutboxRow.label_id == label_id)
        .order_by(OutboxRow.id.desc())
        .limit(limit)
    ).all()
    # A label checks in every few seconds with the sequence it last took: one line per
    # answer to a frame, its check-ins counted.
    acks = session.execute(
        select(
            LabelAcknowledgementRow.sequence,
            LabelAcknowledgementRow.reason,
            func.min(LabelAcknowledgementRow.at).label("at"),
            func.max(LabelAcknowledgementRow.at).label("last_at"),
            func.count().label("times"),
            func.max(LabelAcknowledgementRow.acked_hash).label("acked_hash"),
        )
        .where(LabelAcknowledgementRow.label_id == label_id)
        .group_by(LabelAcknowledgementRow.sequence, LabelAcknowledgementRow.reason)
        .order_by(func.max(LabelAcknowledgementRow.id).desc())
        .limit(limit)
    ).all()
    # An operation of the controller's that made the record forget the panel (a refresh,
    # a model swap, an association: `panel_history`) is its own note, not the label's
    # answer: shown apart, so staff do not read "refresh asked" as something it said.
    notes = {by.value for by in PanelForgottenBy}
    return {
        "updates": updates,
        "acks": [{**ack._asdict(), "controller_note": ack.reason in notes} for ack in acks],
    }


def visible_stores(session: Session, store: str | None) -> list[str]:
    """Every store, or a store key's one store."""
    if store is not None:
        return [store]
    return list(session.scalars(select(StoreRow.code).order_by(StoreRow.code)))


def overview(
    session: Session, *, now: datetime, stores: list[str], thresholds: StatusThresholds
) -> list[StoreHealth]:
    return attention_first(label_health(session, now=now, stores=stores, thresholds=thresholds))
