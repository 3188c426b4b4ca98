"""What a store gateway's MQTT connection carries, read off the wire of a `DelayedLink`
(`esl.bench._delayed_link`): its PUBLISHes to `.../up` as they reach the broker and the
broker's PUBACKs as they reach the gateway, so a test sees how many of its messages were
on their way at once without asking the gateway."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from esl.bench._delayed_link import Direction

__all__ = ["MqttWire"]

_PUBLISH = 3
_PUBACK = 4


def _packets(buffer: bytearray) -> Iterator[tuple[int, int, bytes]]:
    """Whole MQTT packets (type, flags, body) taken from the front of `buffer`."""
    while len(buffer) >= 2:
        length, multiplier, at = 0, 1, 1
        while True:
            if at >= len(buffer):
                return  # the length is not all here yet
            byte = buffer[at]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            at += 1
            if not byte & 0x80:
                break
        if len(buffer) < at + length:
            return
        first, body = buffer[0], bytes(buffer[at : at + length])
        del buffer[: at + length]
        yield first >> 4, first & 0x0F, body


@dataclass
class MqttWire:
    """Pass `observe` to the link. Thread-safe: the link calls it from its own thread."""

    # In the order they passed: ("publish", payload) as a PUBLISH to `.../up` reached the
    # broker, ("acknowledged", payload) as its PUBACK reached the gateway.
    events: list[tuple[str, bytes]] = field(default_factory=list)
    # The most PUBLISHes to `.../up` of one connection that had reached the broker at once
    # while their PUBACK had not reached the gateway.
    most_on_their_way: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _buffers: dict[tuple[int, Direction], bytearray] = field(default_factory=dict, repr=False)
    # Per connection, packet id -> payload: reached the broker, PUBACK not at the gateway.
    _on_their_way: dict[int, dict[int, bytes]] = field(default_factory=dict, repr=False)

    def observe(self, connection: int, direction: Direction, chunk: bytes) -> None:
        with self._lock:
            buffer = self._buffers.setdefault((connection, direction), bytearray())
            buffer.extend(chunk)
            on_their_way = self._on_their_way.setdefault(connection, {})
            for kind, flags, body in _packets(buffer):
                if direction is Direction.TO_SERVER and kind == _PUBLISH:
                    topic_bytes = int.from_bytes(body[:2], "big")
                    topic = body[2 : 2 + topic_bytes].decode()
                    qos = (flags >> 1) & 0x03
                    if not topic.endswith("/up") or qos == 0:
                        continue
                    at = 2 + topic_bytes
                    packet_id = int.from_bytes(body[at : at + 2], "big")
                    payload = body[at + 2 :]
                    on_their_way[packet_id] = payload
                    self.events.append(("publish", payload))
                    self.most_on_their_way = max(self.most_on_their_way, len(on_their_way))
                elif direction is Direction.TO_CLIENT and kind == _PUBACK:
                    acknowledged = on_their_way.pop(int.from_bytes(body[:2], "big"), None)
                    if acknowledged is not None:
                        self.events.append(("acknowledged", acknowledged))

    def on_their_way(self) -> list[bytes]:
        """The payloads that reached the broker and whose PUBACK has not reached the
        gateway (yet, or ever: its connection is gone)."""
        with self._lock:
            return [p for each in self._on_their_way.values() for p in each.values()]

    def published(self) -> list[bytes]:
        """Every payload that reached the broker, in that order (again when sent again)."""
        with self._lock:
            return [payload for kind, payload in self.events if kind == "publish"]

    def published_before_the_first_acknowledgement(self) -> int:
        with self._lock:
            count = 0
            for kind, _ in self.events:
                if kind == "acknowledged":
                    break
                count += 1
            return count
