"""Label keys, and the reason codes and states the BLE driver passes through unchanged."""

from __future__ import annotations

import pytest

from gateways.protocol import (
    LABEL_KEY_SIZE,
    BasicStateFlag,
    ReasonCode,
    derive_label_key,
    generate_label_key,
)


def test_generated_keys_are_32_random_bytes() -> None:
    keys = {generate_label_key() for _ in range(100)}
    assert len(keys) == 100
    assert {len(k) for k in keys} == {LABEL_KEY_SIZE}


def test_derived_keys_are_stable_per_label_and_differ_between_labels_and_secrets() -> None:
    secret = b"site secret of S001 ......"
    assert derive_label_key(secret, "A1") == derive_label_key(secret, "A1")
    assert derive_label_key(secret, "A1") != derive_label_key(secret, "A2")
    assert derive_label_key(secret, "A1") != derive_label_key(secret + b"!", "A1")
    with pytest.raises(ValueError, match="16 bytes"):
        derive_label_key(b"short", "A1")


def test_reason_codes_keep_the_esl_service_values_where_the_spec_has_them() -> None:
    # ESL Service 1.0 error codes, as the BLE driver will forward them.
    esl = {
        0x01: "UNSPECIFIED_ERROR",
        0x02: "INVALID_OPCODE",
        0x03: "INVALID_STATE",
        0x04: "INVALID_IMAGE_INDEX",
        0x05: "IMAGE_NOT_AVAILABLE",
        0x06: "INVALID_PARAMETERS",
        0x07: "CAPACITY_LIMIT",
        0x08: "INSUFFICIENT_BATTERY",
        0x09: "INSUFFICIENT_RESOURCES",
        0x0A: "RETRY",
        0x0B: "QUEUE_FULL",
        0x0C: "IMPLAUSIBLE_ABSOLUTE_TIME",
    }
    assert {code: ReasonCode(code).name for code in esl} == esl
    ours = [c for c in ReasonCode if c is not ReasonCode.SUCCESS and c.value not in esl]
    assert all(0xF0 <= c <= 0xFF for c in ours)  # the spec's vendor-specific range
    assert ReasonCode["LOW_BATTERY"] is ReasonCode.INSUFFICIENT_BATTERY
    assert ReasonCode["BUSY"] is ReasonCode.RETRY
    assert int(BasicStateFlag.SYNCHRONIZED) == 0x02
    assert int(BasicStateFlag.PENDING_DISPLAY_UPDATE) == 0x10
