"""A label's printed pairing code reads back exactly, and anything else is refused with
the reason (the installer scanned the wrong barcode, or a damaged one)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateways.ble.errors import PairingCodeError
from gateways.ble.pairing_code import PairingCode

_OCTETS = st.lists(st.integers(0, 255), min_size=6, max_size=6)
_ADDRESSES = st.builds(
    lambda octets, public: ":".join(f"{o:02X}" for o in octets) + ("/P" if public else ""),
    _OCTETS,
    st.booleans(),
)
_VALUES = st.binary(min_size=16, max_size=16)


@given(_ADDRESSES, _VALUES, _VALUES)
def test_a_code_reads_back_as_printed(address: str, confirm: bytes, random: bytes) -> None:
    code = PairingCode(address=address, confirm=confirm, random=random)
    assert PairingCode.parse(str(code)) == code
    assert PairingCode.parse(str(code).upper()) == code  # a scanner may shout


def test_the_text_is_the_core_supplements_oob_ad_structures() -> None:
    code = PairingCode(
        address="C0:FF:EE:00:00:01", confirm=bytes(range(16)), random=bytes(range(16, 32))
    )
    assert str(code) == (
        "eslpair:"
        "081b010000eeffc001"  # LE Bluetooth Device Address: little-endian, random (1)
        "1122000102030405060708090a0b0c0d0e0f"  # LE SC Confirmation Value
        "1123101112131415161718191a1b1c1d1e1f"  # LE SC Random Value
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("C0:FF:EE:00:00:01", "does not start with 'eslpair:'"),
        ("eslpair:zz", "not hexadecimal"),
        ("eslpair:081b010000eeffc0", "runs past the end"),
        ("eslpair:081b010000eeffc001", "no confirmation value, no random value"),
        ("eslpair:081b010000eeffc001081b010000eeffc001", "appears twice"),
        (
            "eslpair:071b010000eeffc0" + "1122" + "00" * 16 + "1123" + "00" * 16,
            "6 bytes and a type",
        ),
        ("eslpair:081b010000eeffc001" + "1022" + "00" * 15 + "1123" + "00" * 16, "16 bytes each"),
    ],
)
def test_what_is_not_a_pairing_code_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(PairingCodeError, match=reason):
        PairingCode.parse(text)


def test_an_address_that_is_not_one_is_refused() -> None:
    with pytest.raises(PairingCodeError, match="is not a BLE address"):
        PairingCode(address="C0:FF:EE:00:01", confirm=bytes(16), random=bytes(16))
