"""The MQTT transport: controller driver, store-gateway client, topic layout, raw baseline.

Importing this package imports paho-mqtt; `gateways.base.gateway_class` is the lazy way in.
"""

from gateways.mqtt.driver import DEFAULT_CONTROLLER_CLIENT_ID, MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint, TlsFiles, parse_broker_url
from gateways.mqtt.store_gateway import StoreGatewayClient

__all__ = [
    "DEFAULT_CONTROLLER_CLIENT_ID",
    "BrokerEndpoint",
    "MqttGateway",
    "StoreGatewayClient",
    "TlsFiles",
    "parse_broker_url",
]
