"""TLS to Mosquitto: our own CA, a server certificate, and client certificates required."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateways.base import Downlink
from gateways.errors import GatewayConnectError
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint, TlsFiles, parse_broker_url
from gateways.mqtt.store_gateway import StoreGatewayClient
from tests.fixtures.mosquitto import free_port, start_mosquitto
from tests.gateways.mqtt_harness import ROOT_ONLY_CONFIG

pytestmark = pytest.mark.integration

_NOW = dt.datetime.now(dt.UTC)


def _issue(
    directory: Path,
    name: str,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - dt.timedelta(minutes=5))
        .not_valid_after(_NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    signer = issuer[1] if issuer else key
    cert = builder.sign(signer, hashes.SHA256())
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[BrokerEndpoint, Path]]:
    pki = tmp_path / "pki"
    pki.mkdir()
    ca = _issue(pki, "ca", issuer=None)
    _issue(pki, "server", issuer=ca, server=True)
    _issue(pki, "controller", issuer=ca)
    port = free_port()
    broker = start_mosquitto(
        tmp_path / "broker",
        extra_config=(
            f"listener {port} 127.0.0.1\n"
            f"cafile {pki / 'ca.pem'}\n"
            f"certfile {pki / 'server.pem'}\n"
            f"keyfile {pki / 'server.key'}\n"
            "require_certificate true\n" + ROOT_ONLY_CONFIG
        ),
    )
    yield BrokerEndpoint("127.0.0.1", port), pki
    broker.stop()


def _controller_url(tls_broker: tuple[BrokerEndpoint, Path]) -> str:
    """The broker's mqtts:// URL with our CA and the controller's certificate and key."""
    plain, pki = tls_broker
    return (
        f"mqtts://127.0.0.1:{plain.port}"
        f"?ca={pki / 'ca.pem'}&cert={pki / 'controller.pem'}&key={pki / 'controller.key'}"
    )


async def test_a_controller_with_our_ca_and_its_certificate_gets_through(
    tls_broker: tuple[BrokerEndpoint, Path],
) -> None:
    url = _controller_url(tls_broker)
    async with MqttGateway(parse_broker_url(url), client_id="tls-ctl") as controller:
        await controller.send(Downlink("S001", "gw1", "L", b"over TLS"))
        assert controller.connected


async def test_a_burst_of_frames_over_tls_arrives_whole_and_in_order(
    tls_broker: tuple[BrokerEndpoint, Path],
) -> None:
    # 300 frames of 2 KB through TLS, sent and read by paho on the event loop at both ends.
    url = _controller_url(tls_broker)
    frames = [bytes([n % 251]) * 2_000 + n.to_bytes(2, "big") for n in range(300)]
    gateway = StoreGatewayClient(parse_broker_url(url), store="S001", gateway="gw1")
    await gateway.start()
    try:
        async with MqttGateway(parse_broker_url(url), client_id="tls-burst") as controller:
            outcomes = await controller.send_all(
                [Downlink("S001", "gw1", "L", frame) for frame in frames]
            )
            assert outcomes == [None] * len(frames)
            received: list[bytes] = []
            async with asyncio.timeout(10):
                async for frame in gateway.frames():
                    received.append(frame)
                    if len(received) == len(frames):
                        break
            assert received == frames
    finally:
        await gateway.stop()


async def test_a_server_our_ca_did_not_sign_is_refused_and_the_error_says_why(
    tls_broker: tuple[BrokerEndpoint, Path],
) -> None:
    plain, pki = tls_broker
    files = TlsFiles(cert_file=pki / "controller.pem", key_file=pki / "controller.key")
    endpoint = BrokerEndpoint(plain.host, plain.port, tls=files)  # system CAs only
    with pytest.raises(GatewayConnectError) as caught:
        await MqttGateway(endpoint, client_id="tls-bad", connect_timeout_s=2).start()
    assert str(caught.value.fields["reason"]).startswith("TLS handshake failed: [SSL: CERTIFICATE_")


async def test_a_controller_without_a_client_certificate_is_refused(
    tls_broker: tuple[BrokerEndpoint, Path],
) -> None:
    plain, pki = tls_broker
    endpoint = BrokerEndpoint(plain.host, plain.port, tls=TlsFiles(ca_file=pki / "ca.pem"))
    with pytest.raises(GatewayConnectError):
        await MqttGateway(endpoint, client_id="tls-anon", connect_timeout_s=2).start()
