"""Broker URLs: credentials, TLS files and the mistakes people make writing them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from gateways.errors import InvalidBrokerUrlError
from gateways.mqtt.endpoint import BrokerEndpoint, TlsFiles, parse_broker_url
from tests.strategies import any_passwords


def test_a_plain_url_gives_host_port_and_login() -> None:
    endpoint = parse_broker_url("mqtt://esl-controller:s3cret@broker.example:1884")
    assert endpoint == BrokerEndpoint(
        host="broker.example", port=1884, username="esl-controller", password="s3cret"
    )


def test_defaults_are_1883_without_tls_and_8883_with_it() -> None:
    assert parse_broker_url("mqtt://localhost").port == 1883
    secure = parse_broker_url("mqtts://localhost")
    assert secure.port == 8883
    assert secure.tls == TlsFiles()


def test_mqtts_takes_a_ca_and_a_client_certificate() -> None:
    endpoint = parse_broker_url("mqtts://h:8884?ca=/etc/esl/ca.pem&cert=/c.pem&key=/k.pem")
    assert endpoint.tls == TlsFiles(Path("/etc/esl/ca.pem"), Path("/c.pem"), Path("/k.pem"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://broker:1883", "scheme must be mqtt or mqtts, not 'http'"),
        ("mqtt://:1883", "no host"),
        ("mqtt://broker:port", "port is not a number from 1 to 65535"),
        ("mqtt://broker?ca=/ca.pem", "ca/cert/key need the mqtts scheme"),
        ("mqtts://broker?key=/k.pem", "a client key needs a client cert"),
        ("mqtts://broker?cafile=/ca.pem", "unknown parameters cafile"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidBrokerUrlError) as caught:
        parse_broker_url(url)
    assert caught.value.fields == {"reason": reason}


def test_an_error_about_a_url_never_repeats_its_password() -> None:
    with pytest.raises(InvalidBrokerUrlError) as caught:
        parse_broker_url("mqtt://user:hunter2@broker:99999")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(parse_broker_url("mqtt://user:hunter2@broker"))


@settings(max_examples=100)
@given(username=any_passwords, password=any_passwords)
def test_any_login_survives_the_trip_through_a_url(username: str, password: str) -> None:
    endpoint = BrokerEndpoint(
        host="broker", port=1883, username=username, password=password, tls=TlsFiles(Path("/ca"))
    )
    assert parse_broker_url(endpoint.url) == endpoint
