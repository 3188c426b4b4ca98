"""The plain-paho baseline: it really round-trips every frame, at any window."""

from __future__ import annotations

import asyncio

import pytest

from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.raw_roundtrip import RawRoundtripResult, measure_raw_roundtrips

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("window", [1, 16])
async def test_every_frame_comes_back_acknowledged(broker: BrokerEndpoint, window: int) -> None:
    # The measurement is threaded paho; off the event loop the embedded broker keeps serving.
    result = await asyncio.to_thread(
        measure_raw_roundtrips, broker, frame_bytes=300, window=window, frames=150
    )
    assert (result.frames, result.frame_bytes, result.window) == (150, 300, window)
    assert result.seconds > 0
    assert result.roundtrips_per_s == pytest.approx(150 / result.seconds)


def test_a_run_that_took_no_time_reports_zero_not_infinity() -> None:
    assert RawRoundtripResult(frames=10, frame_bytes=900, window=1, seconds=0).roundtrips_per_s == 0


@pytest.mark.parametrize(
    "arguments", [{"frame_bytes": 7}, {"window": 0}, {"frames": 0}], ids=["tiny", "nowin", "none"]
)
def test_meaningless_sizes_are_refused(arguments: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="need frame_bytes >= 8"):
        measure_raw_roundtrips(BrokerEndpoint("127.0.0.1", 1), **arguments)
