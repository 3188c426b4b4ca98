"""Register the labels of a provisioning file: the controller and the gateway share keys.

A store gateway (or the firmware simulator) writes, per gateway, the labels it
associated with their display models and 32-byte keys (format in docs/protocol.md).
Importing it registers the gateway and every label with its key, so frames signed by the
controller verify on the label and the label's answers verify at the controller.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from esl.db.models import GatewayRow, LabelModelRow, LabelRow, StoreRow, core_table
from esl.db.repositories import in_chunks
from esl.errors import ConflictError, ImportRejectedError, NotFoundError
from esl.pipeline.label_models import ModelChange, change_label_models
from esl.pipeline.label_moves import bonded_gateways, move_labels
from esl.services.gateway_ids import require_gateway_id
from gateways.oepl.addresses import tag_named_by
from gateways.protocol import (
    LabelProvision,
    ProvisioningFile,
    ProvisioningRejectedError,
    check_label_key,
)
from gateways.protocol import parse_provisioning as parse_provisioning_file
from rendering.display_models import get_display_model

__all__ = ["ProvisioningFile", "parse_provisioning", "register_provisioned_labels"]


def parse_provisioning(text: str) -> ProvisioningFile:
    """Read a gateway's provisioning file, checking every entry; `ImportRejectedError`
    lists every problem (label number and reason) and nothing is registered."""
    try:
        return parse_provisioning_file(text)
    except ProvisioningRejectedError as error:
        raise ImportRejectedError(error.message, problems=error.problems) from error


def register_provisioned_labels(
    session: Session,
    provisions: Iterable[LabelProvision],
    *,
    store: str,
    gateway: str,
    now: datetime,
    moved: list[str] | None = None,
    remodelled: list[ModelChange] | None = None,
) -> int:
    """Register the gateway and its labels (keys included); returns the labels added.

    A label already registered with the same key on this gateway is left alone; on
    another gateway of the store it moves to this one, its open frames with it
    (`label_moves`: it was carried into this gateway's range), and its id is appended to
    `moved` when given. With another key, or in another store, it is a conflict: keys are
    never silently replaced. A BLE label bonded to another gateway is a conflict too:
    only associating it again moves it. A label listed as another display model takes
    the file's model and is planned again for it (`label_models`); the changes are
    appended to `remodelled` when given. A label to be registered with a key another
    label has (listed before it, or registered in any store) is a conflict as well: every
    label has its own key; and so is one whose id is the address of an OpenEPaperLink tag
    another label's id names in another spelling (case, `:` or `-`): one tag, one label.
    """
    require_gateway_id(gateway)
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
    registered_on: dict[str, str | None] = {}
    for chunk in in_chunks(ids):
        for label_id, key, label_store, label_gateway in session.execute(
            select(LabelRow.id, LabelRow.secret_key, LabelRow.store, LabelRow.gateway).where(
                LabelRow.id.in_(chunk)
            )
        ):
            existing[label_id] = (key, label_store)
            registered_on[label_id] = label_gateway
    carried: dict[str, tuple[str, str]] = {}
    models: set[str] = set()
    new_rows: list[dict[str, object]] = []
    fresh: list[LabelProvision] = []  # the labels registered by this import
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
            if registered_on[provision.label_id] not in (None, gateway):
                carried[provision.label_id] = (store, gateway)
            continue
        fresh.append(provision)
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
    _refuse_second_label_of_a_tag(session, fresh)
    _refuse_keys_held(session, fresh)
    if new_rows:
        session.execute(insert(core_table(LabelRow)), new_rows)
    _move_carried(session, carried, registered_on, now=now, moved=moved)
    known = [p for p in provisions if p.label_id in existing]
    changed = change_label_models(session, known, now=now)
    if remodelled is not None:
        remodelled.extend(changed)
    return len(new_rows)


def _refuse_second_label_of_a_tag(session: Session, fresh: list[LabelProvision]) -> None:
    """A `ConflictError` when a label to be registered names an OpenEPaperLink tag (its id
    is a tag address, `tag_named_by`) that another label names in another spelling: in
    this import, or registered and not retired (`00000258000000AB` from import-tags,
    `00000258000000ab` from a provisioning file). The gateway sends both labels' images
    to the one tag, which shows the last, and records each as shown: one of the two
    audits as a match while its price is nowhere on a shelf."""
    tags: dict[str, str] = {}  # tag address -> the first label of this import naming it
    for provision in fresh:
        tag = tag_named_by(provision.label_id)
        if tag is None:
            continue
        holder = tags.setdefault(tag, provision.label_id)
        if holder != provision.label_id:
            raise _second_label(provision.label_id, holder, tag)
    # The registered labels' ids as the tag addresses they would be, compared in SQL.
    spelled_as_tag = func.upper(func.replace(func.replace(LabelRow.id, ":", ""), "-", ""))
    for chunk in in_chunks(sorted(tags)):
        held = session.execute(
            select(LabelRow.id, spelled_as_tag)
            .where(spelled_as_tag.in_(chunk), LabelRow.retired_at.is_(None))
            .order_by(LabelRow.id)
        ).all()
        for holder, tag in held:
            if holder != tags[tag]:
                raise _second_label(tags[tag], holder, tag)


def _second_label(label_id: str, holder: str, tag: str) -> ConflictError:
    return ConflictError(
        f"label {label_id} is OpenEPaperLink tag {tag}, and so is label {holder}: one tag "
        "shows one label (register it once, by the id the AP lists it as)",
        label_id=label_id,
    )


def _refuse_keys_held(session: Session, fresh: list[LabelProvision]) -> None:
    """A `ConflictError` when a label to be registered is given a key another label has,
    in this import or registered (any store, any gateway): every label has its own key
    (docs/protocol.md). With one key shared, either label's device signs answers the
    controller believes from the other, and a frame for one verifies on the other. A label
    registered already keeps its key and is not weighed here: one listed again (moved to
    this gateway, or left alone) brings no new key."""
    given: dict[bytes, str] = {}
    for provision in fresh:
        holder = given.setdefault(provision.key, provision.label_id)
        if holder != provision.label_id:
            raise ConflictError(
                f"labels {holder} and {provision.label_id} are given the same key: "
                "each label has its own key",
                label_id=provision.label_id,
            )
    for chunk in in_chunks(sorted(given)):
        held = session.execute(
            select(LabelRow.id, LabelRow.secret_key, LabelRow.store, LabelRow.gateway)
            .where(LabelRow.secret_key.in_(chunk))
            .order_by(LabelRow.id)
            .limit(1)
        ).first()
        if held is not None:
            holder, key, store, gateway = held
            label_id = given[bytes(key)]  # a driver may hand a binary column as a memoryview
            raise ConflictError(
                f"label {label_id} is given the key of label {holder} (store {store}, "
                f"gateway {gateway or 'none'}): each label has its own key",
                label_id=label_id,
            )


def _move_carried(
    session: Session,
    carried: dict[str, tuple[str, str]],
    registered_on: dict[str, str | None],
    *,
    now: datetime,
    moved: list[str] | None,
) -> None:
    """Move the labels another gateway of the store listed with their keys; a BLE label
    bonded to its gateway is refused (nothing of the import is kept)."""
    bonded = bonded_gateways(session, sorted(carried))
    if bonded:
        label_id = min(bonded)
        raise ConflictError(
            f"label {label_id} is a BLE label bonded to gateway {bonded[label_id]}; "
            f"associate it on {carried[label_id][1]} to move it there",
            label_id=label_id,
        )
    moves = move_labels(session, carried, now=now)
    if moved is not None:
        moved.extend(move.label_id for move in moves)
