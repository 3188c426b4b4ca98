"""Simulated BLE labels: the ESL Service over GATT, behind a bleak client backend.

`firmware_sim.ble.gatt_label` and `firmware_sim.ble.air` are bleak-free;
`firmware_sim.ble.backend` imports bleak. Importing this package imports bleak, and
`import firmware_sim` does not import this package. `firmware_sim.ble.bumble_air` puts
the same labels on bumble's virtual radio link, behind a real Bluetooth host stack; it
imports bumble, so it is imported by name, not from here.

    air, addresses = ble_store(labels, keys=keys, clock=clock)   # from build_labels
    gateway = BleGateway(addresses, store="S001", client_factory=simulated_client_factory(air))
"""

from firmware_sim.ble.air import AirCounters, SimulatedAir
from firmware_sim.ble.backend import SimulatedBleakClient, simulated_client_factory
from firmware_sim.ble.fleet import ble_address_of, ble_store
from firmware_sim.ble.gatt_label import AttError, BleFaults, BleLabel, BleLink, LinkDroppedError

__all__ = [
    "AirCounters",
    "AttError",
    "BleFaults",
    "BleLabel",
    "BleLink",
    "LinkDroppedError",
    "SimulatedAir",
    "SimulatedBleakClient",
    "ble_address_of",
    "ble_store",
    "simulated_client_factory",
]
