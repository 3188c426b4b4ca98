"""The MQTT topic layout and the gateway status payload, as pure values.

    esl/v1/{store}/{gateway}/down    controller -> gateway: one protocol frame, QoS 1
    esl/v1/{store}/{gateway}/up      gateway -> controller: label responses, QoS 1
    esl/v1/{store}/{gateway}/status  retained JSON {"state": "online"|"offline", ...};
                                     the gateway's last will sets it to offline

Shared by the controller driver, the store-gateway client and the Mosquitto ACL
generator, so the three cannot disagree. No broker is needed to test any of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from gateways.base import GatewayState
from gateways.errors import InvalidTopicPartError

__all__ = [
    "TOPIC_ROOT",
    "TopicAddress",
    "TopicKind",
    "decode_status",
    "encode_status",
    "is_topic_part",
    "parse_topic",
    "status_will_payload",
    "store_session_username",
    "subscription_filters",
    "topic_for",
    "validate_topic_part",
]

TOPIC_ROOT = "esl/v1"

# Levels end up in topics, usernames ("S001.gw1") and ACL lines: keep them boring.
_TOPIC_PART = re.compile(r"[A-Za-z0-9_-]{1,64}")


class TopicKind(StrEnum):
    DOWN = "down"
    UP = "up"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class TopicAddress:
    store: str
    gateway: str
    kind: TopicKind


def is_topic_part(value: str) -> bool:
    return _TOPIC_PART.fullmatch(value) is not None


def validate_topic_part(value: str, *, kind: str) -> str:
    if not _TOPIC_PART.fullmatch(value):
        raise InvalidTopicPartError(kind=kind, value=value)
    return value


def topic_for(*, store: str, gateway: str, kind: TopicKind) -> str:
    validate_topic_part(store, kind="store")
    validate_topic_part(gateway, kind="gateway")
    return f"{TOPIC_ROOT}/{store}/{gateway}/{kind.value}"


def parse_topic(topic: str) -> TopicAddress | None:
    """The address of a topic in our layout, or None for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT:
        return None
    _, _, store, gateway, kind = parts
    if not (_TOPIC_PART.fullmatch(store) and _TOPIC_PART.fullmatch(gateway)):
        return None
    try:
        return TopicAddress(store=store, gateway=gateway, kind=TopicKind(kind))
    except ValueError:
        return None


def subscription_filters(stores: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """What the controller subscribes to: every store's up and status, or only these stores'."""
    levels = (
        ("+",) if stores is None else tuple(validate_topic_part(s, kind="store") for s in stores)
    )
    return tuple(
        f"{TOPIC_ROOT}/{level}/+/{kind.value}"
        for level in levels
        for kind in (TopicKind.UP, TopicKind.STATUS)
    )


def store_session_username(controller_username: str, store: str) -> str:
    """The login of the controller's session for one store's uplinks and statuses: the
    controller's username and the store, with the controller's password (the account
    `esl mqtt config` writes, readable only by that store's `up` and `status`)."""
    return f"{controller_username}.{validate_topic_part(store, kind='store')}"


def encode_status(state: GatewayState, *, reason: str | None = None) -> bytes:
    body: dict[str, str] = {"state": state.value}
    if reason is not None:
        body["reason"] = reason
    return json.dumps(body, sort_keys=True).encode()


def status_will_payload() -> bytes:
    """What the broker publishes for a gateway whose connection died without a goodbye."""
    return encode_status(GatewayState.OFFLINE, reason="connection lost")


_STATES = frozenset(state.value for state in GatewayState)
# Unicode's control characters (C0, DEL, C1) and the surrogates JSON's "\ud800" decodes to.
_NOT_RECORDABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]+")


def decode_status(payload: bytes) -> tuple[GatewayState, str | None] | None:
    """State and reason from a status payload, or None when it is not one of ours.

    An empty payload is how a retained status is cleared, so it is not an error either.
    Whatever the payload (a gateway's login may publish anything on its status topic),
    this answers and never raises; a reason that is not a string is left out, and one
    that is loses its control characters (`_recordable`).
    """
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the decoder goes ("[" * 100_000) is
        # no status either; it must not escape into the broker client's read loop.
        return None
    if not isinstance(body, dict):
        return None
    state_value = body.get("state")
    # A list or an object is unhashable: asked whether it is a state, it would raise.
    if not isinstance(state_value, str) or state_value not in _STATES:
        return None
    state = GatewayState(state_value)
    reason = body.get("reason")
    return state, _recordable(reason) if isinstance(reason, str) else None


def _recordable(reason: str) -> str | None:
    """The gateway's words without control characters (NUL, line breaks) or lone
    surrogates: PostgreSQL refuses a NUL in text and neither database stores a lone
    surrogate, so the status would not be recorded. Each run becomes one space."""
    cleaned = _NOT_RECORDABLE.sub(" ", reason).strip()
    return cleaned or None
