"""One demo store on OpenEPaperLink: an emulated AP with tags, and the real store gateway
process (`gateways.store_gateway`, as `esl gateway oepl` runs it) between it and the
broker. The controller reaches it like any store: over MQTT, by its gateway's topics.

Provisioning is what `esl gateway oepl import-tags` does, done in-process from the
emulator's tags (ids are the tags' MACs, keys random, written to the gateway's 0600 file).
"""

from __future__ import annotations

import time
import zlib
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from esl.pipeline.oepl_tags import write_gateway_provisioning
from firmware_sim.fleet import LabelProvision
from firmware_sim.oepl_ap.access_point import AccessPointConfig, EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import generate_label_key
from gateways.store_gateway.process import (
    StoreGatewayProcess,
    open_store_gateway,
    read_gateway_provisioning,
)

__all__ = ["OeplSite"]

_HW_29_BWR = 0xB3  # our emulated 2.9" BWR tag type (firmware_sim/oepl_ap/tag_types.py)


@dataclass
class OeplSite:
    store: str
    gateway: str
    ap: EmulatedAccessPoint
    state_dir: Path
    served: ServedAccessPoint | None = None
    process: StoreGatewayProcess | None = None
    # The gateway opened (`open_store_gateway`): closing it closes its state and radio.
    _opened: AsyncExitStack = field(default_factory=AsyncExitStack, repr=False)

    @classmethod
    def install(
        cls, store: str, *, labels: int, state_dir: Path, check_in_s: float, radio_speed: float
    ) -> tuple[OeplSite, list[LabelProvision]]:
        gateway = f"{store}-ap1"
        ap = EmulatedAccessPoint(
            AccessPointConfig(check_in_interval_s=check_in_s, radio_bytes_per_s=radio_speed)
        )
        prefix = zlib.crc32(store.encode()) & 0xFFFFFFFF
        now = time.time()
        provisions = []
        for number in range(1, labels + 1):
            tag = ap.add_tag(
                EmulatedTag(mac=f"{prefix:08X}{number:08X}", hw_type=_HW_29_BWR), now=now
            )
            provisions.append(
                LabelProvision(label_id=tag.mac, model_id="2.9-bwr", key=generate_label_key())
            )
        site = cls(store=store, gateway=gateway, ap=ap, state_dir=state_dir)
        write_gateway_provisioning(site.provisioning, provisions, store=store, gateway=gateway)
        return site, provisions

    @property
    def provisioning(self) -> Path:
        return self.state_dir / f"{self.gateway}-labels.json"

    async def start(self, broker: BrokerEndpoint, *, poll_s: float) -> None:
        """Serve the AP, then open the store gateway as `esl gateway oepl` opens it (its
        state in STATE_DIR/STORE-GATEWAY.sqlite made what the label file says) and start it."""
        self.served = ServedAccessPoint(self.ap)
        await self.served.start()
        labels = read_gateway_provisioning(self.provisioning)
        driver = AccessPointDriver(
            AccessPointClient(self.served.url), timings=DriverTimings(poll_s=poll_s)
        )
        opened = await self._opened.enter_async_context(
            open_store_gateway(
                labels,
                OeplRadio(driver),
                store=self.store,
                gateway=self.gateway,
                endpoint=broker,
                state_dir=self.state_dir,
                health_every_s=max(poll_s * 10, 1.0),
            )
        )
        self.process = opened.process
        await self.process.start()

    async def close(self) -> None:
        if self.process is not None:
            await self.process.stop()
            self.process = None
        await self._opened.aclose()
        if self.served is not None:
            await self.served.stop()
            self.served = None
