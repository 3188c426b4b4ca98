"""Publishing prices the way the API does, and the reference render a label must show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from esl.db.mapping import product_from_row, store_from_row
from esl.db.models import LabelRow, ProductRow, StoreRow
from esl.errors import PublicationRejectedError
from esl.pipeline.provisioning import register_provisioned_labels
from esl.services.keys import Principal, Role
from esl.services.labels import bind_label
from esl.services.publication import (
    create_publication,
    publish_publication,
    validate_publication,
)
from esl.services.publication_commands import PublicationCommand, SetPrice, command_from_payload
from esl.services.quotes import quote
from gateways.protocol import LabelProvision
from pricing import ResolvedPrice
from rendering.cache import RenderCache
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from rendering.encoding import Planes
from rendering.templates import Template

__all__ = [
    "ADMIN",
    "SKUS",
    "bind_round_robin",
    "due_content",
    "expected_planes",
    "milk_percent_off",
    "publish",
    "publish_prices",
    "register_and_bind",
]

SKUS = ("MLK-1", "CHS-1", "CFE-1")
ADMIN = Principal(name="pipeline-test", role=Role.ADMIN, store=None)


def publish(
    sessions: sessionmaker[Session],
    items: Sequence[PublicationCommand | Mapping[str, Any]],
    *,
    now: datetime,
    effective_at: datetime | None = None,
    title: str = "test",
) -> int:
    """Create, validate and publish `items` (commands, or the API's item payloads) through
    the publication service, one transaction a step as the API does; a publication with
    problems raises PublicationRejectedError and changes no price."""
    commands = [command_from_payload(i) if isinstance(i, Mapping) else i for i in items]
    with sessions.begin() as session:
        publication_id = create_publication(
            session,
            title=title,
            effective_at=effective_at,
            items=commands,
            created_by="test",
            now=now,
        ).id
    with sessions.begin() as session:
        problems = validate_publication(session, publication_id, now=now, currency="PLN").problems
    if problems:
        raise PublicationRejectedError(
            f"publication {publication_id} stays a draft: {len(problems)} problem(s)",
            publication_id=publication_id,
            problems=problems,
        )
    with sessions.begin() as session:
        publish_publication(session, publication_id, published_by="test", now=now, currency="PLN")
    return publication_id


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
    return publish(sessions, items, now=now, effective_at=effective_at, title="test prices")


def milk_percent_off(
    promotion_id: str, percent: str, starts: datetime, ends: datetime, **scope: list[str]
) -> dict[str, Any]:
    """The store-channel promotion `promotion_id`, `percent` % off MLK-1 from `starts` until
    `ends`, in every store unless `scope` names some (`stores=[...]`)."""
    return {
        "action": "upsert_promotion",
        "promotion_id": promotion_id,
        "name": promotion_id,
        "kind": "percent_off",
        "percent": percent,
        "channels": ["store"],
        "skus": ["MLK-1"],
        "valid_from": starts.isoformat(),
        "valid_until": ends.isoformat(),
        **scope,
    }


def publish_flash_promotion(sessions: sessionmaker[Session], *, now: datetime, **terms: Any) -> int:
    """Publish the store-channel promotion FLASH ("Flash") on MLK-1 with `terms` (its
    kind and value, validity)."""
    item = {
        "action": "upsert_promotion",
        "promotion_id": "FLASH",
        "name": "Flash",
        "skus": ["MLK-1"],
        "channels": ["store"],
        **terms,
    }
    return publish(sessions, [item], now=now)


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
    return bind_round_robin(session, [p.label_id for p in provisions], skus=skus, now=now)


def bind_round_robin(
    session: Session, label_ids: Sequence[str], *, skus: Sequence[str], now: datetime
) -> dict[str, str]:
    """Bind registered labels in turn to `skus` (standard template); label -> sku."""
    bindings = {label_id: skus[index % len(skus)] for index, label_id in enumerate(label_ids)}
    for label_id, sku in bindings.items():
        bind_label(
            session, principal=ADMIN, label_id=label_id, sku=sku, template="standard", now=now
        )
    return bindings


def due_content(
    session: Session, *, label: LabelRow, sku: str, at: datetime
) -> tuple[LabelContent, ResolvedPrice]:
    """What `label` must show for `sku` at `at`: the quote service's store price (pl_PL,
    PLN) made into label content, independently of the pipeline's own planning."""
    resolved = quote(
        session,
        sku=sku,
        store=label.store,
        channel="store",
        at=at,
        now=at,
        locale="pl_PL",
        currency="PLN",
    )
    product_row = session.get(ProductRow, sku)
    store_row = session.get(StoreRow, label.store)
    assert product_row is not None
    assert store_row is not None
    store = store_from_row(store_row)
    content = LabelContent.from_resolved(
        product=product_from_row(product_row),
        price=resolved,
        store=store,
        locale="pl_PL",
        timezone=store.time_zone,
    )
    return content, resolved


def expected_planes(
    session: Session, *, label_id: str, sku: str, at: datetime, template: Template | None = None
) -> Planes:
    """The reference render of what the label must show: the quote service, then render."""
    label = session.get(LabelRow, label_id)
    assert label is not None
    content, _ = due_content(session, label=label, sku=sku, at=at)
    model = get_display_model(label.model)
    return RenderCache().render(content, model=model, template=template).planes
