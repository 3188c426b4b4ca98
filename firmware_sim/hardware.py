"""What a simulated label's hardware costs in time and battery, as data.

Figures are the order of magnitude of real e-paper labels (a CR2450 coin cell of about
600 mAh lasting about five years at ten updates a day): a three-colour refresh takes
about 15 s on a 2.9" panel, a black/white one about 2 s, and the refresh dominates the
energy budget. Battery voltages are kept in nanovolts so small drains stay integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from rendering.display_models import DisplayModel

__all__ = ["REFRESH_MS", "LabelHardware", "PowerProfile", "hardware_for"]

# Full refresh time per display model. Larger and three-colour panels are slower.
REFRESH_MS: Final[MappingProxyType[str, int]] = MappingProxyType(
    {
        "1.54-bw": 1_500,
        "1.54-bwr": 12_000,
        "2.13-bw": 2_000,
        "2.13-bwr": 14_000,
        "2.13-bwy": 14_000,
        "2.6-bwr": 15_000,
        "2.9-bw": 2_000,
        "2.9-bwr": 15_000,
        "2.9-bwy": 15_000,
        "4.2-bwr": 20_000,
        "4.2-bwy": 20_000,
        "7.5-bw": 4_000,
        "7.5-bwr": 30_000,
    }
)
_UNLISTED_REFRESH_MS = {False: 3_000, True: 20_000}  # by "has an accent colour"


@dataclass(frozen=True, slots=True)
class PowerProfile:
    """Battery thresholds and what each operation drains, in nanovolts."""

    full_nv: int = 3_000_000_000
    # Below this the label refuses to refresh (nack INSUFFICIENT_BATTERY) but still talks.
    min_refresh_nv: int = 2_400_000_000
    # Below this the radio browns out: the label goes silent.
    brownout_nv: int = 2_000_000_000
    check_in_nv: int = 50
    receive_nv_per_kib: int = 500
    transmit_nv: int = 200
    refresh_nv_per_s: int = 2_000


@dataclass(frozen=True, slots=True)
class LabelHardware:
    model: DisplayModel
    refresh_ms: int
    pages: int = 4
    power: PowerProfile = PowerProfile()

    @property
    def refresh_cost_nv(self) -> int:
        return self.power.refresh_nv_per_s * self.refresh_ms // 1000


def hardware_for(model: DisplayModel, *, pages: int = 4) -> LabelHardware:
    refresh_ms = REFRESH_MS.get(model.id, _UNLISTED_REFRESH_MS[model.has_accent])
    return LabelHardware(model=model, refresh_ms=refresh_ms, pages=pages)
