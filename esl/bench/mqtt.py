"""`esl bench mqtt`: the raw MQTT round-trip baseline (plain paho through one broker).

Starts its own Mosquitto on loopback when one is installed (the broker production uses),
else the embedded amqtt broker, and measures publish + echo acknowledgement round trips
per second for 900-byte frames at QoS 1 with 100 and 500 frames in flight. The pipeline
benchmark reports its own throughput against this figure.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from esl.mqtt.embedded_broker import EmbeddedBroker
from esl.mqtt.mosquitto_process import find_mosquitto, mosquitto_version, running_mosquitto
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.raw_roundtrip import measure_raw_roundtrips

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS = ("raw_roundtrips_per_s", "frame_bytes", "window", "frames", "broker")

FRAME_BYTES = 900
PRIMARY_WINDOW = 100


def run(*, smoke: bool) -> dict[str, object]:
    frames = 300 if smoke else 20_000
    windows = (PRIMARY_WINDOW,) if smoke else (PRIMARY_WINDOW, 500)
    with _broker() as (name, endpoint):
        results = {
            window: measure_raw_roundtrips(
                endpoint, frame_bytes=FRAME_BYTES, window=window, frames=frames
            )
            for window in windows
        }
    primary = results[PRIMARY_WINDOW]
    return {
        "broker": name,
        "frame_bytes": FRAME_BYTES,
        "frames": frames,
        "window": PRIMARY_WINDOW,
        "raw_roundtrips_per_s": round(primary.roundtrips_per_s, 1),
        "seconds": round(primary.seconds, 3),
        "raw_roundtrips_per_s_by_window": {
            str(window): round(result.roundtrips_per_s, 1) for window, result in results.items()
        },
    }


@contextmanager
def _broker() -> Iterator[tuple[str, BrokerEndpoint]]:
    binary = find_mosquitto()
    if binary is not None:
        with running_mosquitto(binary) as endpoint:
            yield mosquitto_version(binary), endpoint
        return
    with _embedded_broker_thread() as endpoint:
        yield "amqtt (embedded)", endpoint


@contextmanager
def _embedded_broker_thread() -> Iterator[BrokerEndpoint]:
    # The measurement is plain threaded paho; the embedded broker needs an event loop of
    # its own, so it gets one in a background thread.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="embedded-broker", daemon=True)
    thread.start()
    broker = EmbeddedBroker()
    try:
        asyncio.run_coroutine_threadsafe(broker.start(), loop).result(timeout=10)
        yield broker.endpoint
    finally:
        asyncio.run_coroutine_threadsafe(broker.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
