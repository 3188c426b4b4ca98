"""The MQTT topic layout and status payloads, checked without a broker."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from gateways.base import GatewayState
from gateways.errors import InvalidTopicPartError
from gateways.mqtt.topics import (
    TopicAddress,
    TopicKind,
    decode_status,
    encode_status,
    parse_topic,
    status_will_payload,
    subscription_filters,
    topic_for,
)
from tests.strategies import topic_part_ids


def test_topics_follow_the_documented_layout() -> None:
    assert topic_for(store="S001", gateway="gw1", kind=TopicKind.DOWN) == "esl/v1/S001/gw1/down"
    assert topic_for(store="S001", gateway="gw1", kind=TopicKind.UP) == "esl/v1/S001/gw1/up"
    assert topic_for(store="S001", gateway="gw1", kind=TopicKind.STATUS) == "esl/v1/S001/gw1/status"


@settings(max_examples=100)
@given(store=topic_part_ids, gateway=topic_part_ids)
def test_every_topic_we_build_parses_back_to_its_address(store: str, gateway: str) -> None:
    for kind in TopicKind:
        topic = topic_for(store=store, gateway=gateway, kind=kind)
        assert parse_topic(topic) == TopicAddress(store=store, gateway=gateway, kind=kind)


@pytest.mark.parametrize("bad", ["", "S/001", "S+", "S#", "S 1", "x" * 65, "sklep-ł"])
def test_ids_that_would_break_topics_or_acls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidTopicPartError) as caught:
        topic_for(store=bad, gateway="gw1", kind=TopicKind.DOWN)
    assert caught.value.fields == {"kind": "store", "value": bad}
    with pytest.raises(InvalidTopicPartError):
        topic_for(store="S001", gateway=bad, kind=TopicKind.UP)


@pytest.mark.parametrize(
    "topic",
    [
        "esl/v2/S001/gw1/up",
        "esl/v1/S001/gw1/sideways",
        "esl/v1/S001/up",
        "esl/v1/S001/gw1/up/extra",
        "$SYS/broker/uptime",
        "esl/v1/S 1/gw1/up",
    ],
)
def test_topics_outside_the_layout_have_no_address(topic: str) -> None:
    assert parse_topic(topic) is None


def test_the_controller_subscribes_to_all_stores_or_only_the_configured_ones() -> None:
    assert subscription_filters() == ("esl/v1/+/+/up", "esl/v1/+/+/status")
    assert subscription_filters(("S001", "S002")) == (
        "esl/v1/S001/+/up",
        "esl/v1/S001/+/status",
        "esl/v1/S002/+/up",
        "esl/v1/S002/+/status",
    )
    with pytest.raises(InvalidTopicPartError):
        subscription_filters(("#",))


def test_status_payloads_round_trip_with_their_reason() -> None:
    assert decode_status(encode_status(GatewayState.ONLINE)) == (GatewayState.ONLINE, None)
    assert decode_status(encode_status(GatewayState.OFFLINE, reason="shutdown")) == (
        GatewayState.OFFLINE,
        "shutdown",
    )
    assert decode_status(status_will_payload()) == (GatewayState.OFFLINE, "connection lost")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"online",
        b"\xff\xfe",
        b"[]",
        b'{"state": "sleepy"}',
        b'{"state": 1}',
        b"{}",
        # A gateway's login may publish anything on its status topic: these raised
        # (unhashable state, nesting deeper than the JSON decoder goes).
        b'{"state": ["online"]}',
        b'{"state": {"a": 1}}',
        b"[" * 100_000,
        b'{"state": ' * 100_000,
    ],
)
def test_anything_else_on_a_status_topic_is_not_a_status(payload: bytes) -> None:
    assert decode_status(payload) is None
