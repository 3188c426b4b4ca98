"""A small chain for audit tests: real database, real publications, real rendering.

Labels are put in the states an acknowledged, pending or silent label leaves in the
pipeline's tables, and each content is recorded with `record_label_content` exactly as
the pipeline does when it plans it: resolve, build the content, render, hash, record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from esl.audit.classify import Thresholds
from esl.audit.gather import GatheredAudit, gather_audit
from esl.audit.recording import record_label_content
from esl.db.engine import session_factory
from esl.db.models import (
    GatewayRow,
    LabelAcknowledgementRow,
    LabelRow,
    LabelStateRow,
    OutboxRow,
)
from esl.delivery_states import RecordedPanel
from esl.imports import import_products
from esl.services.keys import Principal, Role
from esl.services.labels import bind_label, current_binding
from pricing import ResolvedPrice
from rendering.cache import RenderCache
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from tests.support.pipeline import due_content, publish

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = Principal(name="audit-test", role=Role.ADMIN, store=None)
NATIONAL = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
OLD_PRODUCT_CSV = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
OLD-1,Herbata stara 100 g,Teekanne,5900000000015,tea,23,100,g,no,2025-01-01T00:00:00Z,
"""


def record_planned_content(
    session: Session,
    cache: RenderCache,
    label_id: str,
    *,
    at: datetime,
    altered: Callable[[LabelContent], LabelContent] | None = None,
    priced: Callable[[ResolvedPrice], ResolvedPrice] | None = None,
) -> tuple[str, LabelContent, ResolvedPrice]:
    """What the pipeline plans for the label at `at`, recorded as the pipeline does:
    resolve the store price, build the content, render, hash, record. `priced`: the
    price the altered content was resolved as (an earlier engine's, say), recorded with
    its fingerprint instead of the due one's."""
    label = session.get(LabelRow, label_id)
    assert label is not None
    binding = current_binding(session, label_id)
    assert binding is not None
    content, resolved = due_content(session, label=label, sku=binding.sku, at=at)
    if altered is not None:
        content = altered(content)
    if priced is not None:
        resolved = priced(resolved)
    # An altered content stands for a label showing something it should not (the audit's
    # job is to find it), so it is drawn even when its announcement is unlawful.
    rendered = cache.render(
        content, model=get_display_model(label.model), allow_unlawful=altered is not None
    )
    record_label_content(
        session, content_hash=rendered.content_hash, content=content, resolved=resolved, at=at
    )
    return rendered.content_hash.hex(), content, resolved


class AuditWorld:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.cache = RenderCache()
        self.sequences: dict[str, int] = {}
        with self.sessions.begin() as session:
            import_products(session, OLD_PRODUCT_CSV, currency="PLN", imported_by="test", now=T0)
            for store in ("S01", "S02", "S03"):
                session.add(GatewayRow(id=f"gw-{store}", store=store, transport="mqtt", name=store))
        self.publish(
            [{"action": "set_price", "sku": sku, "amount": a} for sku, a in NATIONAL.items()],
            now=T0 - timedelta(days=60),
        )

    # ------------------------------------------------------------ prices

    def publish(
        self, items: list[dict[str, Any]], *, now: datetime, effective_at: datetime | None = None
    ) -> None:
        publish(self.sessions, items, now=now, effective_at=effective_at, title="audit test")

    # ------------------------------------------------------------ labels

    def label(self, label_id: str, *, store: str, sku: str, at: datetime = T0) -> None:
        with self.sessions.begin() as session:
            session.add(
                LabelRow(
                    id=label_id,
                    store=store,
                    model="2.9-bwr",
                    gateway=f"gw-{store}",
                    secret_key=bytes(range(16)),
                    registered_at=at,
                )
            )
            session.flush()
            bind_label(
                session, principal=ADMIN, label_id=label_id, sku=sku, template="standard", now=at
            )

    def planned_content(
        self,
        session: Session,
        label_id: str,
        *,
        at: datetime,
        altered: Callable[[LabelContent], LabelContent] | None = None,
        priced: Callable[[ResolvedPrice], ResolvedPrice] | None = None,
    ) -> tuple[str, LabelContent, ResolvedPrice]:
        return record_planned_content(
            session, self.cache, label_id, at=at, altered=altered, priced=priced
        )

    def _frame(
        self,
        session: Session,
        label_id: str,
        digest: str,
        *,
        at: datetime,
        status: str,
        attempts: int,
        reason: str | None = None,
        parked_at: datetime | None = None,
    ) -> int:
        label = session.get(LabelRow, label_id)
        assert label is not None
        sequence = self.sequences.get(label_id, 0) + 1
        self.sequences[label_id] = sequence
        # Newer content supersedes whatever was still open, as planning does.
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.label_id == label_id, OutboxRow.status.in_(("pending", "sent")))
            .values(status="superseded", settled_at=at)
        )
        session.add(
            OutboxRow(
                label_id=label_id,
                store=label.store,
                gateway=label.gateway or "",
                sequence=sequence,
                content_hash=digest,
                base_hash=None,
                display_at=None,
                payload=b"frame",
                status=status,
                attempts=attempts,
                not_before=at,
                sent_at=at if attempts else None,
                parked_reason=reason,
                parked_at=parked_at,
                created_at=at,
                settled_at=at if status == "acked" else None,
            )
        )
        return sequence

    def _state(self, session: Session, label_id: str) -> LabelStateRow:
        state = session.get(LabelStateRow, label_id)
        if state is None:
            state = LabelStateRow(label_id=label_id, last_sequence=0, can_schedule=True)
            session.add(state)
        return state

    def acknowledged(
        self,
        label_id: str,
        *,
        at: datetime,
        battery_mv: int = 2_950,
        altered: Callable[[LabelContent], LabelContent] | None = None,
        priced: Callable[[ResolvedPrice], ResolvedPrice] | None = None,
    ) -> tuple[str, LabelContent]:
        """The label got the content due at `at` (or `altered` from it, priced as `priced`
        says) and acknowledged it."""
        with self.sessions.begin() as session:
            digest, content, _ = self.planned_content(
                session, label_id, at=at, altered=altered, priced=priced
            )
            sequence = self._frame(session, label_id, digest, at=at, status="acked", attempts=1)
            state = self._state(session, label_id)
            state.last_sequence = sequence
            state.desired_hash = state.confirmed_hash = state.displayed_hash = digest
            state.last_seen = at
            state.battery_mv = battery_mv
            session.add(
                LabelAcknowledgementRow(
                    label_id=label_id,
                    sequence=sequence,
                    reason="SUCCESS",
                    displayed_hash=digest,
                    acked_hash=digest,
                    at=at,
                    panel=RecordedPanel.REPORTED,
                    heard=True,
                )
            )
        return digest, content

    def planned_but_unanswered(
        self,
        label_id: str,
        *,
        at: datetime,
        attempts: int,
        status: str = "pending",
        reason: str | None = None,
        parked_at: datetime | None = None,
    ) -> str:
        """The pipeline planned the content due at `at`; the label has not confirmed it."""
        with self.sessions.begin() as session:
            digest, _, _ = self.planned_content(session, label_id, at=at)
            sequence = self._frame(
                session,
                label_id,
                digest,
                at=at,
                status=status,
                attempts=attempts,
                reason=reason,
                parked_at=parked_at,
            )
            state = self._state(session, label_id)
            state.last_sequence = sequence
            state.desired_hash = digest
        return digest

    def checked_in(
        self,
        label_id: str,
        *,
        at: datetime,
        displayed_hash: str | None = None,
        battery_mv: int | None = None,
    ) -> None:
        """A believed check-in: the label says what it shows (by default what it showed
        before), and the record takes it."""
        with self.sessions.begin() as session:
            state = self._state(session, label_id)
            if displayed_hash is not None:
                state.displayed_hash = displayed_hash
            if battery_mv is not None:
                state.battery_mv = battery_mv
            state.last_seen = at
            session.add(
                LabelAcknowledgementRow(
                    label_id=label_id,
                    sequence=state.last_sequence,
                    reason="SUCCESS",
                    displayed_hash=state.displayed_hash,
                    acked_hash=None,
                    at=at,
                    panel=RecordedPanel.REPORTED,
                    heard=True,
                )
            )

    # ------------------------------------------------------------ the audit

    def audit(
        self,
        *,
        at: datetime,
        now: datetime | None = None,
        stores: list[str] | None = None,
        thresholds: Thresholds | None = None,
    ) -> GatheredAudit:
        with self.sessions() as session:
            return gather_audit(
                session,
                at=at,
                now=now or at,
                currency="PLN",
                stores=stores,
                thresholds=thresholds,
                locale="pl_PL",
            )
