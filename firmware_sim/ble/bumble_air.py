"""Simulated labels as Bluetooth peripherals on bumble's virtual radio link.

    air = BumbleAir(ble_labels, clock=clock, max_mtu=247)
    central = BumbleCentral(air.central_device())          # gateways.ble.bumble_client
    client = BleakClient(address, backend=BumbleBleakClient, central=central)

Each `BleLabel` gets its own bumble `Device` (host and link-layer controller) on one
`LocalLink`, with a GATT server built from `GATT_TABLE`. A central on the same link
(`central_device()`) reaches the labels through bumble's HCI, L2CAP and ATT code: MTU
exchange, service discovery, write requests and responses, CCCD writes, notifications
and disconnections are real protocol. The label logic stays `BleLabel`'s; this module
only carries its reads, writes and notifications over ATT:

- each bumble connection is its own `BleLink`, encrypted when that connection is;
- an `AttError` becomes an ATT Error Response with the same code;
- notifications go out after the write response, in order, as a label's radio sends them;
- `LinkDroppedError` (fault injection) terminates the connection before the write is
  answered, so the central's request fails as it does when a real link is lost;
- `faults.refuse_connections` lets the link come up and drops it at once.

A label looking for an access point (unassociated or unsynchronised) advertises the ESL
Service every 100 ms, so a scan finds it (`BumbleCentral.discover`). An associated label
advertises only every 10 s: every advertising PDU on a `LocalLink` goes to every
controller on it, so a store of labels advertising every 20 ms would spend the machine
on N² deliveries. A Bluetooth ESL access point reaches synchronised labels over
periodic advertising with responses (PAwR), which bumble's controller does not emulate;
in its place, when the central starts connecting to an address, the label with that
address sends one connectable advertisement (`_AccessPointController`); a label not yet
powered on powers on then, and its first advertisement answers.

No bleak and no driver code here: bumble's types stay in this module and the central's
side is `gateways.ble.bumble_client`.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import datetime
from typing import Any, Final

from bumble import core, hci, ll
from bumble.att import ATT_Error, AttributeValue
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service
from bumble.host import Host
from bumble.keys import PairingKeys
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.smp import OobContext
from bumble.transport.common import (
    AsyncPipeSink,
    StreamPacketSink,
    StreamPacketSource,
    TransportSink,
    TransportSource,
)

from firmware_sim.ble.air import ATT_MTU
from firmware_sim.ble.gatt_label import (
    GATT_TABLE,
    AttError,
    BleLabel,
    BleLink,
    CharacteristicProperty,
    LinkDroppedError,
)
from gateways.ble.pairing_code import PairingCode, bare_address

__all__ = ["CENTRAL_ADDRESS", "BumbleAir"]

# A static random address (two top bits set) for the access point's own radio.
CENTRAL_ADDRESS: Final = "F0:0D:CA:FE:00:01"
# Advertising interval while a label waits for the central's connect indication. Each
# advertisement is also sent right away when the central starts connecting (see above),
# so this only matters for a central that was already waiting: long, to keep the link
# quiet.
_ADVERTISING_INTERVAL_MS: Final = 10_000
# A label looking for an access point (unassociated or unsynchronised) advertises the ESL
# Service often enough for a scan of a second or less to find it.
_SEEKING_INTERVAL_MS: Final = 100
_LE_GENERAL_DISCOVERABLE_NO_BR_EDR: Final = 0x06  # AD Flags
_ESL_SERVICE_16: Final = struct.pack("<H", 0x1857)
# The HCI disconnect reason a label gives when it drops a link on purpose.
_DROPPED: Final = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR
_UNLIKELY_ERROR: Final = 0x0E  # ATT (Core Vol 3 Part F 3.4.1.1)

_PROPERTIES: Final[dict[CharacteristicProperty, Characteristic.Properties]] = {
    "read": Characteristic.Properties.READ,
    "write": Characteristic.Properties.WRITE,
    "write-without-response": Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "notify": Characteristic.Properties.NOTIFY,
}


def _random_address(address: str) -> hci.Address:
    return hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)


class _CountingLink(LocalLink):
    """bumble's virtual link, counting the L2CAP PDUs that cross it (4-byte header
    included; no link-layer framing): the bytes a real link would carry above the LL."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.pdus = 0
        self.bytes = 0
        # Labels at a public address: bumble's link names every LE sender by its random
        # address, and these are connected by their public one.
        self.public_senders: set[Controller] = set()

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        self.pdus += 1
        self.bytes += len(data)
        if sender_controller in self.public_senders and transport == core.PhysicalTransport.LE:
            destination = self.find_le_controller(destination_address)
            if destination is not None:
                loop = asyncio.get_running_loop()
                public = sender_controller.public_address
                loop.call_soon(destination.on_link_acl_data, public, transport, data)
            return
        super().send_acl_data(sender_controller, destination_address, transport, data)

    def send_advertising_pdu(
        self, sender_controller: Controller, packet: ll.AdvertisingPdu
    ) -> None:
        if sender_controller not in self.controllers:
            return  # out of range (`BumbleAir.out_of_range`): its radio reaches nobody
        super().send_advertising_pdu(sender_controller, packet)


class _LabelPeripheral:
    """One label's bumble device: its GATT server and its side of each connection."""

    def __init__(
        self,
        label: BleLabel,
        *,
        link: _CountingLink,
        clock: Callable[[], datetime],
        max_mtu: int,
    ) -> None:
        self.label = label
        self._clock = clock
        # Labels use random static addresses; one written `XX:..:XX/P` is a public one.
        public = bare_address(label.address) != label.address.upper()
        self.controller = Controller(
            f"label {label.address}",
            link=link,
            public_address=bare_address(label.address) if public else None,
        )
        self._own_address_type = hci.OwnAddressType.PUBLIC if public else hci.OwnAddressType.RANDOM
        if public:
            link.public_senders.add(self.controller)
        self.device = Device(
            name=f"ESL {label.label_id}",
            # A public label's own random address is never used: it advertises its public one.
            address=(
                hci.Address.generate_static_address() if public else _random_address(label.address)
            ),
            host=Host(self.controller, AsyncPipeSink(self.controller)),
        )
        self.device.gatt_server.max_mtu = max_mtu
        # An ESL has no keyboard and no display to confirm a passkey on: it pairs out of
        # band with an access point that read the code printed on it (`pairing_code`),
        # else Just Works. Its key pair and random value are made once, at manufacture.
        self.oob = OobContext()
        self.authenticated_pairings = 0
        self.legacy_pairing_only = False
        self.device.pairing_config_factory = self._pairing_config
        self._characteristics: dict[str, Characteristic[bytes]] = {}
        # The label's side of each connection it took, with that connection's encryption.
        self._links: dict[Connection, BleLink] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._starting: asyncio.Future[None] | None = None
        self.device.add_services(self._services())
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)

    def _services(self) -> list[Service]:
        services = []
        for service_uuid, characteristics in GATT_TABLE.items():
            built = []
            for uuid, properties in characteristics:
                flags = Characteristic.Properties(0)
                for name in properties:
                    flags |= _PROPERTIES[name]
                characteristic: Characteristic[bytes] = Characteristic(
                    uuid,
                    flags,
                    Characteristic.Permissions.READABLE | Characteristic.Permissions.WRITEABLE,
                    AttributeValue(read=self._reader(uuid), write=self._writer(uuid)),
                )
                self._characteristics[uuid] = characteristic
                built.append(characteristic)
            services.append(Service(service_uuid, built))
        return services

    def _pairing_config(self, _connection: Connection) -> PairingConfig:
        if self.legacy_pairing_only:
            # An old device, or one answering in a label's place: LE legacy pairing only,
            # so no Secure Connections and none of the label's out-of-band data.
            return PairingConfig(sc=False, mitm=False, bonding=False, delegate=PairingDelegate())
        return PairingConfig(
            sc=True,
            mitm=False,
            bonding=False,
            delegate=PairingDelegate(),
            oob=PairingConfig.OobConfig(our_context=self.oob, peer_data=None, legacy_context=None),
        )

    async def start(self) -> None:
        """Power on and wait, connectable; once, however often it is asked."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._power_on())
        await asyncio.shield(self._starting)

    async def _power_on(self) -> None:
        await self.device.power_on()
        await self._advertise()

    async def _advertise(self) -> None:
        """(Re)start advertising with what the label is now; the first advertisement goes
        out at once. An ESL lists the ESL Service only while it needs an access point
        (ESLS 4.1), so a scan filtered on it finds only labels to associate."""
        seeking = self.label.advertises_esl_service(now=self._clock())
        structures: list[tuple[int, bytes]] = [
            (AdvertisingData.FLAGS, bytes([_LE_GENERAL_DISCOVERABLE_NO_BR_EDR])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, f"ESL {self.label.label_id}".encode()),
        ]
        if seeking:
            structures.append(
                (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, _ESL_SERVICE_16)
            )
        interval = _SEEKING_INTERVAL_MS if seeking else _ADVERTISING_INTERVAL_MS
        await self.device.start_advertising(
            own_address_type=self._own_address_type,
            advertising_data=bytes(AdvertisingData(structures)),
            advertising_interval_min=interval,
            advertising_interval_max=interval,
        )

    def wake(self) -> None:
        """The central is connecting to this label: power on, or advertise once now."""
        if self._starting is None:
            self._spawn(self.start())
        elif self._starting.done():
            # bumble's host advertises with an extended advertising set where the
            # controller has them (this one does), else with the legacy advertiser.
            for advertising_set in self.controller.advertising_sets.values():
                if advertising_set.enabled:
                    advertising_set.send_extended_advertising_data()
            self.controller.le_legacy_advertiser.send_advertising_data()  # no-op if off

    # ------------------------------------------------------------ connections

    def _on_connection(self, connection: Connection) -> None:
        def on_disconnection(_reason: int) -> None:
            link = self._links.pop(connection, None)
            if link is not None:
                link.disconnect()
            # Connectable again, saying what it is now (associated or not).
            self._spawn(self._advertise())

        connection.on(Connection.EVENT_DISCONNECTION, on_disconnection)

        def on_encryption_change() -> None:
            link = self._links.get(connection)
            if link is not None and connection.is_encrypted:
                link.encrypt()

        def on_pairing(keys: PairingKeys) -> None:
            # Out of band with the code printed on it (not Just Works): authenticated.
            self.authenticated_pairings += bool(keys.ltk and keys.ltk.authenticated)

        connection.on(Connection.EVENT_PAIRING, on_pairing)

        connection.on(Connection.EVENT_CONNECTION_ENCRYPTION_CHANGE, on_encryption_change)
        link = self.label.connect()
        if link is None:
            self._spawn(connection.disconnect(_DROPPED))
        else:
            self._links[connection] = link

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ attribute access

    def _reader(self, uuid: str) -> Callable[[Connection], bytes]:
        def read(_connection: Connection) -> bytes:
            try:
                return self.label.read(uuid, now=self._clock())
            except AttError as error:
                raise ATT_Error(error.code) from error

        return read

    def _writer(self, uuid: str) -> Callable[[Connection, bytes], Awaitable[None]]:
        async def write(connection: Connection, value: bytes) -> None:
            link = self._links.get(connection)
            if link is None:
                # A connection the label refused, on its way down: it takes nothing.
                raise ATT_Error(_UNLIKELY_ERROR)
            try:
                notifications = self.label.write(uuid, bytes(value), link=link, now=self._clock())
            except AttError as error:
                raise ATT_Error(error.code) from error
            except LinkDroppedError:
                # Gone before the write response: the central's request fails with the link.
                link.disconnect()
                await connection.disconnect(_DROPPED)
                return
            if notifications:
                self._spawn(self._notify(connection, notifications))

        return write

    async def _notify(self, connection: Connection, notifications: list[tuple[str, bytes]]) -> None:
        # One task per write keeps its notifications in order, after the write response.
        for uuid, value in notifications:
            await self.device.notify_subscriber(connection, self._characteristics[uuid], value)


class _AccessPointController(Controller):
    """The central's controller; starting a connection wakes the label addressed."""

    def __init__(
        self,
        air: BumbleAir,
        link: LocalLink,
        *,
        host_source: TransportSource | None = None,
        host_sink: TransportSink | None = None,
    ) -> None:
        super().__init__("access point", host_source=host_source, host_sink=host_sink, link=link)
        self._air = air

    def on_hci_le_create_connection_command(
        self, command: hci.HCI_LE_Create_Connection_Command
    ) -> None:
        super().on_hci_le_create_connection_command(command)
        self._air.wake(str(command.peer_address))

    def on_hci_le_extended_create_connection_command(
        self, command: hci.HCI_LE_Extended_Create_Connection_Command
    ) -> None:
        super().on_hci_le_extended_create_connection_command(command)
        self._air.wake(str(command.peer_address))

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        # A controller ends a cancelled connection attempt with an LE Connection Complete
        # event, status Unknown Connection Identifier (Core 6.0 Vol 4 Part E 7.8.13);
        # bumble's emulated one does not, and the host would wait for it forever.
        pending = self.pending_le_connection
        result = super().on_hci_le_create_connection_cancel_command(command)
        if pending is not None:
            self.pending_le_connection = None
            failed = hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
            # After the command's own Command Complete, as a controller sends them.
            asyncio.get_running_loop().call_soon(self.send_hci_packet, failed)
        return result


class BumbleAir:
    """Labels by address as bumble peripherals on one virtual link; one per simulated store."""

    def __init__(
        self,
        labels: Iterable[BleLabel],
        *,
        clock: Callable[[], datetime],
        max_mtu: int = ATT_MTU,
    ) -> None:
        self.clock = clock
        self.max_mtu = max_mtu
        self.link = _CountingLink()
        self._peripherals: dict[str, _LabelPeripheral] = {}
        for label in labels:
            self._add(label)

    def _add(self, label: BleLabel) -> _LabelPeripheral:
        peripheral = _LabelPeripheral(label, link=self.link, clock=self.clock, max_mtu=self.max_mtu)
        self._peripherals[bare_address(label.address)] = peripheral
        return peripheral

    def add(self, label: BleLabel) -> None:
        """Put another label in range."""
        self._add(label)

    async def start(self) -> None:
        """Power every label on now (otherwise each powers on when first woken)."""
        for peripheral in self._peripherals.values():
            await peripheral.start()

    @property
    def l2cap_bytes(self) -> int:
        """Every L2CAP PDU on the link so far, both directions, headers included."""
        return self.link.bytes

    @property
    def l2cap_pdus(self) -> int:
        return self.link.pdus

    def pairing_code(self, address: str) -> PairingCode:
        """What the label at `address` has printed on it for out-of-band pairing."""
        peripheral = self._peripherals[bare_address(address)]
        shared = peripheral.oob.share()
        return PairingCode(
            address=peripheral.label.address.upper(),
            confirm=shared.c,
            random=shared.r,
        )

    def pair_legacy_only(self, address: str) -> None:
        """The device at `address` pairs only the LE legacy way (no Secure Connections)."""
        self._peripherals[bare_address(address)].legacy_pairing_only = True

    def authenticated_pairings(self, address: str) -> int:
        """How often a central paired with the label at `address` out of band."""
        return self._peripherals[bare_address(address)].authenticated_pairings

    def label(self, address: str) -> BleLabel | None:
        peripheral = self._peripherals.get(bare_address(address))
        return peripheral.label if peripheral is not None else None

    @property
    def labels(self) -> tuple[BleLabel, ...]:
        return tuple(peripheral.label for peripheral in self._peripherals.values())

    def central_device(self, address: str = CENTRAL_ADDRESS) -> Device:
        """A new bumble device on this link for the access point (not powered on yet)."""
        controller = _AccessPointController(self, self.link)
        return Device(
            name="ESL access point",
            address=_random_address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )

    def serve_controller(self, source: TransportSource, sink: TransportSink) -> None:
        """Put an access point controller on this link for a host at the other end of an
        HCI transport (`source`, `sink`: bumble's, e.g. a TCP server's), as a USB dongle
        is one for the host on its computer."""
        _AccessPointController(self, self.link, host_source=source, host_sink=sink)

    async def serve_hci(self, *, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
        """Serve an access point controller on TCP (H4), for a host in another process
        (bumble transport `tcp-client:HOST:PORT`), as a USB dongle is one for its computer.

        Each host that connects gets a fresh controller on this link. When it goes away
        (its process killed, the dongle unplugged) its connections end as a supervision
        timeout ends them: each label sees the link drop, keeps what it shows and
        advertises again for the next host."""
        air = self

        class _Dongle(asyncio.Protocol):
            controller: _AccessPointController | None = None

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.WriteTransport)
                self.source = StreamPacketSource()
                self.controller = _AccessPointController(
                    air, air.link, host_source=self.source, host_sink=StreamPacketSink(transport)
                )

            def data_received(self, data: bytes) -> None:
                self.source.data_received(data)

            def connection_lost(self, exc: Exception | None) -> None:
                if self.controller is not None:
                    air._unplug(self.controller)
                    self.controller = None

        return await asyncio.get_running_loop().create_server(_Dongle, host, port)

    def _unplug(self, controller: Controller) -> None:
        controller.host = None
        for connection in list(controller.le_connections.values()):
            connection.send_ll_control_pdu(ll.TerminateInd(hci.HCI_CONNECTION_TIMEOUT_ERROR))
            del controller.le_connections[connection.peer_address]
        controller.pending_le_connection = None
        self.link.remove_controller(controller)

    def out_of_range(self, address: str) -> None:
        """Take a label out of every central's reach, as a label carried off the shelf or
        behind a metal fixture: it keeps running (and its panel), but nothing it sends
        reaches the link, so a connection to it never comes up."""
        controller = self._peripherals[bare_address(address)].controller
        if controller in self.link.controllers:
            self.link.remove_controller(controller)

    def in_range(self, address: str) -> None:
        """Bring a label taken `out_of_range` back."""
        controller = self._peripherals[bare_address(address)].controller
        if controller not in self.link.controllers:
            self.link.add_controller(controller)

    def wake(self, address: str) -> None:
        peripheral = self._peripherals.get(bare_address(address))
        if peripheral is not None and peripheral.controller in self.link.controllers:
            asyncio.get_running_loop().call_soon(peripheral.wake)
