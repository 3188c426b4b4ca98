"""The baseline the update pipeline is measured against: plain paho, nothing else.

One paho client publishes frames of `frame_bytes` at QoS 1 to a gateway's down topic;
a second paho client (the "gateway") answers every frame with a 16-byte acknowledgement
on the up topic. The publisher keeps `window` frames awaiting their acknowledgement and
sends the next one as each comes back. No asyncio, no encoding, no database: the ceiling
the broker and paho allow for this frame size and window on this machine.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho

from gateways.errors import GatewayConnectError
from gateways.mqtt.connection import apply_endpoint, new_paho_client
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.network_thread import stop_network_thread
from gateways.mqtt.topics import TopicKind, topic_for

__all__ = ["RawRoundtripResult", "measure_raw_roundtrips"]

_ACK_BYTES = 16


@dataclass(frozen=True, slots=True)
class RawRoundtripResult:
    frames: int
    frame_bytes: int
    window: int
    seconds: float

    @property
    def roundtrips_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _connected_client(
    endpoint: BrokerEndpoint, *, client_id: str, window: int, subscribe: str, timeout_s: float
) -> paho.Client:
    client = new_paho_client(client_id=client_id, clean_session=True)
    apply_endpoint(client, endpoint)
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    subscribed = threading.Event()

    def on_connect(c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            c.subscribe(subscribe, qos=1)

    client.on_connect = on_connect
    client.on_subscribe = lambda _c, _u, _m, _rc, _p: subscribed.set()
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=30)
    except OSError as exc:
        raise GatewayConnectError(host=endpoint.host, port=endpoint.port, reason=str(exc)) from exc
    client.loop_start()
    if not subscribed.wait(timeout_s):
        client.disconnect()
        stop_network_thread(client)
        raise GatewayConnectError(
            host=endpoint.host, port=endpoint.port, reason="no SUBACK in time"
        )
    return client


def measure_raw_roundtrips(
    endpoint: BrokerEndpoint,
    *,
    frame_bytes: int = 900,
    window: int = 100,
    frames: int = 10_000,
    timeout_s: float = 120.0,
) -> RawRoundtripResult:
    """Publish `frames` frames with `window` in flight; time until every echo came back."""
    if frame_bytes < 8 or window < 1 or frames < 1:
        raise ValueError("need frame_bytes >= 8, window >= 1, frames >= 1")
    run = uuid.uuid4().hex[:12]
    down = topic_for(store="bench", gateway=run, kind=TopicKind.DOWN)
    up = topic_for(store="bench", gateway=run, kind=TopicKind.UP)
    filler = bytes(frame_bytes - 8)

    lock = threading.Lock()
    sent = 0
    acked = 0
    finished = threading.Event()

    def publish_next(client: paho.Client) -> None:
        nonlocal sent
        with lock:
            if sent >= frames:
                return
            sequence = sent
            sent += 1
        client.publish(down, sequence.to_bytes(8, "big") + filler, qos=1)

    def echo(client: paho.Client, _userdata: Any, message: Any) -> None:
        client.publish(up, bytes(message.payload[:8]).ljust(_ACK_BYTES, b"\0"), qos=1)

    def on_ack(client: paho.Client, _userdata: Any, _message: Any) -> None:
        nonlocal acked
        with lock:
            acked += 1
            done = acked >= frames
        if done:
            finished.set()
        else:
            publish_next(client)

    gateway = _connected_client(
        endpoint, client_id=f"raw-gw-{run}", window=window, subscribe=down, timeout_s=10
    )
    controller = _connected_client(
        endpoint, client_id=f"raw-ctl-{run}", window=window, subscribe=up, timeout_s=10
    )
    try:
        gateway.on_message = echo
        controller.on_message = on_ack
        started = time.perf_counter()
        for _ in range(min(window, frames)):
            publish_next(controller)
        if not finished.wait(timeout_s):
            raise TimeoutError(f"only {acked} of {frames} round trips within {timeout_s} s")
        seconds = time.perf_counter() - started
    finally:
        for client in (controller, gateway):
            client.disconnect()
            stop_network_thread(client)
    return RawRoundtripResult(
        frames=frames, frame_bytes=frame_bytes, window=window, seconds=seconds
    )
