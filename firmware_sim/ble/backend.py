"""A bleak client backend that talks to simulated labels instead of a radio.

    air = SimulatedAir(labels, clock=clock)
    client = BleakClient(address, backend=SimulatedBleakClient, air=air)

bleak passes unknown keyword arguments to the backend, so the driver's own code path
(`BleakClient.connect`, `write_gatt_char`, `start_notify`, ...) runs unchanged; only the
last step, the radio, is replaced. Notifications are delivered on the event loop after
the write that caused them returns, as a real adapter delivers them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bleak import BleakClient
from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from firmware_sim.ble.air import SimulatedAir
from firmware_sim.ble.gatt_label import GATT_TABLE, AttError, BleLink, LinkDroppedError

__all__ = ["SimulatedBleakClient", "simulated_client_factory"]


def _gatt_services(mtu: int) -> BleakGATTServiceCollection:
    services = BleakGATTServiceCollection()
    handle = 1
    for service_uuid, characteristics in GATT_TABLE.items():
        service = BleakGATTService(None, handle, service_uuid)
        services.add_service(service)
        handle += 1
        for uuid, properties in characteristics:
            services.add_characteristic(
                BleakGATTCharacteristic(
                    None, handle, uuid, list(properties), lambda: mtu - 3, service
                )
            )
            handle += 2  # declaration and value
    return services


class SimulatedBleakClient(BaseBleakClient):
    """`BaseBleakClient` over a `SimulatedAir`: pass `air=` to `BleakClient`."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        air: SimulatedAir,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._air = air
        # This client's own connection: its encryption is this link's, not the label's.
        self._link: BleLink | None = None
        self._subscriptions: dict[str, NotifyCallback] = {}

    @property
    def name(self) -> str:
        return f"ESL {self._link.label.label_id}" if self._link is not None else self.address

    @property
    def mtu_size(self) -> int:
        return self._air.mtu

    @property
    def is_connected(self) -> bool:
        return self._link is not None and self._link.open

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        label = self._air.label(self.address)
        if label is None:
            raise BleakDeviceNotFoundError(self.address, f"{self.address} not in range")
        link = label.connect()
        if link is None:
            raise TimeoutError(f"{self.address} did not answer the connection request")
        self._air.counters.count_connect()
        self._link = link
        self.services = _gatt_services(self._air.mtu)

    async def disconnect(self) -> None:
        if self._link is not None:
            self._link.disconnect()
            self._air.counters.count_disconnect()
        self._link = None
        self._subscriptions.clear()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pairing as LE Secure Connections ends it: this link is encrypted from now on."""
        self._connected_link().encrypt()

    async def unpair(self) -> None:
        """Nothing to forget."""

    def _connected_link(self) -> BleLink:
        if self._link is None or not self._link.open:
            raise BleakError(f"{self.address}: not connected")
        return self._link

    def _dropped(self, link: BleLink, reason: str) -> BleakError:
        link.disconnect()
        self._air.counters.count_disconnect()
        self._link = None
        self._subscriptions.clear()
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)
        return BleakError(f"{self.address}: disconnected ({reason})")

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        link = self._connected_link()
        try:
            value = link.label.read(characteristic.uuid, now=self._air.clock())
        except AttError as error:
            self._air.counters.count_read(0)
            raise BleakGATTProtocolError(error.code) from error
        self._air.counters.count_read(len(value))
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        raise BleakError("simulated labels have no readable descriptors")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        # Air time: other connections on the adapter get their turn between writes.
        await asyncio.sleep(0)
        link = self._connected_link()
        value = bytes(memoryview(data))
        self._air.counters.count_write(len(value))
        try:
            notifications = link.label.write(
                characteristic.uuid, value, link=link, now=self._air.clock()
            )
        except AttError as error:
            raise BleakGATTProtocolError(error.code) from error
        except LinkDroppedError as error:
            raise self._dropped(link, str(error)) from error
        loop = asyncio.get_running_loop()
        for uuid, value in notifications:
            # A Handle Value Notification carries MTU - 3 bytes of the value at most.
            notified = value[: self._air.mtu - 3]
            self._air.counters.count_notification(len(notified))
            callback = self._subscriptions.get(uuid)
            if callback is not None:
                loop.call_soon(callback, bytearray(notified))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        raise BleakError("simulated labels have no writable descriptors")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._connected_link()
        # Enabling notifications is a write of the CCCD descriptor.
        self._air.counters.count_write(2)
        self._subscriptions[characteristic.uuid] = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._subscriptions.pop(characteristic.uuid, None)


def simulated_client_factory(air: SimulatedAir) -> Callable[[str], BleakClient]:
    """A `client_factory` for `BleGateway` and `associate_label` that uses `air`."""

    def make(address: str) -> BleakClient:
        return BleakClient(address, backend=SimulatedBleakClient, air=air, timeout=1.0)

    return make
