"""Publishing prices the way the API does, and the reference render a label must show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from esl.db.mapping import product_from_row, store_from_row
from esl.db.models import LabelRow, ProductRow, StoreRow
from esl.pipeline.provisioning import register_provisioned_labels
from esl.services.keys import Principal, Role
from esl.services.labels import bind_label
from esl.services.publication import (
    create_publication,
    publish_publication,
    validate_publication,
)
from esl.services.publication_commands import SetPrice
from esl.services.quotes import quote
from gateways.protocol import LabelProvision
from rendering.cache import RenderCache
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from rendering.encoding import Planes
from rendering.templates import Template

__all__ = ["ADMIN", "SKUS", "expected_planes", "publish_prices", "register_and_bind"]

SKUS = ("MLK-1", "CHS-1", "CFE-1")
ADMIN = Principal(name="pipeline-test", role=Role.ADMIN, store=None)


def publish_prices(
    sessions: sessionmaker[Session],
    prices: dict[str, str],
    *,
    now: datetime,
    effective_at: datetime | None = None,
    store: str | None = None,
) -> int:
    """Publish national (or one store's) shelf prices through the publication service."""
    items = [
        SetPrice(sku=sku, amount=Decimal(amount), store=store) for sku, amount in prices.items()
    ]
    with sessions.begin() as session:
        row = create_publication(
            session,
            title="test prices",
            effective_at=effective_at,
            items=items,
            created_by="test",
            now=now,
        )
        publication_id = row.id
    with sessions.begin() as session:
        validate_publication(session, publication_id, now=now, currency="PLN")
    with sessions.begin() as session:
        publish_publication(session, publication_id, published_by="test", now=now, currency="PLN")
    return publication_id


def register_and_bind(
    session: Session,
    provisions: Sequence[LabelProvision],
    *,
    store: str,
    gateway: str,
    skus: Sequence[str],
    now: datetime,
) -> dict[str, str]:
    """Register provisioned labels and bind them round-robin to `skus` (standard template).

    Returns label -> sku, what each label must end up showing."""
    register_provisioned_labels(session, provisions, store=store, gateway=gateway, now=now)
    bindings = {p.label_id: skus[index % len(skus)] for index, p in enumerate(provisions)}
    for label_id, sku in bindings.items():
        bind_label(
            session, principal=ADMIN, label_id=label_id, sku=sku, template="standard", now=now
        )
    return bindings


def expected_planes(
    session: Session, *, label_id: str, sku: str, at: datetime, template: Template | None = None
) -> Planes:
    """The reference render of what the label must show: the quote service, then render."""
    label = session.get(LabelRow, label_id)
    assert label is not None
    resolved = quote(
        session,
        sku=sku,
        store=label.store,
        channel="store",
        at=at,
        locale="pl_PL",
        currency="PLN",
    )
    product_row = session.get(ProductRow, sku)
    store_row = session.get(StoreRow, label.store)
    assert product_row is not None
    assert store_row is not None
    content = LabelContent.from_resolved(
        product=product_from_row(product_row),
        price=resolved,
        store=store_from_row(store_row),
        locale="pl_PL",
    )
    model = get_display_model(label.model)
    return RenderCache().render(content, model=model, template=template).planes
