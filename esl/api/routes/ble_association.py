"""Associating Bluetooth ESL labels through a store's gateway (`esl gateway ble associate`).

The store gateway keeps no label keys, but association writes the key into the label,
so the installer's box gets them once, in a kit an admin asks for:

    POST /stores/S01/ble/association-kit {"gateway": "S01-ble1", "label_ids": [...]}
    POST /stores/S01/ble/inventory {"gateway": "S01-ble1", "labels": [...]}   # the results
    DELETE /stores/S01/ble/inventory/L1                                        # unassociate

The kit is admin-only (it holds keys); the results may come from an admin or that
store's key, and are recorded all or none (422 with each label's reason); so may an
unassociation (the controller forgets the label's key and inventory row).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from esl.api.dependencies import Admin, Ctx, CurrentSession, StoreStaff
from esl.api.schemas import RequestBody
from esl.errors import ImportRejectedError
from esl.services.ble_inventory import (
    association_kit,
    record_ble_associations,
    unassociate_ble_label,
)
from esl.services.gateway_ids import GATEWAY_ID_PATTERN
from esl.services.labels import require_store_access
from gateways.ble.control_point import EslAddress
from gateways.ble.inventory import DisplayInformation, LabelInventoryRecord, LedInformation

__all__ = ["router"]

router = APIRouter()
_ID = r"^[A-Za-z0-9_.:\-]+$"
StorePath = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
LabelPath = Annotated[str, Path(min_length=1, max_length=64)]
GatewayId = Annotated[str, Field(min_length=1, max_length=64, pattern=GATEWAY_ID_PATTERN)]


class KitIn(RequestBody):
    gateway: GatewayId = Field(description="The store gateway that will drive the labels")
    label_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=2000
    )


class KitLabelOut(BaseModel):
    label_id: str
    model: str
    width: int
    height: int
    esl_id: int
    esl_group: int
    key: str = Field(description="The label's 32-byte key, hex: written into the label")
    address: str | None = Field(
        default=None, description="The label's BLE address, if the installer knows it"
    )
    pairing_code: str | None = Field(
        default=None,
        description="The label's printed pairing code, as registered: association pairs "
        "out of band with it (and takes the label's address from it)",
    )


class KitOut(BaseModel):
    store: str
    gateway: str
    labels: list[KitLabelOut]


class DisplayIn(RequestBody):
    width: int = Field(ge=1, le=0xFFFF)
    height: int = Field(ge=1, le=0xFFFF)
    display_type: int = Field(ge=0, le=0xFF)


class LedIn(RequestBody):
    srgb: bool
    colour_bits: int = Field(ge=0, le=0x3F)


class AssociatedLabelIn(RequestBody):
    """What associating one label learned (a `LabelInventoryRecord`)."""

    label_id: str = Field(min_length=1, max_length=64)
    address: str = Field(
        pattern=r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}(/[Pp])?$",
        description="Its BLE address (`/P` after a public one); one label per device",
    )
    esl_id: int = Field(ge=0, le=254)
    esl_group: int = Field(ge=0, le=127)
    displays: list[DisplayIn] = Field(max_length=16)
    max_image_index: int = Field(ge=0, le=0xFF)
    leds: list[LedIn] = Field(max_length=16)
    associated_at: datetime
    paired_with_code: bool = Field(
        default=False,
        description="Paired out of band with the label's printed pairing code (required "
        "for a label registered with one)",
    )

    def record(self) -> LabelInventoryRecord:
        return LabelInventoryRecord(
            address=self.address,
            esl_address=EslAddress(esl_id=self.esl_id, group=self.esl_group),
            displays=tuple(
                DisplayInformation(d.width, d.height, d.display_type) for d in self.displays
            ),
            max_image_index=self.max_image_index,
            leds=tuple(LedInformation(srgb=x.srgb, colour_bits=x.colour_bits) for x in self.leds),
            associated_at=self.associated_at,
        )


class InventoryIn(RequestBody):
    gateway: GatewayId
    labels: list[AssociatedLabelIn] = Field(min_length=1, max_length=2000)


class InventoryOut(BaseModel):
    store: str
    gateway: str
    recorded: list[str]


@router.post(
    "/stores/{store}/ble/association-kit", response_model=KitOut, status_code=200, tags=["labels"]
)
def post_association_kit(
    store: StorePath, body: KitIn, ctx: Ctx, session: CurrentSession, who: Admin
) -> KitOut:
    """Each label with the ESL address to give it on `gateway` and its key (admin only).

    The addresses are reserved for these labels for 24 hours, or until their association
    is recorded; asking again for a label gives it the same address. 422 with each
    label's reason, and no kit, when a label is unknown, in another store, on another
    gateway or already associated; 409 when another kit for the gateway was being made at
    the same instant (ask again)."""
    del who
    kit = association_kit(
        session, store=store, gateway=body.gateway, label_ids=body.label_ids, now=ctx.clock()
    )
    return KitOut(
        store=store,
        gateway=body.gateway,
        labels=[
            KitLabelOut(
                label_id=x.label_id,
                model=x.model,
                width=x.width,
                height=x.height,
                esl_id=x.esl_address.esl_id,
                esl_group=x.esl_address.group,
                key=x.key.hex(),
                pairing_code=None if x.pairing_code is None else str(x.pairing_code),
            )
            for x in kit
        ],
    )


@router.post(
    "/stores/{store}/ble/inventory", response_model=InventoryOut, status_code=200, tags=["labels"]
)
def post_ble_inventory(
    store: StorePath, body: InventoryIn, ctx: Ctx, session: CurrentSession, who: StoreStaff
) -> InventoryOut:
    """Record what associating each label learned, all or none (admin or the store's key).

    A label reporting a display other than its registered model's, an ESL address taken
    by another label on the gateway, a BLE address recorded for another label (one
    device holds one label's key), or a label of another store or gateway is refused
    with 422 and each label's reason; then nothing is recorded."""
    require_store_access(who, store)
    records = {x.label_id: x.record() for x in body.labels}
    if len(records) != len(body.labels):
        raise ImportRejectedError(
            "a label is listed twice", problems=[{"label_id": None, "reason": "listed twice"}]
        )
    rows = record_ble_associations(
        session,
        store=store,
        gateway=body.gateway,
        records=records,
        now=ctx.clock(),
        paired_with_code={x.label_id for x in body.labels if x.paired_with_code},
    )
    return InventoryOut(store=store, gateway=body.gateway, recorded=[r.label_id for r in rows])


class UnassociationOut(BaseModel):
    label_id: str
    action_id: int = Field(description="GET /labels/{label_id}/actions/{action_id} follows it")
    status: str = Field(
        description="requested (202): the controller is reaching the label; answered "
        "(200, forced): forgotten without the device"
    )
    requested_at: datetime
    by: str
    detail: str = Field(description="Where the step is, or where the label was")


@router.delete(
    "/stores/{store}/ble/inventory/{label_id}",
    response_model=UnassociationOut,
    status_code=202,
    tags=["labels"],
)
def delete_ble_association(
    store: StorePath,
    label_id: LabelPath,
    ctx: Ctx,
    session: CurrentSession,
    who: StoreStaff,
    response: Response,
    force: Annotated[
        bool,
        Query(
            description="Forget it now without the device (lost, broken): it keeps its old "
            "key until its own timeout (2 h) and its last image for good (retire it if gone)"
        ),
    ] = False,
) -> UnassociationOut:
    """Unassociate a BLE label (admin or the store's key), through the label: 202 with an
    `unassociate` label action. Its binding ends; the controller has it show its
    identification screen (no price), sends it a signed Unassociate (it deletes its key
    and ESL address), and once it confirmed forgets its key and inventory row, so a kit
    may associate it again (with a new key). A label that does not confirm stays
    associated and the action ends `unanswered`; ask again, or `?force=true` (200):
    forgotten at once without the device. Its history stays. 404 when not associated;
    asked again while one is under way: that one."""
    action = unassociate_ble_label(
        session, principal=who, store=store, label_id=label_id, now=ctx.clock(), force=force
    )
    if force:
        response.status_code = 200
    return UnassociationOut(
        label_id=label_id,
        action_id=action.id,
        status=action.status,
        requested_at=action.requested_at,
        by=action.requested_by,
        detail=action.detail or "",
    )
