"""`esl mqtt config --broker rabbitmq`: the definitions and rabbitmq.conf it writes, checked
as data (the permission proof is tests/brokers/test_rabbitmq_permissions.py, against a real
RabbitMQ cluster)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.mqtt.errors import RabbitmqConfigError
from esl.mqtt.mosquitto_config import plan_accounts
from esl.mqtt.rabbitmq_config import (
    rabbitmq_password_hash,
    render_definitions,
    write_rabbitmq_config,
)


def _routing_key(topic: str) -> str:
    """What RabbitMQ's MQTT plugin checks topic permissions against."""
    return topic.replace("/", ".").replace("+", "*")


def _topic_rules(definitions: dict[str, object], user: str) -> tuple[str, str]:
    rules = [r for r in definitions["topic_permissions"] if r["user"] == user]  # type: ignore[attr-defined,index]
    assert len(rules) == 1
    return rules[0]["write"], rules[0]["read"]


def test_the_hash_is_rabbitmqs_salted_sha256_of_the_password() -> None:
    hashed = base64.b64decode(rabbitmq_password_hash("secret", salt=b"\x01\x02\x03\x04"))
    assert hashed[:4] == b"\x01\x02\x03\x04"
    assert hashed[4:] == hashlib.sha256(b"\x01\x02\x03\x04secret").digest()
    assert rabbitmq_password_hash("secret") != rabbitmq_password_hash("secret")  # fresh salt


def test_a_gateway_may_write_its_up_and_status_and_read_its_down_only() -> None:
    accounts = plan_accounts([("S01", "gw1"), ("S02", "gw1")], new_password=lambda: "pw")
    definitions = render_definitions(accounts)
    write, read = _topic_rules(definitions, "S01.gw1")
    allowed_writes = {"esl/v1/S01/gw1/up", "esl/v1/S01/gw1/status"}
    for topic in [*allowed_writes, "esl/v1/S01/gw1/down", "esl/v1/S02/gw1/up", "esl/v1/S01/+/up"]:
        assert bool(re.search(write, _routing_key(topic))) == (topic in allowed_writes), topic
    for topic in ["esl/v1/S01/gw1/down", "esl/v1/S02/gw1/down", "esl/v1/+/+/down", "esl/v1/#"]:
        expected = topic == "esl/v1/S01/gw1/down"
        assert bool(re.search(read, _routing_key(topic))) == expected, topic


def test_the_controller_writes_every_down_and_reads_every_up_and_status() -> None:
    accounts = plan_accounts([("S01", "gw1")], new_password=lambda: "pw")
    write, read = _topic_rules(render_definitions(accounts), "esl-controller")
    assert re.search(write, _routing_key("esl/v1/S07/gw3/down"))
    assert not re.search(write, _routing_key("esl/v1/S07/gw3/up"))
    for topic in ("esl/v1/+/+/up", "esl/v1/+/+/status", "esl/v1/S01/+/up"):
        assert re.search(read, _routing_key(topic)), topic
    assert not re.search(read, _routing_key("esl/v1/+/+/down"))
    assert not re.search(read, _routing_key("esl/#"))


def test_the_controllers_login_per_store_reads_that_stores_answers_only() -> None:
    accounts = plan_accounts([("S01", "gw1"), ("S02", "gw1")], new_password=lambda: "pw")
    write, read = _topic_rules(render_definitions(accounts), "esl-controller.S01")
    for topic in ("esl/v1/S01/+/up", "esl/v1/S01/+/status"):
        assert re.search(read, _routing_key(topic)), topic
    for topic in ("esl/v1/S02/+/up", "esl/v1/+/+/up", "esl/v1/S01/+/down", "esl/#"):
        assert not re.search(read, _routing_key(topic)), topic
    assert not re.search(write, _routing_key("esl/v1/S01/gw1/down"))


def test_each_login_may_touch_only_its_own_session_queues() -> None:
    accounts = plan_accounts([("S01", "gw1"), ("S02", "gw1")], new_password=lambda: "pw")
    permissions = {p["user"]: p for p in render_definitions(accounts)["permissions"]}
    own, other = "mqtt-subscription-esl-gw-S01-gw1qos1", "mqtt-subscription-esl-gw-S02-gw1qos1"
    gateway = permissions["S01.gw1"]
    for kind in ("configure", "write", "read"):
        assert re.search(gateway[kind], own), kind
        assert not re.search(gateway[kind], other), kind
        assert not re.search(gateway[kind], "mqtt-subscription-esl-controllerqos1"), kind
    controller = permissions["esl-controller"]
    for client_id in ("esl-controller", "esl-controller-shop.example.com-4711-0a1b2c3d"):
        assert re.search(controller["configure"], f"mqtt-subscription-{client_id}qos1")
    assert not re.search(controller["configure"], own)


def test_written_files_keep_passwords_private_and_reuse_them(tmp_path: Path) -> None:
    first = write_rabbitmq_config(tmp_path, [("S01", "gw1")])
    second = write_rabbitmq_config(tmp_path, [("S01", "gw1"), ("S02", "gw1")])
    for path in (second.definitions, second.credentials):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert second.new_usernames == ("S02.gw1",)
    assert second.accounts.gateways[0].password == first.accounts.gateways[0].password
    definitions = second.definitions.read_text()
    assert first.accounts.gateways[0].password not in definitions  # hashes only
    conf = second.conf.read_text()
    assert "mqtt.durable_queue_type = quorum" in conf
    assert "mqtt.allow_anonymous = false" in conf
    assert f"load_definitions = {second.definitions.absolute()}" in conf
    users = {user["name"] for user in json.loads(definitions)["users"]}
    per_store = {"esl-controller.S01", "esl-controller.S02"}  # the controller's, per store
    assert users == {"esl-controller", "S01.gw1", "S02.gw1", *per_store}


def test_unusable_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(RabbitmqConfigError, match="no gateways"):
        write_rabbitmq_config(tmp_path / "a", [])
    with pytest.raises(RabbitmqConfigError, match="vhost"):
        write_rabbitmq_config(tmp_path / "b", [("S01", "gw1")], vhost="esl/prod")
    with pytest.raises(RabbitmqConfigError, match="store id"):
        write_rabbitmq_config(tmp_path / "c", [("S.01", "gw1")])
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_the_cli_writes_the_rabbitmq_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["mqtt", "config", "--broker", "rabbitmq", "-o", str(tmp_path), "--stores", "S01,S02"]
    )
    assert result.exit_code == 0, result.output
    assert "rabbitmqctl import_definitions" in result.output
    body = json.loads((tmp_path / "definitions.json").read_text())
    assert {user["name"] for user in body["users"]} == {
        "esl-controller",
        "esl-controller.S01",
        "esl-controller.S02",
        "S01.S01-gw1",
        "S02.S02-gw1",
    }
    tls = ["--certfile", "c.pem", "--keyfile", "k.pem"]
    refused = CliRunner().invoke(
        app, ["mqtt", "config", "--broker", "rabbitmq", "-o", str(tmp_path / "tls"), *tls]
    )
    assert refused.exit_code == 1
    assert "TLS for RabbitMQ" in refused.output
