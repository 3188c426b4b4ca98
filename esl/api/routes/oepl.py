"""OpenEPaperLink provisioning: a store gateway registers its AP's tags as labels.

`esl gateway oepl import-tags --api URL --api-key K` calls this from the store, where
only the gateway's broker credential and an API key live (no database). The gateway
generates each label's key and keeps it in its provisioning file; the controller stores
the same key with the label, so frames verify at the gateway and answers at the
controller. Admin may register tags in any store, a store key in its own store only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from esl.api.dependencies import Ctx, CurrentSession, StoreStaff
from esl.api.schemas import RequestBody
from esl.pipeline.oepl_tags import AccessPointTag, register_access_point_tags
from esl.services.gateway_ids import GATEWAY_ID_PATTERN
from esl.services.labels import require_store_access
from gateways.oepl.addresses import tag_address

__all__ = [
    "AccessPointTagIn",
    "ModelChangeOut",
    "SkippedTagOut",
    "TagImportIn",
    "TagImportOut",
    "router",
]

router = APIRouter()
StorePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class AccessPointTagIn(RequestBody):
    """One tag of the AP's `/get_db`, as the gateway mapped its tag type."""

    mac: str = Field(
        pattern=r"^[0-9A-Fa-f]{16}$",
        description="The tag's 8-byte MAC, either case; it becomes the label id in uppercase",
    )
    hw_type: int = Field(ge=0, le=0xFFFF, description="The AP's tag type (`hwType`)")
    model: str | None = Field(
        min_length=1,
        max_length=64,
        description="The display model the tag type maps to; null: none (then `reason`)",
    )
    reason: str = Field(default="", max_length=500, description="Why there is no model")
    key: str = Field(
        pattern=r"^[0-9a-fA-F]{64}$", description="The label's 32-byte key, as the gateway holds it"
    )


class TagImportIn(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "gateway": "S01-ap1",
                    "tags": [
                        {
                            "mac": "0000025800000001",
                            "hw_type": 179,
                            "model": "2.9-bwr",
                            "key": "00" * 32,
                        }
                    ],
                }
            ]
        },
    )
    gateway: str = Field(
        min_length=1,
        max_length=64,
        pattern=GATEWAY_ID_PATTERN,
        description="The store gateway that drives the AP (registered if new); 1-64 of "
        "A-Z a-z 0-9 _ -, a level of its MQTT topics",
    )
    tags: list[AccessPointTagIn] = Field(min_length=1, max_length=5000)


class SkippedTagOut(BaseModel):
    mac: str
    reason: str = Field(description="e.g. registered on gateway S01-ap1")


class ModelChangeOut(BaseModel):
    label_id: str
    old_model: str
    new_model: str


class TagImportOut(BaseModel):
    store: str
    gateway: str
    labels: list[str] = Field(
        description="Every tag's label id registered on this gateway, now or before"
    )
    added: int = Field(description="How many of them are new")
    skipped: list[SkippedTagOut] = Field(
        default_factory=list,
        description="Tags registered on another gateway (another AP): left there, not "
        "registered on this one",
    )
    remodelled: list[ModelChangeOut] = Field(
        default_factory=list,
        description="Tags registered on this gateway with the same key as another display "
        "model: they took the model given here and are planned again for their new panel",
    )


@router.post(
    "/stores/{store}/oepl/tags", response_model=TagImportOut, status_code=200, tags=["labels"]
)
def post_access_point_tags(
    store: StorePath, body: TagImportIn, ctx: Ctx, session: CurrentSession, who: StoreStaff
) -> TagImportOut:
    """Register an OpenEPaperLink AP's tags as labels with their display models and keys.

    All or nothing: a tag whose type has no display model (or a model we do not have) is
    refused with 422 and the reason per tag; a tag registered with another key on
    this gateway is 409. Tags registered before with the same key are left alone, but a
    model that differs is taken (listed in `remodelled`; the label is planned again for
    its new panel); a tag
    registered on another gateway (another AP) is skipped, listed in `skipped` with the
    reason, and the others are registered."""
    require_store_access(who, store)
    tags = [
        AccessPointTag(
            mac=tag_address(tag.mac),  # the label id: the AP's spelling, one per tag
            hw_type=tag.hw_type,
            model_id=tag.model,
            key=bytes.fromhex(tag.key),
            reason=tag.reason,
        )
        for tag in body.tags
    ]
    registration = register_access_point_tags(
        session, tags, store=store, gateway=body.gateway, now=ctx.clock()
    )
    skipped = dict(registration.skipped)
    return TagImportOut(
        store=store,
        gateway=body.gateway,
        labels=[tag.mac for tag in tags if tag.mac not in skipped],
        added=registration.added,
        skipped=[SkippedTagOut(mac=mac, reason=why) for mac, why in registration.skipped],
        remodelled=[
            ModelChangeOut(
                label_id=change.label_id, old_model=change.old_model, new_model=change.new_model
            )
            for change in registration.remodelled
        ],
    )
