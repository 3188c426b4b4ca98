"""Record what associating a BLE label learned, and check it against the registration.

A label is registered (with its display model and key) before an access point associates
it. What the label itself reports over the ESL Service must agree with that registration:
a 2.13" label registered as a 2.9" one would be sent images it cannot show, so a
disagreement is refused rather than recorded.

Association through a store's gateway (`esl gateway ble associate`, docs/ble.md) takes
two calls: `association_kit` gives the installer each label's ESL address and key, and
`record_ble_associations` stores what the labels reported, all of them or none. A kit's
addresses are reserved for its labels until they are recorded or the kit expires: two
labels at one ESL address would both obey what is sent to it, so one would show the
other's price. `unassociate_ble_label` undoes an association (a label retired, or one
to associate again elsewhere): the controller has the label show its identification
screen and sends it a signed Unassociate, then forgets the key and the inventory row
(`esl.pipeline.ble_unassociation`); forced, it forgets them without the device.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from esl.db.ble_models import BleAddressReservationRow, BleLabelInventoryRow
from esl.db.console_models import LabelActionRow
from esl.db.models import GatewayRow, LabelModelRow, LabelRow, LabelStateRow
from esl.db.repositories.rows import row_or_not_found
from esl.delivery_states import PanelForgottenBy
from esl.errors import ConflictError, ImportRejectedError, NotFoundError, StoreOfRecordError
from esl.pipeline.action_kinds import ActionKind, ActionStatus
from esl.pipeline.ble_unassociation import forget_ble_association
from esl.pipeline.panel_history import keep_panel_forgotten
from esl.services.gateway_ids import require_gateway_id
from esl.services.keys import Principal
from esl.services.labels import current_binding, require_store_access
from gateways.ble.control_point import EslAddress
from gateways.ble.esl_service import BROADCAST_ESL_ID, MAX_GROUP_ID
from gateways.ble.inventory import LabelInventoryRecord
from gateways.ble.pairing_code import PairingCode, bare_address

__all__ = [
    "KIT_LIFETIME",
    "UNASSOCIATED",
    "KitLabel",
    "association_kit",
    "record_ble_association",
    "record_ble_associations",
    "unassociate_ble_label",
]


# How long a kit's addresses stay reserved: an installer's day on the shop floor. A label
# not associated by then gets a fresh kit (and may get another address).
KIT_LIFETIME = timedelta(hours=24)
# The label action row that keeps an unassociation in the label's history.
UNASSOCIATED = ActionKind.UNASSOCIATE.value


@dataclass(frozen=True, slots=True)
class KitLabel:
    """What the installer's box needs to associate one label: where it goes and its key."""

    label_id: str
    model: str
    width: int
    height: int
    esl_address: EslAddress
    key: bytes
    # Printed on the label, registered with it: association pairs out of band with it.
    pairing_code: PairingCode | None


def _reservations(session: Session, gateway: str, *, now: datetime) -> dict[EslAddress, str]:
    """The addresses on `gateway` that kits not yet expired hold, and for which label."""
    rows = session.execute(
        select(
            BleAddressReservationRow.esl_group,
            BleAddressReservationRow.esl_id,
            BleAddressReservationRow.label_id,
        ).where(
            BleAddressReservationRow.gateway == gateway,
            BleAddressReservationRow.expires_at > now,
        )
    )
    return {EslAddress(esl_id=esl_id, group=group): label for group, esl_id, label in rows}


def _free_esl_addresses(
    session: Session, gateway: str, reserved: Iterable[EslAddress]
) -> Iterator[EslAddress]:
    """ESL addresses neither given nor reserved on `gateway`, group by group, lowest ESL
    ID first."""
    taken = {
        (group, esl_id)
        for group, esl_id in session.execute(
            select(BleLabelInventoryRow.esl_group, BleLabelInventoryRow.esl_id).where(
                BleLabelInventoryRow.gateway == gateway
            )
        )
    }
    taken |= {(address.group, address.esl_id) for address in reserved}
    for group in range(MAX_GROUP_ID + 1):
        for esl_id in range(BROADCAST_ESL_ID):
            if (group, esl_id) not in taken:
                yield EslAddress(esl_id=esl_id, group=group)


def _kit_refusal(label: LabelRow | None, label_id: str, *, store: str, gateway: str) -> str:
    if label is None:
        return f"no label {label_id}"
    if label.store != store:
        return f"label {label_id} is in store {label.store}, not {store}"
    if label.retired_at is not None:
        return f"label {label_id} was retired: it is not associated again"
    if label.gateway is not None and label.gateway != gateway:
        return f"label {label_id} belongs to gateway {label.gateway}, not {gateway}"
    return ""


def association_kit(
    session: Session, *, store: str, gateway: str, label_ids: list[str], now: datetime
) -> list[KitLabel]:
    """Each label of `label_ids` with an ESL address on `gateway` and its key; the
    addresses are reserved for these labels until `now` + `KIT_LIFETIME`.

    A label whose earlier kit has not expired gets its address again (a lost kit asked
    for anew); the others get the next address neither given nor reserved. All or
    nothing: a label that is unknown, in another store or on another gateway, or already
    associated (in the BLE inventory) is refused with its reason, and nothing is kept."""
    problems: list[dict[str, object]] = []
    labels: list[LabelRow] = []
    for label_id in dict.fromkeys(label_ids):
        label = session.get(LabelRow, label_id)
        why = _kit_refusal(label, label_id, store=store, gateway=gateway)
        if not why and session.get(BleLabelInventoryRow, label_id) is not None:
            why = (
                f"label {label_id} is already associated (unassociate it first: "
                f"`esl label unassociate {label_id}`)"
            )
        if why:
            problems.append({"label_id": label_id, "reason": why})
        elif label is not None:
            labels.append(label)
    if len(label_ids) != len(set(label_ids)):
        problems.append({"label_id": None, "reason": "a label is listed twice"})
    gateway_row = session.get(GatewayRow, gateway)
    if gateway_row is not None and gateway_row.store != store:
        problems.append(
            {"label_id": None, "reason": f"gateway {gateway} serves store {gateway_row.store}"}
        )
    reserved = _reservations(session, gateway, now=now)
    held = {label: address for address, label in reserved.items()}
    free = _free_esl_addresses(session, gateway, reserved)
    kit = []
    for label in labels:
        address = held.get(label.id) or next(free, None)
        if address is None:
            problems.append({"label_id": label.id, "reason": f"no free ESL address on {gateway}"})
            continue
        model = session.get(LabelModelRow, label.model)
        assert model is not None  # a foreign key
        kit.append(
            KitLabel(
                label_id=label.id,
                model=model.id,
                width=model.width,
                height=model.height,
                esl_address=address,
                key=bytes(label.secret_key),
                pairing_code=(
                    None if label.pairing_code is None else PairingCode.parse(label.pairing_code)
                ),
            )
        )
    if problems:
        raise ImportRejectedError(
            f"{len(problems)} problem(s) with the kit for {gateway}; no kit was made",
            problems=problems,
        )
    _reserve(session, gateway, kit, now=now)
    return kit


def _reserve(session: Session, gateway: str, kit: list[KitLabel], *, now: datetime) -> None:
    # A label holds one address: one from a kit for another gateway is given up.
    session.execute(
        delete(BleAddressReservationRow).where(
            BleAddressReservationRow.label_id.in_([x.label_id for x in kit])
        )
    )
    session.execute(
        delete(BleAddressReservationRow).where(
            BleAddressReservationRow.gateway == gateway,
            BleAddressReservationRow.expires_at <= now,
        )
    )
    session.add_all(
        BleAddressReservationRow(
            gateway=gateway,
            esl_group=x.esl_address.group,
            esl_id=x.esl_address.esl_id,
            label_id=x.label_id,
            expires_at=now + KIT_LIFETIME,
        )
        for x in kit
    )
    try:
        session.flush()
    except IntegrityError:
        # Another kit for this gateway took an address between our read and our write.
        raise ConflictError(
            f"another kit for {gateway} was made at the same time; ask again", field="gateway"
        ) from None


def record_ble_associations(
    session: Session,
    *,
    store: str,
    gateway: str,
    records: Mapping[str, LabelInventoryRecord],
    now: datetime,
    paired_with_code: Collection[str] = (),
) -> list[BleLabelInventoryRow]:
    """`record_ble_association` for each label of `store`, all or none: any refusal
    raises `ImportRejectedError` with every label's reason (the caller's transaction,
    rolled back, keeps nothing). A label with no gateway yet is put on `gateway`;
    `paired_with_code` names the labels the gateway paired with their printed code."""
    gateway_row = session.get(GatewayRow, gateway)
    if gateway_row is None:
        require_gateway_id(gateway)
        session.add(GatewayRow(id=gateway, store=store, transport="mqtt", name=gateway))
        session.flush()
    elif gateway_row.store != store:
        raise ConflictError(
            f"gateway {gateway} serves store {gateway_row.store}, not {store}", field="gateway"
        )
    problems: list[dict[str, object]] = []
    rows = []
    for label_id, record in records.items():
        label = session.get(LabelRow, label_id)
        why = _kit_refusal(label, label_id, store=store, gateway=gateway)
        if not why:
            try:
                rows.append(
                    record_ble_association(
                        session,
                        label_id=label_id,
                        gateway=gateway,
                        record=record,
                        now=now,
                        paired_with_code=label_id in paired_with_code,
                    )
                )
            except StoreOfRecordError as error:
                why = error.message
        if why:
            problems.append({"label_id": label_id, "reason": why})
        elif label is not None and label.gateway is None:
            label.gateway = gateway
    if problems:
        raise ImportRejectedError(
            f"{len(problems)} of {len(records)} labels cannot be recorded; none was",
            problems=problems,
        )
    session.flush()
    return rows


def record_ble_association(
    session: Session,
    *,
    label_id: str,
    gateway: str,
    record: LabelInventoryRecord,
    now: datetime,
    paired_with_code: bool = False,
) -> BleLabelInventoryRow:
    """Store (or refresh, after a re-association) what `record` says of `label_id`; the
    address its kit reserved is then the inventory's. A label registered with a pairing
    code is recorded only if the gateway paired with it, at the code's address."""
    label = row_or_not_found(session, LabelRow, label_id, "label")
    if label.gateway is not None and label.gateway != gateway:
        raise ConflictError(
            f"label {label_id} belongs to gateway {label.gateway}, not {gateway}", field="gateway"
        )
    if label.pairing_code is not None:
        _check_paired_with_code(label, record, paired_with_code=paired_with_code)
    coded = session.scalar(
        select(LabelRow.id).where(
            LabelRow.pairing_address == bare_address(record.address), LabelRow.id != label_id
        )
    )
    if coded is not None:
        # The device there is another label's (its printed code names the address): it
        # now holds this label's key, and would show this label's prices.
        raise ConflictError(
            f"label {label_id} was associated at {record.address}, the address label "
            f"{coded}'s pairing code names: associate {label_id} at its own address",
            field="address",
        )
    model = session.get(LabelModelRow, label.model)
    assert model is not None  # a foreign key
    sizes = {(display.width, display.height) for display in record.displays}
    if (model.width, model.height) not in sizes:
        reported = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)) or "no display"
        raise ConflictError(
            f"label {label_id} is registered as {model.id} ({model.width}x{model.height}) "
            f"but reports {reported}",
            field="model",
        )
    address = record.esl_address
    where = f"ESL address {address.group}/{address.esl_id} on {gateway}"
    taken = _other_label_at(session, BleLabelInventoryRow, gateway, address, label_id)
    if taken is not None:
        raise ConflictError(f"{where} is {taken}'s", field="esl_address")
    holder = _other_label_at(
        session,
        BleAddressReservationRow,
        gateway,
        address,
        label_id,
        BleAddressReservationRow.expires_at > now,
    )
    if holder is not None:
        raise ConflictError(f"{where} is reserved for {holder} by its kit", field="esl_address")
    device = bare_address(record.address)
    there = session.scalar(
        select(BleLabelInventoryRow.label_id).where(
            BleLabelInventoryRow.device_address == device,
            BleLabelInventoryRow.label_id != label_id,
        )
    )
    if there is not None:
        # One device holds one key (the one written last): two records would send two
        # labels' prices to one panel.
        raise ConflictError(
            f"BLE address {device} is label {there}'s device: label {label_id} cannot be "
            f"recorded there too (associate {label_id} at its own device, or unassociate "
            f"{there} first)",
            field="address",
        )
    session.execute(
        delete(BleAddressReservationRow).where(BleAddressReservationRow.label_id == label_id)
    )
    row = session.get(BleLabelInventoryRow, label_id)
    if row is None or row.device_address != device:
        _forget_panel(session, label_id, now=now)
    if row is None:
        row = BleLabelInventoryRow(label_id=label_id)
    row.gateway = gateway
    row.address = record.address
    row.device_address = device
    row.esl_id = address.esl_id
    row.esl_group = address.group
    row.displays = [
        {"width": d.width, "height": d.height, "display_type": int(d.display_type)}
        for d in record.displays
    ]
    row.image_slots = record.image_slots
    row.leds = [{"srgb": led.srgb, "colour_bits": led.colour_bits} for led in record.leds]
    row.associated_at = record.associated_at
    session.add(row)
    session.flush()
    return row


def _forget_panel(session: Session, label_id: str, *, now: datetime) -> None:
    """A label associated anew (never, or unassociated before), or at another device, is
    sent its whole image: what it showed under its earlier association (kept for the
    audit while it was unassociated, `forget_ble_association`) is not what the device
    shows now, nor a base for a delta to it."""
    state = session.get(LabelStateRow, label_id)
    if state is not None:
        state.confirmed_hash = state.displayed_hash = None
        state.held_hash = state.held_display_at = None  # nor a flip it held then
        # The audit says `unconfirmed` until it acknowledges its image: so does the
        # audit of an instant since.
        keep_panel_forgotten(session, [label_id], by=PanelForgottenBy.ASSOCIATED, at=now)
        # Its plan too: the controller, finding that row, plans its whole image at once
        # (`panel_history.associated_anew_since`).
        state.desired_key = state.desired_display_at = None


def _other_label_at(
    session: Session,
    table: type[BleLabelInventoryRow] | type[BleAddressReservationRow],
    gateway: str,
    address: EslAddress,
    label_id: str,
    *also: ColumnElement[bool],
) -> str | None:
    """The label other than `label_id` that `table` puts at `address` on `gateway`."""
    return session.scalar(
        select(table.label_id).where(
            table.gateway == gateway,
            table.esl_group == address.group,
            table.esl_id == address.esl_id,
            table.label_id != label_id,
            *also,
        )
    )


def _check_paired_with_code(
    label: LabelRow, record: LabelInventoryRecord, *, paired_with_code: bool
) -> None:
    # Just Works would have given the label's key to whatever answered at its address:
    # what the printed code protects is kept only if every association used it.
    assert label.pairing_code is not None
    code = PairingCode.parse(label.pairing_code)
    if not paired_with_code:
        raise ConflictError(
            f"label {label.id} is registered with a pairing code but was paired without it "
            "(Just Works): associate it again with the code (--backend bumble)",
            field="paired_with_code",
        )
    if not code.names(record.address):
        raise ConflictError(
            f"label {label.id} was associated at {record.address}, not at the address its "
            f"pairing code names ({code.address})",
            field="address",
        )


def unassociate_ble_label(
    session: Session,
    *,
    principal: Principal,
    store: str,
    label_id: str,
    now: datetime,
    force: bool = False,
) -> LabelActionRow:
    """Unassociate `label_id`, through the label: its binding ends (it labels no product
    any more) and an `unassociate` label action is requested, which this returns. The
    controller then has the label show its identification screen, sends it a signed
    Unassociate (it deletes its key and ESL address), and once the label confirmed,
    forgets its key and inventory row (`esl.pipeline.ble_unassociation`). A label that
    does not answer stays associated, the action unanswered. Asked again while one is
    under way: that one. Store keys: their own store's labels only.

    `force`: forget it now without the device (lost, broken, out of reach for good): the
    device keeps its old key until its own timeout (two hours without a valid frame) and
    its last image for good (e-paper), which the audit lists until the label is retired
    or associated again; the controller can no longer sign anything with that key.
    Either way its history stays: frames, answers and actions, with who asked."""
    label = row_or_not_found(session, LabelRow, label_id, "label")
    require_store_access(principal, label.store)
    if label.store != store:
        raise NotFoundError("label", f"{label_id} in store {store}")
    if session.get(BleLabelInventoryRow, label_id) is None:
        raise NotFoundError("BLE association of label", label_id)
    under_way = session.scalar(
        select(LabelActionRow).where(
            LabelActionRow.label_id == label_id,
            LabelActionRow.action == UNASSOCIATED,
            LabelActionRow.status.in_((ActionStatus.REQUESTED.value, ActionStatus.SENT.value)),
        )
    )
    if under_way is not None and not force:
        return under_way
    binding = current_binding(session, label_id)
    if binding is not None:
        binding.unbound_at = now
    action = LabelActionRow(
        label_id=label_id,
        action=UNASSOCIATED,
        status=ActionStatus.REQUESTED.value,
        requested_by=principal.name,
        requested_at=now,
        detail="requested: its identification screen, then Unassociate",
    )
    if force:
        if under_way is not None:
            under_way.status = ActionStatus.FAILED.value
            under_way.answered_at = now
            under_way.detail = "forced: forgotten without the device"
        where = forget_ble_association(session, label_id, now=now)
        action.status = ActionStatus.ANSWERED.value
        action.answered_at = now
        action.detail = (
            f"unassociated from {where} without the device; its key is forgotten "
            "(the device keeps its old key until its own timeout and its last image for "
            "good: retire the label if it is gone)"
        )
    session.add(action)
    session.flush()
    return action
