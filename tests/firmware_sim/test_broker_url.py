"""How `esl sim gateway` reads its broker URL and fault options."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from firmware_sim.mqtt_gateway import parse_broker_url


def test_credentials_and_port_come_from_the_url() -> None:
    broker = parse_broker_url("mqtt://S001.gw1:p%40ss@broker.local:1884")
    assert (broker.host, broker.port, broker.username, broker.password, broker.tls) == (
        "broker.local",
        1884,
        "S001.gw1",
        "p@ss",
        False,
    )


def test_mqtts_defaults_to_8883_and_takes_its_files_from_the_query() -> None:
    broker = parse_broker_url("mqtts://broker?ca=/etc/esl/ca.pem&cert=/c.pem&key=/k.pem")
    assert (broker.port, broker.tls) == (8883, True)
    assert (broker.ca_file, broker.cert_file, broker.key_file) == (
        Path("/etc/esl/ca.pem"),
        Path("/c.pem"),
        Path("/k.pem"),
    )


def test_explicit_options_win_over_the_url() -> None:
    broker = parse_broker_url("mqtt://a:b@h", username="c", password="d", ca_file=Path("/ca"))
    assert (broker.username, broker.password, broker.tls, broker.port) == ("c", "d", True, 8883)


def test_other_schemes_are_refused_without_repeating_the_password() -> None:
    with pytest.raises(ValueError, match="mqtt://") as refused:
        parse_broker_url("tcp://S001.gw1:s3cret-pass@broker")
    assert "s3cret-pass" not in str(refused.value)


def test_a_fault_rate_outside_0_to_1_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "gateway",
            "--store",
            "S001",
            "--broker",
            "mqtt://127.0.0.1:1",
            "--state-dir",
            str(tmp_path),
            "--loss-rate",
            "1.5",
        ],
    )
    assert result.exit_code == 2
    assert "loss_rate" in result.output
    assert not list(tmp_path.iterdir())  # nothing was created
