"""Errors of the transports (MQTT now, BLE later), all under `GatewayError`.

    EslError                        pricing/errors.py
    +-- GatewayError                a transport could not do what was asked
        +-- InvalidTopicPartError   a store or gateway id that cannot be a topic level
        +-- InvalidBrokerUrlError   a broker URL we cannot connect with
        +-- UnknownTransportError   no driver for that transport (or it is not installed)
        +-- GatewayConnectError     the broker refused us or could not be reached in time
        +-- GatewayNotStartedError  `send` before `start` or after `stop`
        +-- PublishError            the transport did not accept a message
            +-- PacketTooLargeError a message larger than the broker's packet limit
        +-- UnroutableDownlinkError gateways/group.py: no member serves that store gateway
        +-- RadioError              gateways/store_gateway/radio.py: a store's radio did not
                                    get it done (its `final` says whether to retry)
        +-- AccessPointError        gateways/oepl/errors.py (its own tree is drawn there)
        +-- StoreGatewayFailedError a part of the store gateway process failed: it stops
                                    (its cause is the part's error, logged with its traceback)

Every error carries the fields a caller needs to act on it (`store`, `gateway`, `reason`)
in `EslError.fields`, so nobody parses messages.
"""

from __future__ import annotations

from pricing.errors import EslError

__all__ = [
    "GatewayConnectError",
    "GatewayError",
    "GatewayNotStartedError",
    "InvalidBrokerUrlError",
    "InvalidTopicPartError",
    "PacketTooLargeError",
    "PublishError",
    "StoreGatewayFailedError",
    "UnknownTransportError",
]


class GatewayError(EslError):
    """A transport could not do what was asked."""

    code = "gateway_error"


class InvalidTopicPartError(GatewayError):
    code = "invalid_topic_part"

    def __init__(self, *, kind: str, value: str) -> None:
        super().__init__(
            f"{kind} id {value!r} cannot be a topic level: use 1-64 of A-Z a-z 0-9 _ -",
            kind=kind,
            value=value,
        )


class InvalidBrokerUrlError(GatewayError):
    code = "invalid_broker_url"

    def __init__(self, *, reason: str) -> None:
        # The URL may carry a password, so the message never echoes it back.
        super().__init__(f"unusable broker URL: {reason}", reason=reason)


class UnknownTransportError(GatewayError):
    code = "unknown_transport"

    def __init__(self, *, transport: str, reason: str) -> None:
        super().__init__(
            f"no {transport!r} transport: {reason}", transport=transport, reason=reason
        )


class GatewayConnectError(GatewayError):
    code = "gateway_connect_failed"

    def __init__(self, *, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"cannot connect to broker {host}:{port}: {reason}", host=host, port=port, reason=reason
        )


class GatewayNotStartedError(GatewayError):
    code = "gateway_not_started"

    def __init__(self) -> None:
        super().__init__("the transport is not running: call start() first")


class PublishError(GatewayError):
    code = "publish_failed"

    def __init__(self, *, topic: str, reason: str) -> None:
        super().__init__(f"publish to {topic} failed: {reason}", topic=topic, reason=reason)
        self.topic = topic
        self.reason = reason


class PacketTooLargeError(PublishError):
    """A message whose PUBLISH packet the broker would refuse for its size: never sent
    (the broker would drop the connection, and every message behind it would wait).
    Final: the same message is refused again."""

    code = "packet_too_large"

    def __init__(self, *, topic: str, size: int, limit: int) -> None:
        super().__init__(
            topic=topic, reason=f"larger than the broker's packet limit of {limit} bytes"
        )
        self.fields.update(size=size, limit=limit)
        self.size = size
        self.limit = limit


class StoreGatewayFailedError(GatewayError):
    """A part of a running store gateway process (its receiving, its sending to the
    controller, its health polls, a label's frames) failed: the process stops rather than
    run on without it, and its supervisor starts it again. The part's error is the cause,
    logged with its traceback when it happened."""

    code = "store_gateway_failed"

    def __init__(self, *, store: str, gateway: str, part: str, reason: str) -> None:
        super().__init__(
            f"store gateway {store}/{gateway} stopped: {part} failed: {reason} "
            "(its traceback is in the log)",
            store=store,
            gateway=gateway,
            part=part,
            reason=reason,
        )
