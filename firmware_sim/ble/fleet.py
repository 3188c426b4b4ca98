"""A store of simulated BLE labels from the firmware simulator's labels, ready to drive.

    air, addresses = ble_store(labels, keys=keys, clock=clock)
    gateway = BleGateway(addresses, store="S001", client_factory=simulated_client_factory(air))

Labels get addresses `C0:FF:EE:00:hh:ll` and ESL IDs 0-254 in order (group = index // 255,
as an access point fills groups); they count as associated already, as `build_labels`
makes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from firmware_sim.ble.air import SimulatedAir
from firmware_sim.ble.gatt_label import BleLabel
from firmware_sim.label import SimulatedLabel
from gateways.ble.control_point import EslAddress
from gateways.ble.esl_service import MAX_GROUP_ID
from gateways.ble.inventory import BleLabelAddress

__all__ = ["ble_address_of", "ble_store"]

_PER_GROUP = 255  # ESL IDs 0-254; 0xFF is broadcast


def ble_address_of(index: int) -> str:
    return f"C0:FF:EE:00:{index >> 8 & 0xFF:02X}:{index & 0xFF:02X}"


def ble_store(
    labels: Sequence[SimulatedLabel],
    *,
    keys: Mapping[str, bytes],
    clock: Callable[[], datetime],
) -> tuple[SimulatedAir, list[BleLabelAddress]]:
    """The air holding `labels` (associated with `keys`) and the driver's address list."""
    if len(labels) > _PER_GROUP * (MAX_GROUP_ID + 1):
        raise ValueError(f"at most {_PER_GROUP * (MAX_GROUP_ID + 1)} labels per access point")
    ble_labels, addresses = [], []
    for index, label in enumerate(labels):
        address = ble_address_of(index + 1)
        ble = BleLabel(address=address, label=label, key=keys[label.label_id])
        ble.esl_address = EslAddress(esl_id=index % _PER_GROUP, group=index // _PER_GROUP)
        ble_labels.append(ble)
        addresses.append(
            BleLabelAddress(label.label_id, address=address, esl_id=ble.esl_address.esl_id)
        )
    return SimulatedAir(ble_labels, clock=clock), addresses
