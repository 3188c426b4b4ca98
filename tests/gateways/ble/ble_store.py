"""A simulated store of BLE labels for the driver tests: labels, air, clock, frames.

Everything here is real code (the bleak client, our driver, the label firmware); only
the radio is simulated, by `firmware_sim.ble`. `make_bumble_store` puts the same labels
on bumble's virtual link instead, behind a real Bluetooth host stack on both sides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firmware_sim.ble import BleLabel, SimulatedAir, simulated_client_factory
from firmware_sim.ble.bumble_air import BumbleAir
from firmware_sim.hardware import hardware_for
from firmware_sim.label import SimulatedLabel
from gateways.base import Downlink, GatewayEvent, GatewayState, GatewayStatus
from gateways.ble.association import LabelInventoryRecord, associate_label
from gateways.ble.bumble_client import DEFAULT_MTU, BumbleCentral, bumble_client_factory
from gateways.ble.control_point import EslAddress
from gateways.ble.driver import BleGateway, BleLabelAddress
from gateways.ble.link import ClientFactory, ConnectPolicy
from gateways.ble.store_gateway import open_ble_store_gateway
from gateways.ble.store_radio import BleGatewayLabel, ble_gateway_labels_json
from gateways.mqtt.endpoint import parse_broker_url
from gateways.protocol import Command, LabelFrame, derive_label_key, encode_frame
from gateways.store_gateway.process import OpenedStoreGateway
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from rendering.encoding import Planes, planes_from_image
from rendering.render import render_label

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SITE_SECRET = b"ble-test-site-secret-0123456789"
STORE = "S001"
MODEL_ID = "2.9-bwr"
MODEL = get_display_model(MODEL_ID)
# No waiting between connection attempts: the simulated radio answers at once.
FAST = ConnectPolicy(attempts=3, first_delay_s=0.0, max_delay_s=0.0, response_timeout_s=2.0)
# A connection on bumble's virtual link comes up in milliseconds; a label that is not on
# the link is never there, so this only bounds how long "out of range" takes to find.
BUMBLE_CONNECT_TIMEOUT_S = 5.0


def reference_planes(content: LabelContent) -> Planes:
    """`content` rendered for the store's labels (MODEL): what a label must show."""
    return planes_from_image(render_label(content, model=MODEL), has_accent=MODEL.has_accent)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def address_of(index: int) -> str:
    return f"C0:FF:EE:00:{index >> 8:02X}:{index & 0xFF:02X}"


def label_id_of(index: int) -> str:
    return f"{STORE}-ble-{index:04d}"


def key_of(label_id: str) -> bytes:
    return derive_label_key(SITE_SECRET, label_id)


def gateway_labels(indexes: Iterable[int]) -> list[BleGatewayLabel]:
    """The labels file's entries for the labels `indexes`: each at its address, its
    index its ESL ID (as `make_store` associates them)."""
    return [
        BleGatewayLabel(label_id=label_id_of(i), model=MODEL_ID, address=address_of(i), esl_id=i)
        for i in indexes
    ]


def write_labels_file(path: Path, indexes: Iterable[int], *, gateway: str) -> Path:
    """`esl gateway ble`'s labels file at `path`, listing the labels `indexes`."""
    entries = gateway_labels(indexes)
    path.write_text(ble_gateway_labels_json(entries, store=STORE, gateway=gateway) + "\n")
    return path


@asynccontextmanager
async def online(
    opened: OpenedStoreGateway, events: AsyncIterator[GatewayEvent]
) -> AsyncIterator[None]:
    """The gateway's process started (as `esl gateway ble` starts it), once the controller
    whose `events` these are hears it online; stopped after."""
    await opened.process.start()
    try:
        async for event in events:
            if isinstance(event, GatewayStatus) and event.state is GatewayState.ONLINE:
                break
        yield
    finally:
        await opened.process.stop()


@dataclass
class BleStore:
    clock: Clock
    air: SimulatedAir
    sequences: dict[str, int] = field(default_factory=dict)

    @property
    def client_factory(self) -> ClientFactory:
        return simulated_client_factory(self.air)

    def label(self, index: int) -> BleLabel:
        found = self.air.label(address_of(index))
        assert found is not None
        return found

    def addresses(self, count: int) -> list[BleLabelAddress]:
        return [
            BleLabelAddress(label_id_of(i), address=address_of(i), esl_id=i)
            for i in range(1, count + 1)
        ]

    def gateway(self, count: int, *, max_connections: int = 3) -> BleGateway:
        return BleGateway(
            self.addresses(count),
            store=STORE,
            gateway="ble0",
            client_factory=self.client_factory,
            max_connections=max_connections,
            connect_policy=FAST,
            clock=self.clock,
        )

    def store_gateway(
        self,
        labels_file: Path,
        *,
        gateway: str,
        broker_url: str,
        state_dir: Path,
        health_every_s: float = 0.1,
    ) -> AbstractAsyncContextManager[OpenedStoreGateway]:
        """`esl gateway ble` opened as the command opens it (`open_ble_store_gateway`), on
        these labels: the test's clock, no wait between connection attempts, a quick
        reconnect to the broker. Its process is not started yet."""
        return open_ble_store_gateway(
            labels_file,
            store=STORE,
            gateway=gateway,
            endpoint=parse_broker_url(broker_url),
            state_dir=state_dir,
            link=nullcontext(self.client_factory),
            connect_policy=FAST,
            clock=self.clock,
            health_every_s=health_every_s,
            reconnect_delay_s=(1, 2),
        )

    def frame(self, index: int, command: Command, *, key: bytes | None = None) -> Downlink:
        label_id = label_id_of(index)
        sequence = self.sequences.get(label_id, 0) + 1
        self.sequences[label_id] = sequence
        payload = encode_frame(
            LabelFrame(label_id=label_id, sequence=sequence, command=command),
            key=key or key_of(label_id),
        )
        return Downlink(store=STORE, gateway="ble0", label_id=label_id, payload=payload)


def make_store(count: int, *, associated: bool = True, model_id: str = MODEL_ID) -> BleStore:
    """`count` labels (ESL IDs 1..count); associated ones already have address and key."""
    clock = Clock()
    hardware = hardware_for(get_display_model(model_id))
    labels = []
    for index in range(1, count + 1):
        label_id = label_id_of(index)
        key = key_of(label_id) if associated else None
        ble = BleLabel(
            address=address_of(index),
            label=SimulatedLabel(label_id=label_id, hardware=hardware, key=key, now=clock()),
            key=key,
        )
        if associated:
            ble.esl_address = EslAddress(esl_id=index)
        labels.append(ble)
    return BleStore(clock=clock, air=SimulatedAir(labels, clock=clock))


async def associate(
    store: BleStore, address: str, *, esl_address: EslAddress, label_key: bytes
) -> LabelInventoryRecord:
    """Associate the label at `address` over the store's own links, retrying as FAST does."""
    return await associate_label(
        address,
        esl_address=esl_address,
        label_key=label_key,
        at=store.clock(),
        client_factory=store.client_factory,
        policy=FAST,
    )


@dataclass(kw_only=True)
class BumbleStore(BleStore):
    """The same labels, each a bumble peripheral; the driver connects through `central`."""

    radio: BumbleAir
    central: BumbleCentral
    connect_timeout_s: float = BUMBLE_CONNECT_TIMEOUT_S

    @property
    def client_factory(self) -> ClientFactory:
        return bumble_client_factory(self.central, timeout_s=self.connect_timeout_s)


def make_bumble_store(
    count: int,
    *,
    associated: bool = True,
    central_mtu: int = DEFAULT_MTU,
    label_mtu: int = DEFAULT_MTU,
) -> BumbleStore:
    """`make_store`'s labels on bumble's virtual link; MTUs are what each side offers."""
    simulated = make_store(count, associated=associated)
    radio = BumbleAir(simulated.air.labels, clock=simulated.clock, max_mtu=label_mtu)
    return BumbleStore(
        clock=simulated.clock,
        air=simulated.air,
        radio=radio,
        central=BumbleCentral(radio.central_device(), mtu=central_mtu),
    )
