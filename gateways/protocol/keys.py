"""Per-label keys: 32 random bytes, made by the controller when a label is registered.

The controller stores the key with the label (the database keeps it) and provisions it
into the label while associating it, the step the ESL Service calls Configuring: over
BLE the key is written on an encrypted link; a simulated gateway receives it in its
provisioning file. Keys never travel over MQTT.

`derive_label_key` is for fleets that would rather keep one site secret than one key
per label (and for simulators): HKDF-SHA256 of the secret with the label id as info.
"""

from __future__ import annotations

import secrets
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["LABEL_KEY_SIZE", "check_label_key", "derive_label_key", "generate_label_key"]

LABEL_KEY_SIZE: Final = 32
_HKDF_SALT = b"esl-label-key-v1"


def generate_label_key() -> bytes:
    """A fresh random key for a label being registered."""
    return secrets.token_bytes(LABEL_KEY_SIZE)


def derive_label_key(secret: bytes, label_id: str) -> bytes:
    """The key of `label_id` derived from a site secret of at least 16 bytes."""
    if len(secret) < 16:
        raise ValueError("a site secret must have at least 16 bytes")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=LABEL_KEY_SIZE, salt=_HKDF_SALT, info=label_id.encode()
    )
    return hkdf.derive(secret)


def check_label_key(key: bytes) -> bytes:
    if len(key) != LABEL_KEY_SIZE:
        raise ValueError(f"a label key has {LABEL_KEY_SIZE} bytes, got {len(key)}")
    return key
