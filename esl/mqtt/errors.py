"""Errors of the broker side: the embedded broker and the Mosquitto files.

EslError (pricing/errors.py)
+-- GatewayError (gateways/errors.py)
    +-- EmbeddedBrokerError     the in-process broker could not start
    +-- MosquittoConfigError    the input for `esl mqtt config` is unusable
    +-- RabbitmqConfigError     ... with `--broker rabbitmq`
"""

from __future__ import annotations

from gateways.errors import GatewayError

__all__ = ["EmbeddedBrokerError", "MosquittoConfigError", "RabbitmqConfigError"]


class EmbeddedBrokerError(GatewayError):
    code = "embedded_broker_failed"

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"embedded MQTT broker: {reason}", reason=reason)


class MosquittoConfigError(GatewayError):
    code = "mosquitto_config_invalid"

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"cannot write a Mosquitto config: {reason}", reason=reason)


class RabbitmqConfigError(GatewayError):
    code = "rabbitmq_config_invalid"

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"cannot write a RabbitMQ config: {reason}", reason=reason)
