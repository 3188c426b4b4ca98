"""Planning: from what a label should show to a signed frame in the durable outbox.

For each bound label: resolve its product's `store`-channel price in its store at the
instant, build the `LabelContent`, and compare its key (template | model | content
fingerprint) with the label's desired key. Unchanged: nothing (idempotent). Changed:
render through the render cache (once per distinct content), encode a delta against the
image the label last reported showing when its planes are stored, a full image otherwise,
sign with the label's key and its next sequence number, supersede whatever older frame is
still open for the label, and add the frame to the outbox, all in the caller's
transaction.

A change effective later is planned ahead with `display_at`: the label stores the image
and flips at the instant. A label known not to hold timed images (`can_schedule` false,
learnt from its refusal) gets an immediate frame that is not sent before the instant.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from esl.audit.recording import record_label_content
from esl.db.models import (
    LabelBindingRow,
    LabelRow,
    LabelStateRow,
    LedgerEntryRow,
    OutboxRow,
    RenderedContentRow,
    core_table,
)
from esl.pipeline.errors import UnplannableLabelError
from esl.services.catalogue_loading import load_catalogue_slice, load_ledger_for_skus
from gateways.protocol import ImageEncoding, ImageUpdate, LabelFrame, encode_frame
from pricing import Catalogue, Channel, PriceLedger, ResolvedPrice, resolve
from pricing.errors import PricingError
from rendering.cache import RenderCache, RenderedLabel
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from rendering.encoding import Planes, content_hash
from rendering.errors import RenderingError
from rendering.templates import Fill, Template, default_template

__all__ = [
    "OPEN_STATUSES",
    "LabelPlanner",
    "PlanResult",
    "PricingSlice",
    "labels_changed_by_publication",
]

log = logging.getLogger(__name__)

# Outbox rows that still expect an answer (or a check-in, when parked).
OPEN_STATUSES = ("pending", "sent", "parked")
_CHUNK = 500
# Planes of recent images kept for deltas (9.5 kB each for a 2.9" label); the rest are
# read back from `rendered_contents`.
_MAX_PLANES = 4_000


@dataclass(slots=True)
class PlanResult:
    planned: int = 0
    unchanged: int = 0
    unplannable: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PricingSlice:
    skus: frozenset[str]
    catalogue: Catalogue
    ledger: PriceLedger


@dataclass(frozen=True, slots=True)
class _Target:
    label_id: str
    store: str
    gateway: str | None
    model: str
    key: bytes
    binding_id: int
    sku: str
    template: str


def labels_changed_by_publication(session: Session, publication_id: int) -> list[str]:
    """Labels bound to a (SKU, store) whose shelf price the publication changed.

    The ledger entries a publication wrote name exactly the keys whose price changes at
    its effective instant; labels show the `store` channel.
    """
    keys = {
        (sku, store)
        for sku, store in session.execute(
            select(LedgerEntryRow.sku, LedgerEntryRow.store).where(
                LedgerEntryRow.publication_id == publication_id,
                LedgerEntryRow.channel == Channel.STORE.value,
            )
        )
    }
    if not keys:
        return []
    skus = sorted({sku for sku, _ in keys})
    labels: list[str] = []
    for start in range(0, len(skus), _CHUNK):
        rows = session.execute(
            select(LabelBindingRow.label_id, LabelBindingRow.sku, LabelRow.store)
            .join(LabelRow, LabelRow.id == LabelBindingRow.label_id)
            .where(
                LabelBindingRow.unbound_at.is_(None),
                LabelBindingRow.sku.in_(skus[start : start + _CHUNK]),
            )
        )
        labels += [label for label, sku, store in rows if (sku, store) in keys]
    return sorted(labels)


class LabelPlanner:
    """Plans label updates; holds the render cache and the planes of recent images."""

    def __init__(self, *, cache: RenderCache, locale: str, currency: str) -> None:
        self.cache = cache
        self.locale = locale
        self.currency = currency
        self._planes: dict[str, tuple[str, Planes]] = {}
        self._unstored: set[str] = set()
        self._traced: set[str] = set()  # content hashes recorded for the audit
        self._contents: dict[
            tuple[str, str, datetime, bool], tuple[ResolvedPrice, LabelContent, str]
        ] = {}

    # ------------------------------------------------------------ planning

    def plan(
        self,
        session: Session,
        *,
        at: datetime,
        now: datetime,
        label_ids: Collection[str] | None = None,
        display_at: datetime | None = None,
        keep_scheduled: bool = False,
        prices: PricingSlice | None = None,
    ) -> PlanResult:
        """Plan `label_ids` (None: every bound label) for the content in force at `at`.

        `prices` is the catalogue and ledger of their SKUs when the caller loaded them
        once for several chunks (`load_prices`); else they are loaded here.

        `display_at` makes the frames timed (a change planned ahead). `keep_scheduled`
        leaves alone labels that already hold a plan for a later instant (a periodic
        re-plan must not undo a scheduled flip).
        """
        result = PlanResult()
        self._contents = {}  # prices may change between plans: resolve afresh each time
        targets = self._targets(session, label_ids)
        if not targets:
            return result
        skus = {t.sku for t in targets}
        if prices is None or not skus <= prices.skus:
            prices = self.load_prices(session, skus)
        catalogue, ledger = prices.catalogue, prices.ledger
        states = self._states(session, [t.label_id for t in targets])
        frames: list[dict[str, Any]] = []
        superseded: list[str] = []
        for target in targets:
            state = states.get(target.label_id)
            if state is None:
                state = LabelStateRow(label_id=target.label_id, last_sequence=0, can_schedule=True)
                session.add(state)
                states[target.label_id] = state
            if (
                keep_scheduled
                and state.desired_display_at is not None
                and state.desired_display_at > now
            ):
                result.unchanged += 1
                continue
            try:
                changed, frame = self._plan_one(
                    session, target, state, catalogue, ledger, at=at, now=now, display_at=display_at
                )
            except UnplannableLabelError as error:
                result.unplannable[target.label_id] = error.reason
                log.warning("%s", error.message)
                continue
            if changed:
                superseded.append(target.label_id)
            if frame is None:
                result.unchanged += 1
            else:
                frames.append(frame)
        self._supersede(session, superseded, now=now)
        self._store_planes(session, now=now)
        if frames:
            session.execute(insert(core_table(OutboxRow)), frames)
        session.flush()
        result.planned = len(frames)
        return result

    def _plan_one(
        self,
        session: Session,
        target: _Target,
        state: LabelStateRow,
        catalogue: Catalogue,
        ledger: PriceLedger,
        *,
        at: datetime,
        now: datetime,
        display_at: datetime | None,
    ) -> tuple[bool, dict[str, Any] | None]:
        """(whether the desired content changed, the new outbox row if one is needed)."""
        if target.gateway is None:
            raise UnplannableLabelError(target.label_id, "no gateway reaches it")
        try:
            model = get_display_model(target.model)
            template = default_template(model)
            resolved, content, fingerprint = self._content(
                catalogue, ledger, target, at=at, with_store=_shows_store(template)
            )
        except (PricingError, RenderingError, KeyError) as error:
            raise UnplannableLabelError(target.label_id, f"no content: {error}") from error
        desired_key = f"{template.cache_key}|{model.id}|{fingerprint}"
        if (
            state.desired_key == desired_key
            and state.desired_display_at == display_at
            and state.binding_id == target.binding_id
        ):
            return False, None
        rendered = self.cache.render(content, model=model, template=template)
        digest = rendered.content_hash.hex()
        self._remember(digest, model.id, rendered.planes)
        if digest not in self._traced:
            # The audit answers "which price does this image show" from this record.
            record_label_content(
                session, content_hash=digest, content=content, resolved=resolved, at=now
            )
            if len(self._traced) >= _MAX_PLANES:
                self._traced.clear()
            self._traced.add(digest)
        state.desired_key = desired_key
        state.desired_hash = digest
        state.desired_display_at = display_at
        state.binding_id = target.binding_id
        if display_at is None and state.displayed_hash == digest:
            # Already on the panel (a price that came back): only drop older open frames.
            state.confirmed_hash = digest
            return True, None
        timed = display_at if state.can_schedule else None
        return True, self.frame_values(
            state,
            target.label_id,
            store=target.store,
            gateway=target.gateway,
            key=target.key,
            model_id=model.id,
            rendered=rendered,
            base=self.planes_of(session, state.displayed_hash, model_id=model.id),
            display_at=timed,
            not_before=now if timed is not None or display_at is None else display_at,
            now=now,
        )

    def load_prices(self, session: Session, skus: Collection[str]) -> PricingSlice:
        """What resolving `skus` needs: their catalogue slice and their ledger."""
        return PricingSlice(
            skus=frozenset(skus),
            catalogue=load_catalogue_slice(session, skus, currency=self.currency),
            ledger=load_ledger_for_skus(session, skus),
        )

    def dispatch_order(
        self, session: Session, label_ids: Collection[str]
    ) -> tuple[list[str], set[str]]:
        """The bound labels among `label_ids`, round-robin over their gateways (so every
        chunk planned feeds every store), and the SKUs they show."""
        by_gateway: dict[str | None, list[_Target]] = {}
        for target in self._targets(session, label_ids):
            by_gateway.setdefault(target.gateway, []).append(target)
        # Within a gateway, labels of one product follow each other: one render serves
        # them all while it is still in the render cache.
        queues = [
            [t.label_id for t in sorted(targets, key=lambda t: (t.sku, t.label_id))]
            for targets in by_gateway.values()
        ]
        skus = {t.sku for targets in by_gateway.values() for t in targets}
        ordered = [
            queue[position]
            for position in range(max((len(queue) for queue in queues), default=0))
            for queue in queues
            if position < len(queue)
        ]
        return ordered, skus

    def _content(
        self,
        catalogue: Catalogue,
        ledger: PriceLedger,
        target: _Target,
        *,
        at: datetime,
        with_store: bool,
    ) -> tuple[ResolvedPrice, LabelContent, str]:
        """The price and content of (SKU, store) at `at`; labels of one product in one
        store (several facings) share them, so each is resolved once per plan.

        The store's name goes into the content only when the template prints it: else
        the same price in many stores is one content, rendered once.
        """
        key = (target.sku, target.store, at, with_store)
        known = self._contents.get(key)
        if known is None:
            resolved = resolve(
                catalogue,
                sku=target.sku,
                channel=Channel.STORE,
                store=target.store,
                at=at,
                ledger=ledger,
                locale=self.locale,
            )
            content = LabelContent.from_resolved(
                product=catalogue.products[target.sku],
                price=resolved,
                store=catalogue.stores.get(target.store) if with_store else None,
                locale=self.locale,
            )
            known = self._contents[key] = (resolved, content, content.fingerprint)
        return known

    # ------------------------------------------------------------ frames

    def frame_values(
        self,
        state: LabelStateRow,
        label_id: str,
        *,
        store: str,
        gateway: str,
        key: bytes,
        model_id: str,
        rendered: RenderedLabel,
        base: Planes | None,
        display_at: datetime | None,
        not_before: datetime,
        now: datetime,
    ) -> dict[str, Any]:
        """The outbox row of a signed image update; takes the label's next sequence number."""
        image = self.cache.update(shown=base, new=rendered)
        full = self.cache.full(rendered)
        delta = image != full and base is not None
        sequence = state.last_sequence + 1
        base_hash = content_hash(base) if delta and base is not None else None
        update_command = ImageUpdate(
            model_id=model_id,
            encoding=ImageEncoding.DELTA if delta else ImageEncoding.FULL,
            content_hash=rendered.content_hash,
            image=image,
            base_hash=base_hash,
            display_at=display_at,
        )
        try:
            payload = encode_frame(
                LabelFrame(label_id=label_id, sequence=sequence, command=update_command), key=key
            )
        except ValueError as error:
            raise UnplannableLabelError(label_id, f"cannot sign: {error}") from error
        state.last_sequence = sequence
        return {
            "label_id": label_id,
            "store": store,
            "gateway": gateway,
            "sequence": sequence,
            "content_hash": rendered.content_hash.hex(),
            "base_hash": base_hash.hex() if base_hash else None,
            "display_at": display_at,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "not_before": not_before,
            "created_at": now,
        }

    def planes_of(self, session: Session, digest: str | None, *, model_id: str) -> Planes | None:
        """The planes of an image of `model_id` by content hash: memory, else the database."""
        if digest is None:
            return None
        known = self._planes.get(digest)
        if known is None:
            row = session.get(RenderedContentRow, digest)
            if row is None:
                return None
            planes = Planes(width=row.width, height=row.height, black=row.black, accent=row.accent)
            known = self._remember(digest, row.model, planes, stored=True)
        model, planes = known
        return planes if model == model_id else None

    def _remember(
        self, digest: str, model_id: str, planes: Planes, *, stored: bool = False
    ) -> tuple[str, Planes]:
        if len(self._planes) >= _MAX_PLANES:
            # A bounded memory: forget what the database already keeps.
            self._planes = {d: known for d, known in self._planes.items() if d in self._unstored}
        known = self._planes.setdefault(digest, (model_id, planes))
        if not stored:
            self._unstored.add(digest)
        return known

    # ------------------------------------------------------------ database

    def _targets(self, session: Session, label_ids: Collection[str] | None) -> list[_Target]:
        statement = (
            select(
                LabelRow.id,
                LabelRow.store,
                LabelRow.gateway,
                LabelRow.model,
                LabelRow.secret_key,
                LabelBindingRow.id,
                LabelBindingRow.sku,
                LabelBindingRow.template,
            )
            .join(LabelBindingRow, LabelBindingRow.label_id == LabelRow.id)
            .where(LabelBindingRow.unbound_at.is_(None))
        )
        rows: list[Any] = []
        if label_ids is None:
            rows = list(session.execute(statement.order_by(LabelRow.id)))
        else:
            ordered = sorted(set(label_ids))
            for start in range(0, len(ordered), _CHUNK):
                chunk = ordered[start : start + _CHUNK]
                rows += session.execute(statement.where(LabelRow.id.in_(chunk)))
        return [_Target(*row) for row in rows]

    def _states(self, session: Session, label_ids: list[str]) -> dict[str, LabelStateRow]:
        found: dict[str, LabelStateRow] = {}
        for start in range(0, len(label_ids), _CHUNK):
            chunk = label_ids[start : start + _CHUNK]
            for row in session.scalars(
                select(LabelStateRow).where(LabelStateRow.label_id.in_(chunk))
            ):
                found[row.label_id] = row
        return found

    def _supersede(self, session: Session, label_ids: Iterable[str], *, now: datetime) -> None:
        """Newer content replaces every open frame of these labels."""
        ordered = sorted(set(label_ids))
        for start in range(0, len(ordered), _CHUNK):
            session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.label_id.in_(ordered[start : start + _CHUNK]),
                    OutboxRow.status.in_(OPEN_STATUSES),
                )
                .values(status="superseded", settled_at=now)
            )

    def _store_planes(self, session: Session, *, now: datetime) -> None:
        """Keep the planes of every image sent, so deltas survive a controller restart."""
        wanted = sorted(self._unstored)
        self._unstored.clear()
        known: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            known.update(
                session.scalars(
                    select(RenderedContentRow.content_hash).where(
                        RenderedContentRow.content_hash.in_(wanted[start : start + _CHUNK])
                    )
                )
            )
        missing = [digest for digest in wanted if digest not in known]
        if missing:
            session.execute(
                insert(core_table(RenderedContentRow)),
                [
                    {
                        "content_hash": digest,
                        "model": model,
                        "width": planes.width,
                        "height": planes.height,
                        "black": planes.black,
                        "accent": planes.accent,
                        "created_at": now,
                    }
                    for digest in missing
                    for model, planes in (self._planes[digest],)
                ],
            )


def _shows_store(template: Template) -> bool:
    return any(region.fill is Fill.STORE_FOOTER for region in template.regions)
