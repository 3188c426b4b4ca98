"""Labels bound to no product show their identification screen.

A label just registered (associated), or unbound from its product, must never show a
blank panel nor the price of a product it no longer labels: it shows its label id, its
store and a QR code of its id for pairing (`rendering.identification`). Planned like any
content: the identity is the screen's template, display model and content fingerprint;
a label already showing it gets nothing, and a label bound again is planned for its
product by the controller's binding watch.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import LabelBindingRow, LabelRow, StoreRow
from esl.db.repositories import in_chunks
from esl.pipeline.errors import UnplannableLabelError
from esl.pipeline.frames import supersede_open_frames
from esl.pipeline.label_actions import forget_shown_of_refreshing
from esl.pipeline.label_states import PLANNED_COLUMNS, load_label_states, save_label_states
from esl.pipeline.outbox_rows import OUTBOX
from esl.pipeline.planning import LabelPlanner, PlanResult
from rendering.display_models import get_display_model
from rendering.errors import RenderingError
from rendering.identification import identification_content, identification_template

__all__ = ["labels_bound_to_nothing", "plan_identification"]


def labels_bound_to_nothing(session: Session) -> list[str]:
    """Every registered label in service without a current binding (just registered, or
    unbound)."""
    return list(session.scalars(select(LabelRow.id).where(*_unbound()).order_by(LabelRow.id)))


def _unbound() -> tuple[ColumnElement[bool], ...]:
    """Bound to no product and not retired: a retired label (broken, thrown away) is
    planned nothing, so it is sent nothing."""
    bound_now = (
        select(LabelBindingRow.id)
        .where(LabelBindingRow.label_id == LabelRow.id, LabelBindingRow.unbound_at.is_(None))
        .exists()
    )
    return (~bound_now, LabelRow.retired_at.is_(None))


def plan_identification(
    planner: LabelPlanner,
    session: Session,
    *,
    now: datetime,
    label_ids: Collection[str] | None = None,
) -> PlanResult:
    """Labels bound to no product (just registered, or unbound) show their
    identification screen (`rendering.identification`): never a blank panel, never
    the price of a product they no longer label. `label_ids` None: every such label.
    """
    result = PlanResult()
    statement = select(
        LabelRow.id, LabelRow.store, LabelRow.gateway, LabelRow.model, LabelRow.secret_key
    ).where(*_unbound())
    rows: list[Any] = []
    if label_ids is None:
        rows = list(session.execute(statement.order_by(LabelRow.id)))
    else:
        ordered = sorted(set(label_ids))
        for chunk in in_chunks(ordered):
            rows += session.execute(statement.where(LabelRow.id.in_(chunk))).all()
    if not rows:
        return result
    store_names: dict[str, str] = dict(session.execute(select(StoreRow.code, StoreRow.name)).all())
    states = load_label_states(session, [row.id for row in rows], lock=True)
    forget_shown_of_refreshing(session, states)
    frames: list[dict[str, Any]] = []
    superseded: list[str] = []
    for label_id, store, gateway, model_id, key in rows:
        state = states[label_id]
        if gateway is None:
            result.unplannable[label_id] = "no gateway reaches it"
            continue
        try:
            model = get_display_model(model_id)
            template = identification_template(model)
            content = identification_content(
                label_id=label_id,
                store=store,
                store_name=store_names.get(store),
                locale=planner.locale,
                currency=planner.currency,
            )
        except RenderingError as error:
            result.unplannable[label_id] = f"no identification screen: {error}"
            continue
        desired_key = f"{template.cache_key}|{model.id}|{content.fingerprint}"
        if (
            state.desired_key == desired_key
            and state.binding_id is None
            and state.desired_display_at is None
        ):
            result.unchanged += 1
            continue
        rendered = planner.cache.render(content, model=model, template=template)
        digest = rendered.content_hash.hex()
        planner.images.remember(digest, model.id, rendered.planes)
        settled = state.settled_on(digest)  # see `Planner._plan_one`
        state.changed = True
        state.desired_key, state.desired_hash = desired_key, digest
        state.desired_display_at = state.binding_id = None
        state.unplanned_reason = None  # a product's content it could not get is no more due
        superseded.append(label_id)
        if settled:
            state.confirmed_hash = digest
            result.unchanged += 1
            continue
        try:
            frames.append(
                planner.frames.image_frame(
                    state,
                    label_id,
                    store=store,
                    gateway=gateway,
                    key=key,
                    model_id=model.id,
                    rendered=rendered,
                    base=planner.images.delta_base(
                        session, state.displayed_hash, model_id=model.id
                    ),
                    display_at=None,
                    not_before=now,
                    now=now,
                )
            )
        except UnplannableLabelError as error:
            result.unplannable[label_id] = error.reason
    supersede_open_frames(session, superseded, now=now)
    save_label_states(session, states.values(), columns=PLANNED_COLUMNS)
    planner.images.store_new(session, now=now)
    insert_rows(session, OUTBOX, frames)
    result.planned = len(frames)
    return result
