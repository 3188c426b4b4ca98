"""The simulated air: which BLE labels are in range, the clock they live by, and every
byte that crosses a GATT link, counted the way docs/ble.md models it.

No bleak here: `firmware_sim.ble.backend` is the bleak side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from firmware_sim.ble.gatt_label import BleLabel
from gateways.ble.inventory import AdvertisedLabel

__all__ = ["ATT_MTU", "AirCounters", "SimulatedAir"]

ATT_MTU: Final = 247  # what BLE 4.2+ phones and gateways usually negotiate
# Bytes on air per ATT PDU beyond its value: L2CAP header (4) + ATT opcode (1) + handle (2).
L2CAP_HEADER: Final = 4
_WRITE_OR_NOTIFY_OVERHEAD: Final = L2CAP_HEADER + 3
_WRITE_RESPONSE: Final = L2CAP_HEADER + 1
_READ_REQUEST: Final = L2CAP_HEADER + 3
_READ_RESPONSE_OVERHEAD: Final = L2CAP_HEADER + 1


@dataclass(slots=True)
class AirCounters:
    """ATT traffic in both directions, with L2CAP and ATT headers (no link layer)."""

    writes: int = 0
    reads: int = 0
    notifications: int = 0
    connections: int = 0
    bytes_on_air: int = 0
    open_links: int = 0
    most_open_links: int = 0

    def count_connect(self) -> None:
        self.connections += 1
        self.open_links += 1
        self.most_open_links = max(self.most_open_links, self.open_links)

    def count_disconnect(self) -> None:
        self.open_links -= 1

    def count_write(self, value_size: int) -> None:
        self.writes += 1
        self.bytes_on_air += _WRITE_OR_NOTIFY_OVERHEAD + value_size + _WRITE_RESPONSE

    def count_read(self, value_size: int) -> None:
        self.reads += 1
        self.bytes_on_air += _READ_REQUEST + _READ_RESPONSE_OVERHEAD + value_size

    def count_notification(self, value_size: int) -> None:
        self.notifications += 1
        self.bytes_on_air += _WRITE_OR_NOTIFY_OVERHEAD + value_size


class SimulatedAir:
    """Labels by BLE address, a clock, and the counters; one per simulated store."""

    def __init__(
        self,
        labels: Iterable[BleLabel] = (),
        *,
        clock: Callable[[], datetime],
        mtu: int = ATT_MTU,
    ) -> None:
        self.clock = clock
        self.mtu = mtu
        self.counters = AirCounters()
        self._labels = {label.address.upper(): label for label in labels}

    def add(self, label: BleLabel) -> None:
        self._labels[label.address.upper()] = label

    def label(self, address: str) -> BleLabel | None:
        return self._labels.get(address.upper())

    @property
    def labels(self) -> tuple[BleLabel, ...]:
        return tuple(self._labels.values())

    async def discover(self, timeout_s: float = 0.0) -> list[AdvertisedLabel]:
        """What a scan filtered on the ESL Service would find (a `Discover` function)."""
        now = self.clock()
        return [
            AdvertisedLabel(
                address=label.address, name=f"ESL {label.label_id}", rssi_dbm=label.label.rssi_dbm
            )
            for label in self._labels.values()
            if label.advertises_esl_service(now=now)
        ]
