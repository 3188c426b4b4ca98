"""How large a PUBLISH packet is, and the broker's packet limit the drivers assume.

A broker refuses a packet larger than its limit (Mosquitto's `max_packet_size`) by
closing the connection. paho then sends the same packet again after reconnecting, the
broker closes again, and every message queued behind it waits for ever. So the driver
refuses such a message itself, before paho holds it (`PahoConnection.publish_all`).
"""

from __future__ import annotations

from gateways.mqtt.topics import TOPIC_ROOT, TopicKind
from gateways.protocol import MAX_FRAME_BYTES

__all__ = ["DEFAULT_MAX_PACKET_BYTES", "publish_packet_bytes"]

# The longest topic: esl/v1/, 64-character store and gateway ids, /status.
_LONGEST_TOPIC = len(f"{TOPIC_ROOT}/{'s' * 64}/{'g' * 64}/{TopicKind.STATUS.value}")
# Fixed header (1 byte + up to 4 of remaining length), topic length (2), the topic,
# packet id (2).
_PUBLISH_OVERHEAD = 1 + 4 + 2 + _LONGEST_TOPIC + 2
# One protocol frame in a PUBLISH on the longest topic, rounded up to a whole KiB for
# the MQTT 5 properties a client may add: the `max_packet_size` `esl mqtt config`
# writes, and the limit assumed unless told otherwise (`ESL_MQTT_MAX_PACKET_BYTES`).
DEFAULT_MAX_PACKET_BYTES = MAX_FRAME_BYTES + ((_PUBLISH_OVERHEAD + 1023) // 1024) * 1024


def publish_packet_bytes(topic: str, payload: bytes) -> int:
    """The whole MQTT 3.1.1 QoS 1 PUBLISH packet carrying `payload` on `topic`: fixed
    header, topic, packet id and payload (3.1.1 has no properties)."""
    remaining = 2 + len(topic.encode("utf-8")) + 2 + len(payload)
    length_bytes = 1
    while remaining >= 128**length_bytes:
        length_bytes += 1
    return 1 + length_bytes + remaining
