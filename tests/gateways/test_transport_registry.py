"""Choosing a transport by name, without importing the ones not chosen."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gateways.base import Gateway, TransportKind, gateway_class
from gateways.errors import UnknownTransportError


def test_mqtt_resolves_to_the_paho_driver_and_imports_paho_only_then() -> None:
    code = (
        "import sys; from gateways.base import gateway_class; "
        "before = 'paho' in sys.modules; cls = gateway_class('mqtt'); "
        "print(before, 'paho' in sys.modules, cls.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "MqttGateway"]


def test_the_driver_is_a_gateway_of_its_kind() -> None:
    driver = gateway_class(TransportKind.MQTT)
    assert issubclass(driver, Gateway)
    assert driver.transport is TransportKind.MQTT


def test_an_unknown_transport_is_a_gateway_error_naming_it() -> None:
    with pytest.raises(UnknownTransportError) as caught:
        gateway_class("carrier-pigeon")
    assert caught.value.fields == {"transport": "carrier-pigeon", "reason": "not a known transport"}
