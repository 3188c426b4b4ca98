"""A bleak client backend over bumble, Google's Bluetooth host stack in Python.

    central = BumbleCentral(device)                  # a bumble Device: the adapter
    client = BleakClient(address, backend=BumbleBleakClient, central=central)
    factory = bumble_client_factory(central)         # for BleGateway / associate_label
    async with bumble_link("usb:0") as factory: ...  # a central opened and closed with it

bleak drives the platform's Bluetooth stack (BlueZ, CoreBluetooth, WinRT); this backend
drives bumble's instead: HCI to a controller, L2CAP, ATT and the GATT client are
bumble's, so the driver's `BleakClient` calls become real ATT PDUs. The controller is
whatever bumble's `Device` was built on: a virtual one on a `LocalLink` next to the
simulated labels (`firmware_sim.ble.bumble_air`), or a real one, a USB or UART HCI
dongle opened with `open_bumble_central("usb:0")`, with no BlueZ in between.

On connect the backend asks for `central.mtu` (ATT Exchange MTU) and discovers every
service and characteristic; descriptors are discovered when a notification is enabled.
bumble's objects stay in this module: bleak sees `BleakGATTService` values, bytes and
`BleakError`s. An ATT Error Response becomes `BleakGATTProtocolError` with its code;
a request the link took down with it (bumble cancels it) becomes a `BleakError`, and
the `disconnected_callback` runs, as on the platform backends.

No PyPI package offers this backend (bleak-esphome and bleak-smlight wrap proxies, not
a host stack), so it is written here against bleak's `BaseBleakClient`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid as uuid_module
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

from bleak import BleakClient
from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import core, hci
from bumble.att import ATT_DEFAULT_MTU, ATT_Error
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy, ServiceProxy
from bumble.keys import PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.smp import OobContext, OobSharedData
from bumble.transport.common import Transport

from gateways.ble.esl_service import ESL_SERVICE_UUID
from gateways.ble.inventory import AdvertisedLabel
from gateways.ble.pairing_code import PairingCode, bare_address

__all__ = [
    "DEFAULT_MTU",
    "BumbleBleakClient",
    "BumbleCentral",
    "bumble_client_factory",
    "bumble_link",
    "open_bumble_central",
]

DEFAULT_MTU: Final = 247
_T = TypeVar("_T")
_HANDLE_VALUE_OVERHEAD: Final = 3  # ATT opcode + attribute handle

_PROPERTY_NAMES: Final[tuple[tuple[Characteristic.Properties, CharacteristicPropertyName], ...]] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


class BumbleCentral:
    """One bumble `Device` used as a central (the adapter), shared by every client.

    A controller creates one LE connection at a time, so `connect` takes turns; the
    connections themselves run side by side.
    """

    def __init__(
        self, device: Device, *, mtu: int = DEFAULT_MTU, transport: Transport | None = None
    ) -> None:
        if not ATT_DEFAULT_MTU <= mtu <= 517:
            raise ValueError(f"ATT MTU {mtu} outside {ATT_DEFAULT_MTU}..517")
        self.device = device
        self._pairing_codes: dict[str, PairingCode] = {}
        device.pairing_config_factory = self._pairing_config
        self.mtu = mtu
        self._transport = transport
        self._connecting = asyncio.Lock()

    def add_pairing_code(self, code: PairingCode) -> None:
        """Pair with the label at `code.address` out of band, from the code printed on it
        (as BlueZ's "Add Remote OOB Data" does for an adapter): only the label whose
        public key matches the code completes pairing, and pairing without it fails."""
        self._pairing_codes[bare_address(code.address)] = code

    def pairing_code_for(self, address: str) -> PairingCode | None:
        return self._pairing_codes.get(bare_address(address))

    def _pairing_config(self, connection: Connection) -> PairingConfig:
        # Pairing bonds nothing: association is the only step that needs an encrypted
        # link, and frames are signed end to end after it.
        code = self.pairing_code_for(connection.peer_address.to_string(True))
        if code is None:
            return PairingConfig(sc=True, mitm=False, bonding=False, delegate=PairingDelegate())
        oob = PairingConfig.OobConfig(
            our_context=OobContext(),  # bumble wants one; the label has none of ours
            peer_data=OobSharedData(c=code.confirm, r=code.random),
            legacy_context=None,
        )
        return PairingConfig(sc=True, mitm=True, bonding=False, delegate=PairingDelegate(), oob=oob)

    async def power_on(self) -> None:
        if not self.device.powered_on:
            await self.device.power_on()

    async def connect(self, address: str, *, timeout_s: float) -> Connection:
        """Connect to `address`: a random (static) device address, as ESLs use, or a
        public one written with a `/P` suffix (`00:11:22:33:44:55/P`)."""
        await self.power_on()
        async with self._connecting:
            return await self.device.connect(hci.Address(address), timeout=timeout_s)

    async def discover(self, timeout_s: float = 5.0) -> list[AdvertisedLabel]:
        """Scan for `timeout_s` for labels advertising the ESL Service (a `Discover`
        function: a label lists the service only while it needs an access point)."""
        await self.power_on()
        found: dict[str, AdvertisedLabel] = {}

        def on_advertisement(advertisement: Advertisement) -> None:
            uuids = advertisement.data.get_all(
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS
            ) + advertisement.data.get_all(
                AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS
            )
            listed = {_uuid_text(uuid) for group in uuids for uuid in group}
            if ESL_SERVICE_UUID not in listed:
                return
            name = advertisement.data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
            # As `connect` takes it: a public address keeps its `/P`.
            address = advertisement.address.to_string(True)
            found[address] = AdvertisedLabel(
                address=address,
                name=name if isinstance(name, str) else None,
                rssi_dbm=advertisement.rssi,
            )

        # Not while connecting: a controller scans or initiates, one at a time here.
        async with self._connecting:
            self.device.on(Device.EVENT_ADVERTISEMENT, on_advertisement)
            try:
                await self.device.start_scanning(filter_duplicates=True)
                # A scan is a time window by nature: what advertised in it is the answer.
                await asyncio.sleep(timeout_s)
            finally:
                self.device.remove_listener(Device.EVENT_ADVERTISEMENT, on_advertisement)
                await self.device.stop_scanning()
        return sorted(found.values(), key=lambda label: label.address)

    async def close(self) -> None:
        if self.device.powered_on:
            await self.device.power_off()
        if self._transport is not None:
            await self._transport.close()
            self._transport = None


async def open_bumble_central(transport: str, *, mtu: int = DEFAULT_MTU) -> BumbleCentral:
    """A central on a real controller: `transport` is a bumble transport name
    (`usb:0`, `serial:/dev/ttyACM0`, `tcp-client:127.0.0.1:1234`, ...)."""
    from bumble.transport import open_transport

    opened = await open_transport(transport)
    device = Device.with_hci(
        "ESL access point",
        hci.Address.generate_static_address(),
        opened.source,
        opened.sink,
    )
    central = BumbleCentral(device, mtu=mtu, transport=opened)
    try:
        await central.power_on()
    except BaseException:
        await central.close()
        raise
    return central


def _uuid_text(value: core.UUID) -> str:
    """bleak's form of a UUID: 128-bit, lower case (bumble keeps little-endian bytes)."""
    return str(uuid_module.UUID(bytes=value.to_bytes(force_128=True)[::-1]))


def _property_names(properties: Characteristic.Properties) -> list[CharacteristicPropertyName]:
    return [name for flag, name in _PROPERTY_NAMES if properties & flag]


class BumbleBleakClient(BaseBleakClient):
    """`BaseBleakClient` over a `BumbleCentral`: pass `central=` to `BleakClient`."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        central: BumbleCentral,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._central = central
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = ATT_DEFAULT_MTU
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        try:
            connection = await self._central.connect(self.address, timeout_s=self._timeout)
        except (core.BaseBumbleError, TimeoutError) as error:
            raise BleakError(f"{self.address}: connection failed ({error!r})") from error
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = self._peer = Peer(connection)
        try:
            self._mtu = await self._gatt(peer.request_mtu(self._central.mtu))
            await self._gatt(peer.discover_services())
            for service in peer.services:
                await self._gatt(service.discover_characteristics())
        except BleakError:
            await self.disconnect()
            raise
        self.services = self._service_collection(peer.services)

    def _service_collection(self, services: list[ServiceProxy]) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in services:
            bleak_service = BleakGATTService(service, service.handle, _uuid_text(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in service.characteristics:
                collection.add_characteristic(
                    BleakGATTCharacteristic(
                        characteristic,
                        characteristic.handle,
                        _uuid_text(characteristic.uuid),
                        _property_names(characteristic.properties),
                        lambda: self._mtu - _HANDLE_VALUE_OVERHEAD,
                        bleak_service,
                    )
                )
        return collection

    def _on_disconnection(self, _reason: int) -> None:
        was_connected = self._connection is not None
        self._connection = None
        self._peer = None
        self._subscriptions.clear()
        if was_connected and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        # Ours, not the peer's: no disconnected_callback (bleak calls it for the peer's).
        self._connection = None
        self._peer = None
        self._subscriptions.clear()
        with contextlib.suppress(core.BaseBumbleError, asyncio.CancelledError):
            await connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """LE Secure Connections pairing: out of band when the central holds the label's
        pairing code (`BumbleCentral.add_pairing_code`), else Just Works (a label has no
        keyboard and no display to confirm a passkey on); the link is encrypted when
        this returns, and authenticated when a code was given."""
        connection = self._connection
        if connection is None:
            raise BleakError(f"{self.address}: not connected")
        keys: list[PairingKeys] = []
        connection.on(Connection.EVENT_PAIRING, keys.append)
        try:
            # Bounded: a peer that answers the out-of-band request with legacy pairing
            # leaves bumble's pairing unfinished (its handler fails), so pair() never
            # returns by itself.
            async with asyncio.timeout(self._timeout):
                await connection.pair()
        except (core.BaseBumbleError, TimeoutError) as error:
            raise BleakError(f"{self.address}: pairing failed ({error!r})") from error
        finally:
            connection.remove_listener(Connection.EVENT_PAIRING, keys.append)
        if not connection.is_encrypted:
            raise BleakError(f"{self.address}: paired but the link is not encrypted")
        # bumble calls every encrypted link "authenticated"; the key says how it was made.
        authenticated = any(k.ltk is not None and k.ltk.authenticated for k in keys)
        if self._central.pairing_code_for(self.address) and not authenticated:
            raise BleakError(f"{self.address}: paired without its pairing code (Just Works)")

    async def unpair(self) -> None:
        """Nothing to forget: pairing bonds nothing, its keys end with the link."""

    # ------------------------------------------------------------ GATT

    async def _gatt(self, operation: Awaitable[_T]) -> _T:
        """Run one bumble GATT procedure; its failures become bleak's exceptions."""
        try:
            return await operation
        except ATT_Error as error:
            raise BleakGATTProtocolError(error.error_code) from error
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being cancelled
            # bumble cancels the request in flight when the link goes down.
            raise BleakError(f"{self.address}: disconnected") from None
        except (core.BaseBumbleError, TimeoutError) as error:
            raise BleakError(f"{self.address}: {error!r}") from error

    def _connected_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"{self.address}: not connected")
        return self._peer

    @staticmethod
    def _proxy(characteristic: BleakGATTCharacteristic) -> CharacteristicProxy[bytes]:
        proxy = characteristic.obj
        assert isinstance(proxy, CharacteristicProxy)
        return proxy

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._connected_peer()
        return bytearray(await self._gatt(peer.read_value(self._proxy(characteristic))))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._connected_peer()
        return bytearray(await self._gatt(peer.read_value(descriptor.handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._connected_peer()
        value = bytes(memoryview(data))
        await self._gatt(
            peer.write_value(self._proxy(characteristic), value, with_response=response)
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._connected_peer()
        value = bytes(memoryview(data))
        await self._gatt(peer.write_value(descriptor.handle, value, with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._connected_peer()

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = deliver
        await self._gatt(peer.subscribe(self._proxy(characteristic), deliver))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._connected_peer()
        deliver = self._subscriptions.pop(characteristic.handle, None)
        await self._gatt(peer.unsubscribe(self._proxy(characteristic), deliver))


def bumble_client_factory(
    central: BumbleCentral, *, timeout_s: float = 10.0
) -> Callable[[str], BleakClient]:
    """A `client_factory` for `BleGateway` and `associate_label` over `central`."""

    def make(address: str) -> BleakClient:
        return BleakClient(address, backend=BumbleBleakClient, central=central, timeout=timeout_s)

    return make


@contextlib.asynccontextmanager
async def bumble_link(
    transport: str, *, timeout_s: float = 10.0
) -> AsyncIterator[Callable[[str], BleakClient]]:
    """A `client_factory` over a central on `transport` (`open_bumble_central`), for as
    long as the block runs; the central is closed after it (`esl gateway ble --backend
    bumble`)."""
    central = await open_bumble_central(transport)
    try:
        yield bumble_client_factory(central, timeout_s=timeout_s)
    finally:
        await central.close()
