"""`esl mqtt config`: the files it writes, checked as text (the ACL proof is in
test_mosquitto_acl.py, against a real Mosquitto)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.mqtt.errors import MosquittoConfigError
from esl.mqtt.mosquitto_config import (
    MAX_PACKET_BYTES,
    ListenerTls,
    gateways_from_counts,
    gateways_from_lines,
    plan_accounts,
    render_acl,
    render_mosquitto_conf,
    write_mosquitto_config,
)
from esl.mqtt.mosquitto_password import verify_password


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_gateway_may_read_its_down_and_write_its_up_and_status_only() -> None:
    accounts = plan_accounts([("S001", "gw1"), ("S002", "gw1")], new_password=lambda: "pw")
    blocks = render_acl(accounts).split("\n\n")[1:]
    assert blocks == [
        "user esl-controller\n"
        "topic write esl/v1/+/+/down\n"
        "topic read esl/v1/+/+/up\n"
        "topic read esl/v1/+/+/status",
        # The controller's session for one store's answers: that store's, nothing else.
        "user esl-controller.S001\ntopic read esl/v1/S001/+/up\ntopic read esl/v1/S001/+/status",
        "user esl-controller.S002\ntopic read esl/v1/S002/+/up\ntopic read esl/v1/S002/+/status",
        "user S001.gw1\n"
        "topic read esl/v1/S001/gw1/down\n"
        "topic write esl/v1/S001/gw1/up\n"
        "topic write esl/v1/S001/gw1/status",
        "user S002.gw1\n"
        "topic read esl/v1/S002/gw1/down\n"
        "topic write esl/v1/S002/gw1/up\n"
        "topic write esl/v1/S002/gw1/status\n",
    ]


def test_the_config_admits_only_known_users_and_keeps_sessions(tmp_path: Path) -> None:
    conf = render_mosquitto_conf(install_dir=Path("/etc/mosquitto/esl"), port=1884)
    lines = conf.splitlines()
    for expected in [
        "allow_anonymous false",
        "password_file /etc/mosquitto/esl/passwords",
        "acl_file /etc/mosquitto/esl/acl",
        "persistence true",
        "persistence_location /etc/mosquitto/esl/data/",
        "max_queued_messages 10000",
        "listener 1884 0.0.0.0",
        f"max_packet_size {MAX_PACKET_BYTES}",
    ]:
        assert expected in lines
    assert "certfile" not in conf
    # Mosquitto 2.0 reads it per listener: it must follow the listener line.
    assert lines[lines.index("listener 1884 0.0.0.0") + 1] == "use_username_as_clientid true"


def test_with_tls_the_plain_listener_can_be_left_out() -> None:
    tls = ListenerTls(port=8883, certfile=Path("/c.pem"), keyfile=Path("/k.pem"))
    conf = render_mosquitto_conf(install_dir=Path("/x"), tls=tls, plain_listener=False)
    listeners = [line for line in conf.splitlines() if line.startswith("listener")]
    assert listeners == ["listener 8883 0.0.0.0"]
    assert conf.count("use_username_as_clientid true") == 1
    with pytest.raises(MosquittoConfigError):
        render_mosquitto_conf(install_dir=Path("/x"), plain_listener=False)


def test_a_server_certificate_adds_a_tls_listener() -> None:
    tls = ListenerTls(
        port=8884,
        certfile=Path("/c.pem"),
        keyfile=Path("/k.pem"),
        cafile=Path("/ca.pem"),
        require_client_certificate=True,
    )
    conf = render_mosquitto_conf(install_dir=Path("/x"), bind_address="10.0.0.5", tls=tls)
    tail = conf.split("listener 8884 10.0.0.5\n", 1)[1].splitlines()
    assert tail == [
        "use_username_as_clientid true",
        "certfile /c.pem",
        "keyfile /k.pem",
        "cafile /ca.pem",
        "require_certificate true",
    ]


def test_written_files_hold_hashes_and_the_plain_passwords_stay_private(tmp_path: Path) -> None:
    written = write_mosquitto_config(tmp_path, gateways_from_counts(["S001", "S002"], per_store=2))
    credentials = json.loads(written.credentials.read_text())
    assert _mode(written.credentials) == 0o600
    assert _mode(written.passwords) == 0o600
    hashes = dict(line.split(":", 1) for line in written.passwords.read_text().splitlines())
    logins = [credentials["controller"], *credentials["gateways"]]
    # The controller's login per store has the controller's password (none to hand out).
    per_store = ["esl-controller.S001", "esl-controller.S002"]
    assert sorted(hashes) == sorted([*per_store, *(login["username"] for login in logins)])
    for username in per_store:
        assert verify_password(credentials["controller"]["password"], hashes[username])
    assert [(g["store"], g["gateway"]) for g in credentials["gateways"]] == [
        ("S001", "S001-gw1"),
        ("S001", "S001-gw2"),
        ("S002", "S002-gw1"),
        ("S002", "S002-gw2"),
    ]
    for login in logins:
        assert verify_password(login["password"], hashes[login["username"]])
        assert login["password"] not in written.passwords.read_text()
    assert len({login["password"] for login in logins}) == len(logins)


def test_running_again_keeps_existing_passwords_and_adds_new_ones(tmp_path: Path) -> None:
    first = write_mosquitto_config(tmp_path, [("S001", "gw1")])
    second = write_mosquitto_config(tmp_path, [("S001", "gw1"), ("S002", "gw1")])
    assert second.new_usernames == ("S002.gw1",)
    assert second.accounts.controller.password == first.accounts.controller.password
    assert second.accounts.gateways[0].password == first.accounts.gateways[0].password


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        ([], "no gateways given"),
        ([("S001", "gw1"), ("S001", "gw1")], "a store/gateway pair is listed twice"),
        (
            [("S/1", "gw1")],
            "store id 'S/1' cannot be a topic level: use 1-64 of A-Z a-z 0-9 _ -",
        ),
        (
            # Two stores' gateways whose MQTT client ids (sessions, RabbitMQ session
            # queues) would be one: each login could read the other store's frames.
            [("S0", "1-gw1"), ("S0-1", "gw1")],
            "gateways S0/1-gw1 and S0-1/gw1 would share the MQTT client id esl-gw-S0-1-gw1: "
            "rename one",
        ),
    ],
)
def test_unusable_gateway_lists_are_refused(pairs: list[tuple[str, str]], reason: str) -> None:
    with pytest.raises(MosquittoConfigError) as caught:
        plan_accounts(pairs)
    assert caught.value.fields == {"reason": reason}


def test_a_controller_name_that_clashes_with_a_gateway_is_refused() -> None:
    with pytest.raises(MosquittoConfigError):
        plan_accounts([("S001", "gw1")], controller_username="S001.gw1")
    with pytest.raises(MosquittoConfigError):
        plan_accounts([("S001", "gw1")], controller_username="bad:name")


def test_a_gateway_list_file_takes_commas_spaces_and_comments() -> None:
    lines = ["# store, gateway", "S001,gw1", "", "S001 gw2  # back room", "S002, gw1"]
    assert gateways_from_lines(lines) == [("S001", "gw1"), ("S001", "gw2"), ("S002", "gw1")]
    with pytest.raises(MosquittoConfigError) as caught:
        gateways_from_lines(["S001,gw1", "S002"])
    assert caught.value.fields == {"reason": "line 2: expected 'store,gateway'"}


def test_the_command_writes_the_files_and_says_where_the_passwords_are(tmp_path: Path) -> None:
    out = tmp_path / "mqtt"
    result = CliRunner().invoke(
        app,
        ["mqtt", "config", "--stores", "S001,S002", "--gateways-per-store", "2", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "acl",
        "credentials.json",
        "data",
        "mosquitto.conf",
        "passwords",
    ]
    assert "4 gateway accounts in 2 stores" in result.output
    assert f"passwords are in {out / 'credentials.json'} (mode 0600)" in result.output
    for password in json.loads((out / "credentials.json").read_text())["gateways"]:
        assert password["password"] not in result.output


def test_the_command_reads_a_gateway_file_and_reports_bad_input(tmp_path: Path) -> None:
    listing = tmp_path / "gateways.txt"
    listing.write_text("S010,front\nS010,back\n")
    result = CliRunner().invoke(
        app, ["mqtt", "config", "--gateways-file", str(listing), "-o", str(tmp_path / "a")]
    )
    assert result.exit_code == 0, result.output
    assert "user S010.back" in (tmp_path / "a" / "acl").read_text()

    empty = CliRunner().invoke(app, ["mqtt", "config", "-o", str(tmp_path / "b")])
    assert empty.exit_code == 1
    assert "no gateways given" in empty.output
