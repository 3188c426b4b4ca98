"""Register the labels of a provisioning file: the controller and the gateway share keys.

A store gateway (or the firmware simulator) writes, per gateway, the labels it
associated with their display models and 32-byte keys (format in docs/protocol.md).
Importing it registers the gateway and every label with its key, so frames signed by the
controller verify on the label and the label's answers verify at the controller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from esl.db.models import GatewayRow, LabelModelRow, LabelRow, StoreRow, core_table
from esl.db.repositories import in_chunks
from esl.errors import ConflictError, ImportRejectedError, NotFoundError
from firmware_sim.fleet import LabelProvision
from gateways.protocol import check_label_id, check_label_key
from rendering.display_models import get_display_model
from rendering.errors import RenderingError

__all__ = ["ProvisioningFile", "parse_provisioning", "register_provisioned_labels"]


@dataclass(frozen=True, slots=True)
class ProvisioningFile:
    store: str
    gateway: str
    labels: list[LabelProvision]


def parse_provisioning(text: str) -> ProvisioningFile:
    """Read a gateway's provisioning file, checking every entry; `ImportRejectedError`
    lists every problem (label index and reason) and nothing is registered."""

    def rejected(reason: str, problems: list[dict[str, object]] | None = None) -> Exception:
        return ImportRejectedError(f"provisioning file rejected: {reason}", problems=problems or [])

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise rejected(f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise rejected("the file is a JSON object with store, gateway and labels")
    store, gateway, entries = document.get("store"), document.get("gateway"), document.get("labels")
    if not isinstance(store, str) or not store or not isinstance(gateway, str) or not gateway:
        raise rejected("'store' and 'gateway' must be non-empty strings")
    if not isinstance(entries, list):
        raise rejected("'labels' must be a list")
    problems: list[dict[str, object]] = []
    labels: list[LabelProvision] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        try:
            labels.append(_provision(entry, seen))
        except (ValueError, TypeError, KeyError, RenderingError) as error:
            problems.append({"line": index + 1, "reason": str(error)})
    if problems:
        raise rejected(f"{len(problems)} of {len(entries)} labels are invalid", problems)
    return ProvisioningFile(store=store, gateway=gateway, labels=labels)


def _provision(entry: object, seen: set[str]) -> LabelProvision:
    if not isinstance(entry, dict):
        raise ValueError("each label is an object with label_id, model and key")
    label_id, model, key = entry.get("label_id"), entry.get("model"), entry.get("key")
    if not isinstance(label_id, str) or not isinstance(model, str) or not isinstance(key, str):
        raise ValueError("label_id, model and key must be strings")
    check_label_id(label_id)
    if label_id in seen:
        raise ValueError(f"label {label_id} appears twice")
    seen.add(label_id)
    get_display_model(model)  # an unknown model raises
    try:
        secret = bytes.fromhex(key)
    except ValueError:
        raise ValueError(f"label {label_id}: the key is not hexadecimal") from None
    check_label_key(secret)
    return LabelProvision(label_id=label_id, model_id=model, key=secret)


def register_provisioned_labels(
    session: Session,
    provisions: Iterable[LabelProvision],
    *,
    store: str,
    gateway: str,
    now: datetime,
) -> int:
    """Register the gateway and its labels (keys included); returns the labels added.

    A label already registered with the same key is left alone; with another key, or in
    another store, it is a conflict: keys are never silently replaced.
    """
    if session.get(StoreRow, store) is None:
        raise NotFoundError("store", store)
    gateway_row = session.get(GatewayRow, gateway)
    if gateway_row is None:
        session.add(GatewayRow(id=gateway, store=store, transport="mqtt", name=gateway))
    elif gateway_row.store != store:
        # Gateway ids are unique across stores (labels name their gateway by id alone).
        raise ConflictError(
            f"gateway id {gateway} already serves store {gateway_row.store}; gateway ids are "
            f"unique across stores: run this store's gateway as {store}-{gateway} "
            f"(esl sim gateway --store {store} --gateway {store}-{gateway}, and that name in "
            "esl mqtt config) and import its provisioning file again",
            field="gateway",
        )
    provisions = list(provisions)
    ids = [p.label_id for p in provisions]
    existing: dict[str, tuple[bytes, str]] = {}
    for chunk in in_chunks(ids):
        for label_id, key, label_store in session.execute(
            select(LabelRow.id, LabelRow.secret_key, LabelRow.store).where(LabelRow.id.in_(chunk))
        ):
            existing[label_id] = (key, label_store)
    models: set[str] = set()
    new_rows: list[dict[str, object]] = []
    for provision in provisions:
        check_label_key(provision.key)
        if provision.model_id not in models:
            models.add(provision.model_id)
            if session.get(LabelModelRow, provision.model_id) is None:
                model = get_display_model(provision.model_id)
                session.add(
                    LabelModelRow(
                        id=model.id,
                        width=model.width,
                        height=model.height,
                        accent_colour=model.accent,
                    )
                )
                session.flush()
        if provision.label_id in existing:
            if existing[provision.label_id] != (provision.key, store):
                raise ConflictError(
                    f"label {provision.label_id} is registered with another key or store",
                    label_id=provision.label_id,
                )
            continue
        new_rows.append(
            {
                "id": provision.label_id,
                "store": store,
                "model": provision.model_id,
                "gateway": gateway,
                "secret_key": provision.key,
                "registered_at": now,
            }
        )
    session.flush()
    if new_rows:
        session.execute(insert(core_table(LabelRow)), new_rows)
    return len(new_rows)
