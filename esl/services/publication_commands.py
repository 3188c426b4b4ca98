"""The four things a publication item can do, as typed commands.

The API's item schemas (esl/api/schemas.py) and `esl publish` build these; a draft
stores each as JSON (`command_payload`) and planning reads it back
(`command_from_payload`), so the service never inspects a loose dict.

    PublicationCommand
    +-- SetPrice          a regular price in a scope from the effective instant
    +-- EndPrice          end the price rule in force in a scope
    +-- UpsertPromotion   add a promotion, or replace one not yet started
    +-- EndPromotion      end a running promotion (or drop one not yet started)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar, Literal

from esl.decimal_digits import foreign_digits_problem
from esl.errors import InvalidItemError
from pricing.money import is_decimal_text
from pricing.products import Channel
from pricing.promotions import PromotionKind

__all__ = [
    "ACTIONS",
    "MAX_PROMOTION_COUNT",
    "MAX_PROMOTION_PRIORITY",
    "MIN_PROMOTION_COUNT",
    "MIN_PROMOTION_PRIORITY",
    "EndPrice",
    "EndPromotion",
    "PublicationCommand",
    "SetPrice",
    "UpsertPromotion",
    "command_from_payload",
    "command_payload",
]

Action = Literal["set_price", "end_price", "upsert_promotion", "end_promotion"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetPrice:
    """A regular gross price for `sku` in a scope (no zone and no store: national), from
    the effective instant until `valid_until` (unset: until changed)."""

    action: ClassVar[Action] = "set_price"
    sku: str
    amount: Decimal
    channel: Channel | None = None
    zone: str | None = None
    store: str | None = None
    currency: str | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EndPrice:
    """End the price rule in force in this scope at the effective instant."""

    action: ClassVar[Action] = "end_price"
    sku: str
    channel: Channel | None = None
    zone: str | None = None
    store: str | None = None


# A promotion's quantity and free_quantity, and its priority, as the API and a promotion
# file alike take them (the columns are 32-bit integers; a shelf offer counts a few items).
MIN_PROMOTION_COUNT, MAX_PROMOTION_COUNT = 1, 1000
MIN_PROMOTION_PRIORITY, MAX_PROMOTION_PRIORITY = -1000, 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertPromotion:
    """Add a promotion, or replace one that has not started yet."""

    action: ClassVar[Action] = "upsert_promotion"
    promotion_id: str
    kind: PromotionKind
    name: str | None = None
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    zones: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    percent: Decimal | None = None
    amount: Decimal | None = None
    currency: str | None = None
    quantity: int | None = None
    free_quantity: int | None = None
    priority: int = 0
    exclusive: bool = False
    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EndPromotion:
    """End a running promotion at the effective instant (or drop one not yet started)."""

    action: ClassVar[Action] = "end_promotion"
    promotion_id: str


PublicationCommand = SetPrice | EndPrice | UpsertPromotion | EndPromotion

_BY_ACTION: dict[str, type[PublicationCommand]] = {
    cls.action: cls for cls in (SetPrice, EndPrice, UpsertPromotion, EndPromotion)
}
ACTIONS: tuple[str, ...] = tuple(_BY_ACTION)
# Per command class, each field's name and default (MISSING: required), read once: a
# publication of 10,000 items is read back at validation and again at publishing.
_FIELDS: dict[type[PublicationCommand], tuple[tuple[str, Any], ...]] = {
    cls: tuple(
        (spec.name, MISSING if spec.default_factory is not MISSING else spec.default)
        for spec in fields(cls)
    )
    for cls in _BY_ACTION.values()
}
_REQUIRED_MESSAGES = {
    # The reasons drafts stored before the API checked each action's fields were given.
    ("set_price", "sku"): "a price item names a sku",
    ("end_price", "sku"): "a price item names a sku",
    ("set_price", "amount"): "set_price needs an amount",
    ("upsert_promotion", "promotion_id"): "upsert_promotion needs a promotion_id",
}


def command_payload(command: PublicationCommand) -> dict[str, Any]:
    """The JSON a draft stores: the action plus every field that differs from its default
    (text for decimals and instants), as the API has always echoed items back."""
    payload: dict[str, Any] = {"action": command.action}
    for name, default in _FIELDS[type(command)]:
        value = getattr(command, name)
        if value is None or value == () or value == default:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, StrEnum):
            value = value.value
        elif isinstance(value, tuple):
            value = [v.value if isinstance(v, StrEnum) else v for v in value]
        payload[name] = value
    return payload


def command_from_payload(payload: Mapping[str, Any]) -> PublicationCommand:
    """Read a stored item back; a draft stored before the API checked each action's fields
    may lack one, which is an `InvalidItemError` naming the field."""
    action = payload.get("action")
    cls = _BY_ACTION.get(str(action))
    if cls is None:
        raise InvalidItemError(f"unknown action {action!r}", field="action")
    values: dict[str, Any] = {}
    for name, default in _FIELDS[cls]:
        value = payload.get(name)
        if value is None or value == "":
            if default is MISSING:
                raise _missing(cls.action, name)
            continue
        values[name] = _typed(name, value)
    return cls(**values)


def _missing(action: str, name: str) -> InvalidItemError:
    if action == "upsert_promotion" and name == "kind":
        kinds = ", ".join(k.value for k in PromotionKind)
        return InvalidItemError(f"upsert_promotion needs a kind: one of {kinds}", field="kind")
    message = _REQUIRED_MESSAGES.get((action, name), f"{action} needs a {name}")
    return InvalidItemError(message, field=name)


_NUMBERS = ("amount", "percent", "quantity", "free_quantity", "priority")


def _typed(name: str, value: Any) -> Any:
    if name in _NUMBERS and isinstance(value, str) and (problem := foreign_digits_problem(value)):
        # Decimal() and int() read other scripts' digits as the digits meant.
        raise InvalidItemError(f"{name} {problem}", field=name)
    if name in ("amount", "percent"):
        if isinstance(value, str) and not is_decimal_text(value):
            raise InvalidItemError(f"{name} {value!r} is not a number", field=name)
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise InvalidItemError(f"{name} {value!r} is not a number", field=name) from None
    if name in ("valid_from", "valid_until"):
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidItemError(f"{name} {value!r} is not an instant", field=name) from None
    if name == "kind":
        try:
            return PromotionKind(str(value))
        except ValueError:
            raise _missing("upsert_promotion", "kind") from None
    if name == "channel":
        return _channel(value)
    if name == "channels":
        return tuple(_channel(v) for v in value)
    if name in ("skus", "categories", "zones", "stores"):
        return tuple(str(v) for v in value)
    if name in ("quantity", "free_quantity", "priority"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InvalidItemError(f"{name} {value!r} is not a whole number", field=name) from None
    if name == "exclusive":
        return bool(value)
    return str(value)


def _channel(value: Any) -> Channel:
    try:
        return Channel(str(value))
    except ValueError:
        channels = ", ".join(c.value for c in Channel)
        raise InvalidItemError(
            f"channel {value!r} is not one of {channels}", field="channel"
        ) from None
