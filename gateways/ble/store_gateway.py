"""How `esl gateway ble` starts: its labels file read, its radio built on the link to the
labels, its state made what the file says, the store gateway process put between them.

    link = contextlib.nullcontext(functools.partial(platform_client, timeout_s=10.0))
    async with open_ble_store_gateway(
        Path("esl-gateway/S001-ble1-ble.json"), store="S001", gateway="S001-ble1",
        endpoint=endpoint, state_dir=Path("esl-gateway"), link=link, health_every_s=60.0,
    ) as opened:
        await opened.process.run(stop)

The command and the tests that run the BLE store gateway start it here, so what a test
runs is what the command runs; only the link differs (the command's bleak or bumble
client, a test's simulated labels).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from gateways.base import Clock, system_clock
from gateways.ble.link import DEFAULT_CONNECT_POLICY, ClientFactory, ConnectPolicy
from gateways.ble.radio import BleLabelRadio
from gateways.ble.store_radio import BleStoreRadio, read_ble_gateway_labels
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import OpenedStoreGateway, open_store_gateway

__all__ = ["open_ble_store_gateway"]


@asynccontextmanager
async def open_ble_store_gateway(
    labels_file: Path,
    *,
    store: str,
    gateway: str,
    endpoint: BrokerEndpoint,
    state_dir: Path,
    link: AbstractAsyncContextManager[ClientFactory],
    max_connections: int = 3,
    connect_policy: ConnectPolicy = DEFAULT_CONNECT_POLICY,
    health_every_s: float,
    clock: Clock = system_clock,
    reconnect_delay_s: tuple[float, float] = (1, 30),
) -> AsyncIterator[OpenedStoreGateway]:
    """The BLE store gateway of `labels_file` (`read_ble_gateway_labels`), its radio open
    and its process not started yet (`open_store_gateway`). `link` gives the clients that
    reach the labels and is entered only once the file is read: a bad file is refused
    (`ProvisioningRejectedError`) before an adapter is opened or any state is written.
    On the way out the radio, the state and `link` are closed."""
    labels = read_ble_gateway_labels(labels_file, store=store, gateway=gateway)
    async with link as client_factory:
        radio = BleStoreRadio(
            BleLabelRadio(
                [x.on_air for x in labels],
                client_factory=client_factory,
                max_connections=max_connections,
                connect_policy=connect_policy,
                clock=clock,
            )
        )
        records = [
            LabelRecord(label_id=x.label_id, address=x.address, model=x.model, key=None)
            for x in labels
        ]
        async with open_store_gateway(
            records,
            radio,
            store=store,
            gateway=gateway,
            endpoint=endpoint,
            state_dir=state_dir,
            clock=clock,
            health_every_s=health_every_s,
            reconnect_delay_s=reconnect_delay_s,
        ) as opened:
            await radio.open()
            yield opened
