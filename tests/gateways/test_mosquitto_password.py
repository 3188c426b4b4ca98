"""Mosquitto's `$7$` password hash, made without `mosquitto_passwd`."""

from __future__ import annotations

import base64

from hypothesis import given, settings

from esl.mqtt.mosquitto_password import generate_password, hash_password, verify_password
from tests.strategies import any_passwords

# Made by `mosquitto_passwd -c -b pw alice secret` (Mosquitto 2.0.11).
MOSQUITTO_PASSWD_LINE = (
    "alice:$7$101$KojV4wa62f188aVw$XJIzxA4k080kHK9qsMWDOgPBTQKACfSMszndZPng2KKxfoyNSi4u821rEV9"
    "GWlOCIcJEPtPiIEdjnbReMacEgQ=="
)


def test_the_hash_equals_mosquitto_passwd_output_for_the_same_salt() -> None:
    _, hashed = MOSQUITTO_PASSWD_LINE.split(":", 1)
    salt = base64.b64decode(hashed.split("$")[3])
    assert hash_password("secret", salt=salt, iterations=101) == hashed
    assert verify_password("secret", hashed)
    assert not verify_password("Secret", hashed)


def test_each_hash_has_its_own_salt_and_the_configured_rounds() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second
    assert first.startswith("$7$1000$")
    assert verify_password("same", first)
    assert verify_password("same", second)


def test_malformed_hashes_never_verify() -> None:
    for hashed in ["", "$6$101$abc$def", "$7$x$abc$def", "$7$101$!!$def", "plain"]:
        assert not verify_password("secret", hashed)


@settings(max_examples=50)
@given(password=any_passwords)
def test_any_password_verifies_against_its_own_hash_only(password: str) -> None:
    hashed = hash_password(password, iterations=10)
    assert verify_password(password, hashed)
    assert not verify_password(password + "x", hashed)


def test_generated_passwords_are_long_and_distinct() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 32 for p in passwords)
