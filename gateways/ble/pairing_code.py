"""A label's out-of-band pairing code: what is printed on it (a QR code or NFC tag) so the
access point can tell the label from a man in the middle when it pairs.

LE Secure Connections with out-of-band data (Core Vol 3 Part H 2.3.5.6.4): the label
holds a P-256 key pair and a random value `r`, and prints its address, `r` and the
confirmation value `C = f4(PKx, PKx, r, 0)` of its public key. An access point that has
read the code pairs "OOB": it accepts only the public key that matches `C`, so a device
answering in the label's place (with its own key) fails pairing before any key is
written, and the link key is authenticated.

The text form is `eslpair:` and the hex of the Core Supplement's AD structures for LE OOB
data (Part A 1.16, 1.17): LE Bluetooth Device Address (`0x1B`, 6 bytes little-endian and
the address type), LE Secure Connections Confirmation Value (`0x22`, 16 bytes) and
Random Value (`0x23`, 16 bytes), in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateways.ble.errors import PairingCodeError

__all__ = ["PREFIX", "PairingCode", "bare_address"]

PREFIX: Final = "eslpair:"
_ADDRESS: Final = 0x1B
_CONFIRM: Final = 0x22
_RANDOM: Final = 0x23
_PUBLIC_SUFFIX: Final = "/P"  # how BumbleCentral.connect names a public address


@dataclass(frozen=True, slots=True)
class PairingCode:
    address: str  # "C0:FF:EE:00:00:01" (random static), "00:11:22:33:44:55/P" (public)
    confirm: bytes  # 16 bytes, as SMP carries it
    random: bytes  # 16 bytes

    def __post_init__(self) -> None:
        if len(self.confirm) != 16 or len(self.random) != 16:
            raise PairingCodeError(reason="confirmation and random values are 16 bytes each")
        _address_bytes(self.address)  # refuses a malformed address

    def __str__(self) -> str:
        structures = (
            (_ADDRESS, _address_bytes(self.address)),
            (_CONFIRM, self.confirm),
            (_RANDOM, self.random),
        )
        packed = b"".join(bytes([len(data) + 1, kind]) + data for kind, data in structures)
        return PREFIX + packed.hex()

    def names(self, address: str) -> bool:
        """Whether `address` is this label's, however it is spelled (case, `/P`)."""
        return bare_address(address) == bare_address(self.address)

    @classmethod
    def parse(cls, text: str) -> PairingCode:
        """The code as scanned; `PairingCodeError` with the reason for anything else."""
        text = text.strip()
        if not text.lower().startswith(PREFIX):
            raise PairingCodeError(reason=f"does not start with {PREFIX!r}")
        try:
            packed = bytes.fromhex(text[len(PREFIX) :])
        except ValueError:
            raise PairingCodeError(reason="not hexadecimal after the prefix") from None
        fields: dict[int, bytes] = {}
        at = 0
        while at < len(packed):
            length = packed[at]
            if length == 0 or at + 1 + length > len(packed):
                raise PairingCodeError(reason=f"AD structure at byte {at} runs past the end")
            kind, data = packed[at + 1], packed[at + 2 : at + 1 + length]
            if kind in fields:
                raise PairingCodeError(reason=f"AD type 0x{kind:02X} appears twice")
            fields[kind] = data
            at += 1 + length
        missing = [name for kind, name in _NAMES.items() if kind not in fields]
        if missing:
            raise PairingCodeError(reason=f"no {', no '.join(missing)}")
        return cls(
            address=_address_text(fields[_ADDRESS]),
            confirm=fields[_CONFIRM],
            random=fields[_RANDOM],
        )


def bare_address(address: str) -> str:
    """`address` as two spellings of one device compare: upper case, without the `/P` of a
    public address (a scan may report it without; bumble connects with it)."""
    upper = address.strip().upper()
    return upper.removesuffix(_PUBLIC_SUFFIX)


_NAMES: Final = {_ADDRESS: "address", _CONFIRM: "confirmation value", _RANDOM: "random value"}


def _address_bytes(address: str) -> bytes:
    public = address.upper().endswith(_PUBLIC_SUFFIX)
    octets = address[: -len(_PUBLIC_SUFFIX)] if public else address
    parts = octets.split(":")
    try:
        if len(parts) != 6 or any(len(part) != 2 for part in parts):
            raise ValueError
        value = bytes.fromhex("".join(parts))
    except ValueError:
        raise PairingCodeError(reason=f"{address!r} is not a BLE address") from None
    return value[::-1] + bytes([0 if public else 1])


def _address_text(data: bytes) -> str:
    if len(data) != 7 or data[6] > 1:
        raise PairingCodeError(reason="the address is 6 bytes and a type (0 or 1)")
    text = ":".join(f"{octet:02X}" for octet in data[5::-1])
    return text + _PUBLIC_SUFFIX if data[6] == 0 else text
