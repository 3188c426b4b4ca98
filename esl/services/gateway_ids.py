"""Gateway ids: what may name a store gateway.

The controller reaches a gateway at `esl/v1/{store}/{gateway}/down`, and `esl mqtt
config` makes logins and ACL lines of the same id, so a gateway id is a topic level
(docs/protocol.md): 1-64 of `A-Z a-z 0-9 _ -`. Refused here, where a gateway is
registered, an id like `gw.1` never reaches the dispatcher, where its frames could
only be refused, again at every retry.
"""

from __future__ import annotations

from esl.errors import InvalidItemError
from gateways.mqtt.topics import is_topic_part

__all__ = ["GATEWAY_ID_PATTERN", "require_gateway_id"]

# The API's pattern for a gateway id, the same set as `gateways.mqtt.topics` (1-64 long).
GATEWAY_ID_PATTERN = r"^[A-Za-z0-9_\-]+$"


def require_gateway_id(gateway: str) -> str:
    if not is_topic_part(gateway):
        raise InvalidItemError(
            f"gateway id {gateway!r} cannot be an MQTT topic level: "
            "use 1-64 of A-Z a-z 0-9 _ - (docs/protocol.md)",
            field="gateway",
            gateway=gateway,
        )
    return gateway
