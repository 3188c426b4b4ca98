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
and flips at the instant. The timed image travels in addition to the image of now, never
instead of it: a label not showing what is due now gets that first, and the timed frame
waits behind it (`held`, see `esl.pipeline.held_frames`). What the label shows is judged
as the audit judges it: a timed image it acknowledged holding whose instant has passed
is on its panel (`_panel_shows`). A change ahead of the flip a label holds that leaves
the label as it is now is a plan for now, and keeps the flip. A label known not to hold
timed images (`can_schedule` false, learnt from its refusal) gets an immediate frame that
is not sent before the instant; so does a label whose clock was found running ahead and
is not known to be set right yet (`clock_offset_ms`): it would flip the timed image early.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from esl.audit.recording import PlannedContent, record_label_contents
from esl.db.bulk import insert_rows
from esl.db.models import UNPLANNED_REASON_CHARS, LabelBindingRow, LabelRow
from esl.db.repositories import CHUNK, in_chunks, load_catalogue_slice, load_ledger_for_skus
from esl.pipeline.errors import UnplannableLabelError
from esl.pipeline.frames import FramePacker, supersede_open_frames
from esl.pipeline.images import ImageStore
from esl.pipeline.label_actions import forget_shown_of_refreshing
from esl.pipeline.label_states import (
    PLANNED_COLUMNS,
    LabelState,
    load_label_states,
    save_label_states,
)
from esl.pipeline.outbox_rows import OUTBOX
from esl.services.panel_image import panel_image
from esl.services.templates import load_templates, template_for
from pricing import Catalogue, Channel, PriceLedger, ResolvedPrice, resolve
from pricing.errors import PricingError
from pricing.products import label_time_zone
from rendering.cache import RenderCache, RenderedLabel
from rendering.content import LabelContent
from rendering.display_models import DisplayModel, get_display_model
from rendering.errors import RenderingError, TemplateError
from rendering.templates import Fill, Template

__all__ = [
    "CandidateKeys",
    "LabelPlanner",
    "PlanResult",
    "PlanTarget",
    "PricingSlice",
    "contents_due",
    "first_changes",
]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PlanResult:
    planned: int = 0
    unchanged: int = 0
    unplannable: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PricingSlice:
    """The catalogue and ledger of a plan's SKUs in its stores, shared by all of its
    chunks: the price rules and ledger of those stores only (and of wider scopes), so a
    chain planned store by store never holds every store's prices at once.

    The ledger is filled chunk by chunk (each chunk reads the history of its own SKUs),
    so the set of SKUs it already holds is mutable and belongs to it: a copy of that set
    kept per chunk once made a product whose labels fell into two chunks have its
    history read twice into the one ledger, which refused the second copy
    (`LedgerOrderError`) and stopped the controller at every start.
    """

    skus: frozenset[str]
    stores: frozenset[str]
    catalogue: Catalogue
    ledger: PriceLedger
    # SKUs whose ledger is loaded or known not to be read (read per chunk when needed)
    ledger_skus: set[str]


@dataclass(frozen=True, slots=True)
class CandidateKeys:
    """A label a change may reach (`LabelPlanner.candidate_keys`): its store, the key
    planned for it now and its content identities at the instants it may change at."""

    store: str
    planned: str | None
    keys: tuple[tuple[datetime, str], ...]


def first_changes(found: Mapping[str, CandidateKeys]) -> dict[str, datetime]:
    """The labels `plan` will change, each with the first instant whose key differs from
    the one planned for it (what `plan` compares), sorted by label."""
    first: dict[str, datetime] = {}
    for label_id, candidate in sorted(found.items()):
        for instant, key in candidate.keys:
            if key != candidate.planned:
                first[label_id] = instant
                break
    return first


def contents_due(found: Mapping[str, CandidateKeys]) -> dict[str, set[tuple[str, ...]]]:
    """Per store, what the labels will show: each label's keys at its instants, earliest
    first, whatever is planned for it now. Labels showing the same are one entry, so a
    label bound meanwhile to a shelf beside its like changes nothing: what a change does
    to the shelves, however far the controller has got (the console compares it between
    a file's preview and its publish)."""
    due: dict[str, set[tuple[str, ...]]] = {}
    for candidate in found.values():
        due.setdefault(candidate.store, set()).add(tuple(key for _, key in candidate.keys))
    return due


@dataclass(frozen=True, slots=True)
class PlanTarget:
    """A bound label as planning needs it: where it hangs, its key and what it shows."""

    label_id: str
    store: str
    gateway: str | None
    model: str
    key: bytes
    binding_id: int
    sku: str
    template: str


class LabelPlanner:
    """Plans label updates; holds the render cache, and draws deltas from `images`."""

    def __init__(
        self,
        *,
        cache: RenderCache,
        images: ImageStore,
        locale: str,
        currency: str,
        time_zone: str | None = None,
    ) -> None:
        self.cache = cache
        self.images = images
        self.frames = FramePacker(cache)
        self.locale = locale
        self.currency = currency
        self.time_zone = time_zone  # where a store names none (None: the locale's)
        self._contents: dict[
            tuple[str, str, datetime, bool], tuple[ResolvedPrice, LabelContent, str]
        ] = {}
        # The stored ones this plan's labels use (one no longer valid as its error).
        self._templates: dict[str, Template | TemplateError] = {}
        # Within one plan: the render of each desired key (saves hashing the content).
        self._rendered: dict[str, RenderedLabel] = {}
        # Within one plan: why a desired key could not be drawn (not tried again per label).
        self._refused: dict[str, str] = {}
        # (template, model, finding) already logged: once per controller, not per plan
        self._reported_findings: set[tuple[str, str, str]] = set()

    # ------------------------------------------------------------ planning

    def plan(
        self,
        session: Session,
        *,
        at: datetime,
        now: datetime,
        label_ids: Collection[str] | None = None,
        targets: Sequence[PlanTarget] | None = None,
        display_at: datetime | None = None,
        keep_scheduled: bool = False,
        prices: PricingSlice | None = None,
    ) -> PlanResult:
        """Plan `label_ids` (None: every bound label) for the content in force at `at`,
        or `targets` when the caller read them already (`dispatch_order`).

        `prices` is the catalogue and ledger of their SKUs when the caller loaded them
        once for several chunks (`load_prices`); else they are loaded here.

        `display_at` makes the frames timed (a change planned ahead). A label that holds
        a flip for a later instant keeps it: planned for now (`display_at` None, or
        `keep_scheduled`, the periodic re-plan), or for an earlier instant at which its
        content stays what it is now, it is planned for its flip again, and gets a new
        image of now in front of it when the content due now is no longer what it shows.
        """
        result = PlanResult()
        self._contents = {}  # prices may change between plans: resolve afresh each time
        self._rendered = {}
        self._refused = {}
        self.frames.start_plan()
        if targets is None:
            targets = self._targets(session, label_ids)
        if not targets:
            return result
        self._templates = load_templates(session, {t.template for t in targets})
        skus = {t.sku for t in targets}
        stores = {t.store for t in targets}
        if prices is None or not (skus <= prices.skus and stores <= prices.stores):
            prices = self.load_prices(session, skus, stores=stores)
        elif not skus <= prices.ledger_skus:
            self._read_ledger_of(session, prices, skus)
        catalogue, ledger = prices.catalogue, prices.ledger
        # Locked until the chunk commits: another worker signing for one of these labels
        # meanwhile takes its next sequence number after this chunk's (`label_states`).
        states = load_label_states(session, [t.label_id for t in targets], lock=True)
        forget_shown_of_refreshing(session, states)
        frames: list[dict[str, Any]] = []
        superseded: list[str] = []
        traced: dict[str, PlannedContent] = {}  # for the audit, by content hash
        for target in targets:
            state = states[target.label_id]
            holds = state.desired_display_at
            label_at, label_display_at, refresh_now = at, display_at, False
            keeps: datetime | None = None
            if holds is not None and holds > now:
                same_binding = state.binding_id == target.binding_id
                if same_binding and display_at is not None and holds > display_at:
                    # A change ahead of the flip the label holds: it replaces the flip
                    # only if it changes the label at its instant (`_plan_one`).
                    keeps = holds
                elif same_binding and display_at is not None and holds < display_at:
                    # A label holds one timed image, the earliest: a later change is
                    # planned once this one's instant has passed (`UpdateController`).
                    result.unchanged += 1
                    continue
                if same_binding and (keep_scheduled or display_at is None):
                    # Planned for now while it holds a flip: an image of now alone would
                    # cancel the flip on the panel, so the flip is planned again, with
                    # the image of now in front of it when that is no longer what the
                    # label shows (an immediate change, a promotion that ended). A
                    # periodic re-plan leaves a label whose frames are still on their
                    # way to those frames.
                    label_at = label_display_at = holds
                    refresh_now = not keep_scheduled or state.confirmed_hash == state.desired_hash
                elif keep_scheduled:
                    result.unchanged += 1
                    continue
            if state.unplanned_reason is not None:
                # What is due now could not be drawn: a pass for a change ahead draws it
                # again too, or its unchanged timed image would pass for a plan and
                # clear the reason while the shelf keeps a price not due.
                refresh_now = True
            before = _planned_fields(state)
            try:
                changed, planned = self._plan_one(
                    session,
                    target,
                    state,
                    catalogue,
                    ledger,
                    at=label_at,
                    now=now,
                    display_at=label_display_at,
                    refresh_now=refresh_now,
                    traced=traced,
                    keeps=keeps,
                )
            except UnplannableLabelError as error:
                log.warning("%s", error.message)
                _left_unplanned(state, before, error.reason, result)
                continue
            except SQLAlchemyError:
                raise  # the database's, not this label's: the transaction is lost
            except Exception as error:
                # A fault of this label's content or image (a renderer crashing on one
                # product's name) must not keep every other label from its price.
                log.exception("label %s: not planned, unexpected error", target.label_id)
                _left_unplanned(state, before, _unexpected(error), result)
                continue
            if state.unplanned_reason is not None:
                state.unplanned_reason, state.changed = None, True
            if changed:
                superseded.append(target.label_id)
            if not planned:
                result.unchanged += 1
            else:
                frames += planned
        supersede_open_frames(session, superseded, now=now)
        save_label_states(session, states.values(), columns=PLANNED_COLUMNS)
        self.images.store_new(session, now=now)
        if traced:
            record_label_contents(session, list(traced.values()), at=now)
        insert_rows(session, OUTBOX, frames)
        result.planned = len(frames)
        return result

    def draw(
        self, session: Session, label_ids: Collection[str], *, at: datetime
    ) -> dict[str, RenderedLabel]:
        """What the bound labels among `label_ids` will show at `at`, drawn as `plan` draws
        them (their binding's template and its version, the store in the content only
        when the template prints it), with nothing planned, stored or sent: a preview is
        pixel for pixel the image planned. A label that cannot be drawn is left out."""
        self._contents = {}
        targets = self._targets(session, label_ids)
        if not targets:
            return {}
        self._templates = load_templates(session, {t.template for t in targets})
        prices = self.load_prices(
            session, {t.sku for t in targets}, stores={t.store for t in targets}
        )
        drawn: dict[str, RenderedLabel] = {}
        for target in targets:
            if target.gateway is None:
                continue  # `plan` leaves it out too: nothing reaches it
            try:
                model, template = self._layout(target)
                _, _, content = self._identity(
                    target, template, model, prices.catalogue, prices.ledger, at=at
                )
                drawn[target.label_id] = self.cache.render(content, model=model, template=template)
            except (UnplannableLabelError, RenderingError):
                continue
            except Exception:
                # As `_render`: the renderer failing on one content leaves that label out
                # (logged with its traceback), not the whole preview.
                log.exception("label %s: unexpected error drawing its preview", target.label_id)
                continue
        return drawn

    def candidate_keys(
        self, session: Session, candidates: Mapping[str, Sequence[datetime]]
    ) -> dict[str, CandidateKeys]:
        """The labels of `candidates` (label -> the instants it may change at, earliest
        first) with their content identities (desired keys) at those instants and the
        key planned for each now; nothing is planned, drawn or stored. A label on no
        gateway is left out (`plan` leaves it out), and so is an instant at which a label
        cannot be drawn (it keeps its image). Only keys are computed, each (SKU, store,
        instant) content once: a preview asks this of every label a file may change
        (`first_changes`, `contents_due`)."""
        self._contents = {}
        targets = self._targets(session, candidates)
        targets = [target for target in targets if target.gateway is not None]
        if not targets:
            return {}
        self._templates = load_templates(session, {t.template for t in targets})
        prices = self.load_prices(
            session, {t.sku for t in targets}, stores={t.store for t in targets}
        )
        states = load_label_states(session, [t.label_id for t in targets], create=False)
        found: dict[str, CandidateKeys] = {}
        for target in targets:
            state = states.get(target.label_id)
            try:
                model, template = self._layout(target)
            except UnplannableLabelError:
                continue
            found[target.label_id] = CandidateKeys(
                store=target.store,
                planned=None if state is None else state.desired_key,
                keys=tuple(
                    self._keys_at(target, template, model, prices, candidates[target.label_id])
                ),
            )
        return dict(sorted(found.items()))

    def _keys_at(
        self,
        target: PlanTarget,
        template: Template,
        model: DisplayModel,
        prices: PricingSlice,
        instants: Sequence[datetime],
    ) -> Iterator[tuple[datetime, str]]:
        for instant in instants:
            try:
                key, _, _ = self._identity(
                    target, template, model, prices.catalogue, prices.ledger, at=instant
                )
            except UnplannableLabelError:
                continue
            yield instant, key

    def _layout(self, target: PlanTarget) -> tuple[DisplayModel, Template]:
        """The label's display model and the template of its binding (a stored one when
        uploaded, else the model's default)."""
        try:
            model = get_display_model(target.model)
            return model, template_for(target.template, model, self._templates)
        except (RenderingError, KeyError) as error:
            raise UnplannableLabelError(target.label_id, f"no content: {error}") from error

    def _identity(
        self,
        target: PlanTarget,
        template: Template,
        model: DisplayModel,
        catalogue: Catalogue,
        ledger: PriceLedger,
        *,
        at: datetime,
    ) -> tuple[str, ResolvedPrice, LabelContent]:
        """The label's content at `at` and its identity, the desired key: everything a
        template draws (the content's fingerprint covers every field, validity text and
        locale included), the template and its version, and the display model. Equal
        keys draw equal pixels; the planner sends nothing for an unchanged key."""
        try:
            resolved, content, fingerprint = self._content(
                catalogue, ledger, target, at=at, with_store=_shows_store(template)
            )
        except (PricingError, RenderingError, KeyError) as error:
            raise UnplannableLabelError(target.label_id, f"no content: {error}") from error
        return f"{template.cache_key}|{model.id}|{fingerprint}", resolved, content

    def _render(
        self,
        desired_key: str,
        resolved: ResolvedPrice,
        content: LabelContent,
        *,
        template: Template,
        model: DisplayModel,
        traced: dict[str, PlannedContent],
        label_id: str,
    ) -> RenderedLabel:
        rendered = self._rendered.get(desired_key)
        if rendered is None:
            refused = self._refused.get(desired_key)
            if refused is not None:  # every label of a content it could not draw
                raise UnplannableLabelError(label_id, refused)
            try:
                rendered = self.cache.render(content, model=model, template=template)
            except RenderingError as error:
                # Refused (an announcement its template cannot draw lawfully, e.g. the
                # prior-price line overlapped): this label is left out, not the plan.
                refused = self._refused[desired_key] = f"not drawn: {error}"
                raise UnplannableLabelError(label_id, refused) from error
            except Exception as error:
                # The renderer itself failed on this content: logged with its traceback
                # once per plan, and the labels showing it left out, not the plan.
                log.exception("label %s: unexpected error drawing %s", label_id, desired_key)
                refused = self._refused[desired_key] = f"not drawn: {_unexpected(error)}"
                raise UnplannableLabelError(label_id, refused) from error
            self._rendered[desired_key] = rendered
            self._report_findings(rendered, template=template, model=model, sku=content.sku)
        digest = rendered.content_hash.hex()
        self.images.remember(digest, model.id, rendered.planes)
        if digest not in traced:
            # The audit answers "which price does this image show" from this record.
            traced[digest] = PlannedContent(digest, content, resolved)
        return rendered

    def _report_findings(
        self, rendered: RenderedLabel, *, template: Template, model: DisplayModel, sku: str
    ) -> None:
        """Log what a label leaves out (a barcode the template asks for and cannot draw),
        once per template, model and reason: a shelf must not lose a code silently."""
        for finding in rendered.findings:
            key = (template.cache_key, model.id, str(finding))
            if key in self._reported_findings:
                continue
            self._reported_findings.add(key)
            log.warning(
                "%s on %s (template %s, first seen for %s): %s",
                finding.kind.value,
                model.id,
                template.cache_key,
                sku,
                finding,
            )

    def _plan_one(
        self,
        session: Session,
        target: PlanTarget,
        state: LabelState,
        catalogue: Catalogue,
        ledger: PriceLedger,
        *,
        at: datetime,
        now: datetime,
        display_at: datetime | None,
        traced: dict[str, PlannedContent],
        refresh_now: bool = False,
        keeps: datetime | None = None,
    ) -> tuple[bool, list[dict[str, Any]]]:
        """(whether the desired content changed, the new outbox rows it needs).

        `refresh_now`: a change planned ahead whose timed image is unchanged is planned
        again when the image of now differs from what the label shows.

        `keeps`: the instant of the flip the label holds, later than `display_at`. When
        the change at `display_at` leaves the label as it is now (a deal for another
        store, a web-only one: a promotion item queues its SKU in every store), the plan
        is one for now, and keeps the flip as `plan` keeps it for those: an image of now
        alone would cancel the flip on the panel hours before its instant."""
        if target.gateway is None:
            raise UnplannableLabelError(target.label_id, "no gateway reaches it")
        model, template = self._layout(target)
        desired_key, resolved, content = self._identity(
            target, template, model, catalogue, ledger, at=at
        )
        now_content: tuple[str, ResolvedPrice, LabelContent] | None = None
        if display_at is not None:
            # A change planned ahead. Until its instant the label must show what is due
            # now, so the image of now travels with it, never replaced by it.
            now_content = self._identity(target, template, model, catalogue, ledger, at=now)
            if now_content[0] == desired_key and keeps is not None:
                # Nothing changes at this instant: the flip held is planned again.
                display_at, refresh_now = keeps, True
                desired_key, resolved, content = self._identity(
                    target, template, model, catalogue, ledger, at=keeps
                )
            if now_content[0] == desired_key:
                display_at = now_content = None  # nothing flips at the instant: due now
        render = functools.partial(
            self._render, template=template, model=model, traced=traced, label_id=target.label_id
        )
        shown = _panel_shows(state, now)
        if (
            display_at is None
            and state.desired_key == desired_key
            and state.binding_id == target.binding_id
            and state.desired_display_at is not None
            and state.desired_display_at <= now
            and state.confirmed_hash == state.desired_hash
        ):
            # Its acknowledged timed image, shown since the instant by the label's own
            # clock (heard since or not): nothing to send.
            return False, []
        if (
            state.desired_key == desired_key
            and state.desired_display_at == display_at
            and state.binding_id == target.binding_id
            and (
                not refresh_now
                or now_content is None
                or render(*now_content).content_hash.hex() == shown
            )
        ):
            return False, []
        rendered = render(desired_key, resolved, content)
        current = None if now_content is None else render(*now_content)
        digest = rendered.content_hash.hex()
        # Already on the panel, with nothing sent or held that could change it: only
        # drop older open frames. A frame already sent, or a timed image the label
        # holds, may still reach the panel, so then the image is sent again.
        settled = display_at is None and state.settled_on(digest) and shown == digest
        state.changed = True
        state.desired_key = desired_key
        state.desired_hash = digest
        state.desired_display_at = display_at
        state.binding_id = target.binding_id
        if settled:
            state.confirmed_hash = digest
            return True, []
        frame = functools.partial(
            self.frames.image_frame,
            state,
            target.label_id,
            store=target.store,
            gateway=target.gateway,
            key=target.key,
            model_id=model.id,
            now=now,
        )
        frames = []
        if current is not None and shown != current.content_hash.hex():
            # The label shows something else (blank when new): the image of now first.
            frames.append(
                frame(
                    rendered=current,
                    base=self.images.delta_base(session, shown, model_id=model.id),
                    display_at=None,
                    not_before=now,
                )
            )
            shown = current.content_hash.hex()
        timed = display_at if state.can_schedule and not _clock_ahead(state) else None
        frames.append(
            frame(
                rendered=rendered,
                base=self.images.delta_base(session, shown, model_id=model.id),
                display_at=timed,
                not_before=now if timed is not None or display_at is None else display_at,
                # Sent once the label holds the image of now: a gateway keeps one image
                # frame per label, and an immediate image cancels a pending flip.
                held=len(frames) > 0,
            )
        )
        return True, frames

    def load_prices(
        self,
        session: Session,
        skus: Collection[str],
        *,
        stores: Collection[str],
        ledger_now: bool = True,
    ) -> PricingSlice:
        """What resolving `skus` in `stores` needs: their catalogue slice and their
        ledger (or, with `ledger_now` false, none of it yet: `plan` reads each chunk's
        own)."""
        catalogue = load_catalogue_slice(session, skus, currency=self.currency, stores=stores)
        prices = PricingSlice(
            skus=frozenset(skus),
            stores=frozenset(stores),
            catalogue=catalogue,
            ledger=PriceLedger(),
            ledger_skus=set(),
        )
        if ledger_now:
            self._read_ledger_of(session, prices, skus)
        return prices

    def _read_ledger_of(
        self, session: Session, prices: PricingSlice, skus: Collection[str]
    ) -> None:
        """Add to `prices` the store-channel ledger of those of `skus` that can read it
        and whose ledger it does not hold yet.

        Resolving reads a SKU's ledger only for a promotion that lowers its shelf price or
        sets a card price (the Omnibus prior price, `Promotion.has_prior_price`): the
        history of every other SKU is not read at all. It
        grows with every publication, and reading it was a sixth of planning.
        """
        missing = set(skus) - prices.ledger_skus
        catalogue = prices.catalogue
        reading = {
            sku for sku in missing if any(p.has_prior_price for p in catalogue.promotions_for(sku))
        }
        load_ledger_for_skus(
            session,
            reading,
            channels=(Channel.STORE,),
            # One IN list: a wave of many small stores reads every store's entries.
            stores=prices.stores if len(prices.stores) <= CHUNK else None,
            into=prices.ledger,
        )
        # Recorded with the ledger itself, so no later chunk reads these SKUs again.
        prices.ledger_skus.update(missing)

    def dispatch_order(
        self, session: Session, label_ids: Collection[str]
    ) -> tuple[list[PlanTarget], set[str], set[str]]:
        """The bound labels among `label_ids`, round-robin over their gateways (so every
        chunk planned feeds every store), the SKUs they show and their stores."""
        by_gateway: dict[str | None, list[PlanTarget]] = {}
        for target in self._targets(session, label_ids):
            by_gateway.setdefault(target.gateway, []).append(target)
        # Within a gateway, labels of one product follow each other: one render serves
        # them all while it is still in the render cache.
        queues = [
            sorted(targets, key=lambda t: (t.sku, t.label_id)) for targets in by_gateway.values()
        ]
        skus = {t.sku for targets in by_gateway.values() for t in targets}
        stores = {t.store for targets in by_gateway.values() for t in targets}
        ordered = [
            queue[position]
            for position in range(max((len(queue) for queue in queues), default=0))
            for queue in queues
            if position < len(queue)
        ]
        return ordered, skus, stores

    def _content(
        self,
        catalogue: Catalogue,
        ledger: PriceLedger,
        target: PlanTarget,
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
            store = catalogue.stores.get(target.store)
            content = LabelContent.from_resolved(
                product=catalogue.products[target.sku],
                price=resolved,
                store=store if with_store else None,
                locale=self.locale,
                timezone=label_time_zone(store, self.time_zone),
            )
            known = self._contents[key] = (resolved, content, content.fingerprint)
        return known

    # ------------------------------------------------------------ database

    def _targets(self, session: Session, label_ids: Collection[str] | None) -> list[PlanTarget]:
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
            rows = list(session.execute(statement.order_by(LabelRow.id)).all())
        else:
            ordered = sorted(set(label_ids))
            for chunk in in_chunks(ordered):
                rows += session.execute(statement.where(LabelRow.id.in_(chunk))).all()
        return [PlanTarget(*row) for row in rows]


# What `_plan_one` may change in a label's state before it fails: put back by
# `_left_unplanned`, so a label that could not be planned keeps its last plan.
_PLANNED_FIELDS = (
    "desired_key",
    "desired_hash",
    "desired_display_at",
    "binding_id",
    "confirmed_hash",
    "last_sequence",
    "changed",
)


def _planned_fields(state: LabelState) -> tuple[Any, ...]:
    return tuple(getattr(state, name) for name in _PLANNED_FIELDS)


def _left_unplanned(
    state: LabelState, before: tuple[Any, ...], reason: str, result: PlanResult
) -> None:
    """Record that the label could not be planned, and why: it keeps the image it shows
    and its last plan, and health reports it `unplanned` with `reason` until a later plan
    succeeds (`label_status`)."""
    for name, value in zip(_PLANNED_FIELDS, before, strict=True):
        setattr(state, name, value)
    result.unplannable[state.label_id] = reason
    if len(reason) > UNPLANNED_REASON_CHARS:
        reason = reason[: UNPLANNED_REASON_CHARS - 1] + "…"
    if state.unplanned_reason != reason:
        state.unplanned_reason, state.changed = reason, True


def _unexpected(error: Exception) -> str:
    """An unexpected error as a reason users read (its traceback is in the log)."""
    return f"unexpected {type(error).__name__}: {error}".rstrip(": ")


_SHOWS_STORE: dict[str, bool] = {}


def _shows_store(template: Template) -> bool:
    # Asked for every label: remembered per template version (hashing a template costs
    # more than asking).
    known = _SHOWS_STORE.get(template.cache_key)
    if known is None:
        known = _SHOWS_STORE[template.cache_key] = any(
            region.fill is Fill.STORE_FOOTER for region in template.regions
        )
    return known


def _clock_ahead(state: LabelState) -> bool:
    """Whether the label's clock was last found running ahead (beyond the tolerance,
    `label_clocks`), and no answer since said it was set right. A timed image would flip
    on that clock, before its instant, while the till still charges the price of now:
    this happens whenever its SetClock is lost (sent by a worker that died, or by a
    controller killed before handing it over), as a SetClock unanswered is asked again
    only after an hour, and each re-plan sent the flip again, shown at once."""
    return state.clock_offset_ms is not None and state.clock_offset_ms > 0


def _panel_shows(state: LabelState, now: datetime) -> str | None:
    """The image the label's panel shows now as planning judges it: its last word
    (`displayed_hash`; None: blank, or a refresh that wants the whole image), except a
    timed image it acknowledged holding whose instant has passed on its clock, which it
    flipped to unheard (the rule of `esl.services.panel_image`). Judged by its last word
    alone, a label that flipped to a ten-minute promotion during a stall was taken to
    show the regular price due again, and a change planned ahead went without the image
    of now: the ended promotion stayed on the shelf until the periodic re-plan
    (`tests/pipeline/test_promotion_ended_during_a_stall_with_a_change_ahead.py`)."""
    if state.displayed_hash is None or state.held_hash is None:
        return state.displayed_hash
    return panel_image(
        confirmed=state.displayed_hash,
        displayed=state.displayed_hash,
        held=state.held_hash,
        held_at=state.held_display_at,
        at=now,
        clock_offset_ms=state.clock_offset_ms,
    ).digest
