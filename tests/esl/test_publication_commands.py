"""Publication items as typed commands: what the API takes is what a draft stores and echoes,
and a stored item the service cannot read is a reason for that item, not a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from esl.api.schemas import PublicationIn
from esl.db.engine import session_factory
from esl.db.models import PublicationItemRow
from esl.errors import InvalidItemError
from esl.services.publication_commands import (
    ACTIONS,
    EndPrice,
    EndPromotion,
    PublicationCommand,
    SetPrice,
    UpsertPromotion,
    command_from_payload,
    command_payload,
)
from pricing.products import Channel
from pricing.promotions import PromotionKind
from tests.support.api import Api

PUBLICATIONS = "/api/v1/publications"
ITEMS: list[dict[str, Any]] = [
    {"action": "set_price", "sku": "MLK-1", "zone": "north", "amount": "3.29"},
    {
        "action": "set_price",
        "sku": "CFE-1",
        "channel": "web",
        "store": "S01",
        "amount": "54.99",
        "currency": "PLN",
        "valid_until": "2026-06-01T00:00:00+00:00",
    },
    {"action": "end_price", "sku": "CHS-1", "channel": "store"},
    {
        "action": "upsert_promotion",
        "promotion_id": "BW-15",
        "name": "Black Week -15 %",
        "kind": "percent_off",
        "percent": "15",
        "categories": ["dairy"],
        "channels": ["store", "app"],
        "priority": 3,
        "exclusive": True,
        "valid_from": "2026-05-01T00:00:00+00:00",
    },
    # The promotion the item before adds: one not stored is refused at POST.
    {"action": "end_promotion", "promotion_id": "BW-15"},
]


def test_every_action_of_the_api_has_a_command() -> None:
    body = PublicationIn.model_validate({"title": "t", "items": ITEMS})
    commands = body.commands()
    assert [type(c) for c in commands] == [
        SetPrice,
        SetPrice,
        EndPrice,
        UpsertPromotion,
        EndPromotion,
    ]
    assert {c.action for c in commands} == set(ACTIONS)
    assert commands[1] == SetPrice(
        sku="CFE-1",
        amount=Decimal("54.99"),
        channel=Channel.WEB,
        store="S01",
        currency="PLN",
        valid_until=datetime(2026, 6, 1, tzinfo=UTC),
    )
    promotion = commands[3]
    assert isinstance(promotion, UpsertPromotion)
    assert promotion.kind is PromotionKind.PERCENT_OFF
    assert promotion.channels == (Channel.STORE, Channel.APP)


@pytest.mark.parametrize("payload", ITEMS, ids=lambda item: str(item["action"]))
def test_a_command_is_stored_as_the_item_was_sent_and_reads_back_equal(
    payload: dict[str, Any],
) -> None:
    command = command_from_payload(payload)
    assert command_payload(command) == payload
    assert command_from_payload(command_payload(command)) == command


def test_defaults_are_not_stored() -> None:
    command: PublicationCommand = UpsertPromotion(
        promotion_id="P", kind=PromotionKind.AMOUNT_OFF, amount=Decimal("1.00")
    )
    assert command_payload(command) == {
        "action": "upsert_promotion",
        "promotion_id": "P",
        "kind": "amount_off",
        "amount": "1.00",
    }


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"action": "raise_price", "sku": "MLK-1"}, "action", "unknown action 'raise_price'"),
        ({"sku": "MLK-1"}, "action", "unknown action None"),
        ({"action": "set_price", "amount": "1.00"}, "sku", "a price item names a sku"),
        ({"action": "set_price", "sku": "MLK-1"}, "amount", "set_price needs an amount"),
        ({"action": "set_price", "sku": "M", "amount": "x"}, "amount", "'x' is not a number"),
        ({"action": "set_price", "sku": "M", "amount": "3_49"}, "amount", "'3_49' is not a number"),
        ({"action": "end_price", "sku": "M", "channel": "tv"}, "channel", "'tv' is not one of"),
        ({"action": "upsert_promotion", "kind": "percent_off"}, "promotion_id", "promotion_id"),
        ({"action": "upsert_promotion", "promotion_id": "P", "kind": "x"}, "kind", "one of"),
        ({"action": "end_promotion"}, "promotion_id", "end_promotion needs a promotion_id"),
    ],
)
def test_a_stored_item_that_cannot_be_read_names_its_field(
    payload: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidItemError) as raised:
        command_from_payload(payload)
    assert raised.value.fields["field"] == field
    assert reason in raised.value.message


def test_the_api_echoes_the_items_as_sent(api: Api) -> None:
    created = api.client.post(
        PUBLICATIONS, json={"title": "t", "items": ITEMS}, headers=api.headers("pricing")
    )
    assert created.status_code == 201, created.text
    echoed = [
        {k: v for k, v in item.items() if k != "position"} for item in created.json()["items"]
    ]
    assert echoed == ITEMS


def test_a_draft_stored_without_a_needed_field_gets_a_reason_for_that_item(api: Api) -> None:
    created = api.client.post(
        PUBLICATIONS,
        json={"title": "t", "items": [ITEMS[0], ITEMS[2]]},
        headers=api.headers("pricing"),
    )
    number = created.json()["id"]
    # A draft written before the API checked each action's fields.
    with session_factory(api.engine).begin() as session:
        session.execute(
            update(PublicationItemRow)
            .where(PublicationItemRow.publication_id == number, PublicationItemRow.position == 1)
            .values(payload={"action": "set_price", "sku": "MLK-1"})
        )
    validated = api.client.post(f"{PUBLICATIONS}/{number}/validate", headers=api.headers("pricing"))
    assert validated.status_code == 200, validated.text
    assert validated.json()["status"] == "draft"
    problems = validated.json()["problems"]
    assert {"item": 1, "reason": "set_price needs an amount", "code": "invalid_item"} in problems
