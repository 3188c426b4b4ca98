"""One store chain with a label in every audit class, shared by the audit tests.

Timeline: national prices since T0 - 60 d; S01 sells cheese at a store-only 7.99; coffee
is 20 % off in shops only (not on the web) from T0 - 1 d; at T1 = T0 + 1 h the national
cheese price goes from 8.99 to 9.49. The audit runs at AUDIT_AT = T0 + 2 h.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal

from tests.audit.world import T0, AuditWorld

T1 = T0 + timedelta(hours=1)
AUDIT_AT = T0 + timedelta(hours=2)
RECENTLY = AUDIT_AT - timedelta(minutes=1)
TAMPERED_HASH = "ab" * 16

EXPECTED_CLASSES = {
    "L-match": "match",
    "L-store-rule": "intended_difference",
    "L-store-promo": "intended_difference",
    "L-stale": "stale",
    "L-unconfirmed": "unconfirmed",
    "L-offline": "offline",
    "L-flat": "low_battery",
    "L-tampered": "unknown_content",
    "L-unsold": "no_longer_sold",
}


def build_chain(world: AuditWorld) -> None:
    world.publish(
        [
            {
                "action": "set_price",
                "sku": "CHS-1",
                "amount": "7.99",
                "store": "S01",
                "channel": "store",
            }
        ],
        now=T0 - timedelta(days=59),
    )
    coffee_week(world, now=T0 - timedelta(days=1))
    labels = {
        "L-match": ("S02", "MLK-1"),
        "L-store-rule": ("S01", "CHS-1"),
        "L-store-promo": ("S03", "CFE-1"),
        "L-stale": ("S02", "CHS-1"),
        "L-unconfirmed": ("S01", "MLK-1"),
        "L-offline": ("S03", "MLK-1"),
        "L-flat": ("S03", "CHS-1"),
        "L-tampered": ("S01", "CFE-1"),
        "L-unsold": ("S02", "OLD-1"),
    }
    for label_id, (store, sku) in labels.items():
        world.label(label_id, store=store, sku=sku)
    for label_id in ("L-match", "L-store-rule", "L-store-promo", "L-stale", "L-offline"):
        world.acknowledged(label_id, at=T0)
    world.acknowledged("L-flat", at=T0)
    world.acknowledged("L-tampered", at=T0)
    world.planned_but_unanswered("L-unconfirmed", at=T0, attempts=1, status="sent")

    world.publish([{"action": "set_price", "sku": "CHS-1", "amount": "9.49"}], now=T1)
    world.planned_but_unanswered("L-stale", at=T1, attempts=3, status="sent")
    world.planned_but_unanswered(
        "L-flat", at=T1, attempts=5, status="parked", reason="flat battery"
    )

    for label_id in ("L-match", "L-store-rule", "L-store-promo", "L-stale"):
        world.checked_in(label_id, at=RECENTLY)
    world.checked_in("L-flat", at=RECENTLY, battery_mv=2_300)
    world.checked_in("L-tampered", at=RECENTLY, displayed_hash=TAMPERED_HASH)


def coffee_week(
    world: AuditWorld,
    *,
    now: datetime,
    promotion_id: str = "P-CFE",
    stores: list[str] | None = None,
) -> None:
    """ "Coffee week": CFE-1 20 % off in the store channel from `now` (in `stores` only,
    when named), published at `now`."""
    item: dict[str, object] = {
        "action": "upsert_promotion",
        "promotion_id": promotion_id,
        "name": "Coffee week",
        "kind": "percent_off",
        "percent": "20",
        "skus": ["CFE-1"],
        "channels": ["store"],
        "valid_from": now.isoformat(),
    }
    if stores is not None:
        item["stores"] = stores
    world.publish([item], now=now)


def wrong_prior_price(world: AuditWorld, *, shown_from: datetime = T0) -> None:
    """L-wrong-prior in S02 at the due 47.99, printing a prior price of 54.99 (59.99 due)
    from `shown_from` (the due label before), last heard a minute before the audit."""
    world.label("L-wrong-prior", store="S02", sku="CFE-1")
    if shown_from > T0:
        world.acknowledged("L-wrong-prior", at=T0)
    world.acknowledged(
        "L-wrong-prior",
        at=shown_from,
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("54.99")),
    )
    world.checked_in("L-wrong-prior", at=AUDIT_AT - timedelta(minutes=1))
