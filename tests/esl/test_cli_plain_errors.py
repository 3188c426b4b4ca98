"""A file the operator names that is not what it should be (saved in the Windows code page,
garbled, cut short) and a store or gateway id that cannot be an MQTT topic level end in one
plain error naming the file or the id, a non-zero exit code and nothing left behind, not
"unexpected ... report it" (esl/cli/failures.py: that is for bugs only). Found by the cli2
hunt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from esl.cli import app
from rendering.content import content_to_dict
from tests.fixtures.mosquitto import MosquittoProcess, free_port, start_mosquitto
from tests.rendering.label_samples import PROMOTION

pytestmark = pytest.mark.integration

# '{"locale": "pl_PL", "product": {"name": "Kawą"}}' as Excel or Notepad in pl_PL save it
# (Windows-1250: "ą" is the byte 0xB9).
CP1250_JSON = '{"locale": "pl_PL", "product": {"name": "Kawą"}}'.encode("cp1250")


def _no_bug_report(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    assert "unexpected" not in result.output, result.output


def _not_utf8_named(result: Result, path: Path) -> None:
    _no_bug_report(result)
    assert f"error: {path}: not UTF-8 text: byte 0xB9 on line 1" in result.stderr, result.output
    assert "save it as UTF-8" in result.stderr, result.output


# --- files that are not UTF-8 ------------------------------------------------------------


@pytest.mark.parametrize("option", ["--content", "--template"])
def test_render_with_a_file_not_utf8_is_one_plain_error(tmp_path: Path, option: str) -> None:
    given = tmp_path / "label.json"
    given.write_bytes(CP1250_JSON)
    content = tmp_path / "content.json"
    content.write_text(json.dumps(content_to_dict(PROMOTION)), encoding="utf-8")
    files = {"--content": str(content), option: str(given)}
    args = [part for pair in files.items() for part in pair]
    result = CliRunner().invoke(app, ["render", *args, "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2  # as every other bad input of esl render (docs/templates.md)
    _not_utf8_named(result, given)
    assert not (tmp_path / "x.png").exists()


def test_mqtt_config_with_a_gateways_file_not_utf8_is_one_plain_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    gateways = tmp_path / "gateways.txt"
    gateways.write_bytes("Kraków,KRK-gw1\n".encode("cp1250").replace(b"\xf3", b"\xb9"))
    result = cli.invoke(
        app, ["mqtt", "config", "-o", str(tmp_path / "broker"), "--gateways-file", str(gateways)]
    )
    assert result.exit_code == 1
    _not_utf8_named(result, gateways)
    assert not (tmp_path / "broker").exists()


def _gateway_ble(cli: CliRunner, tmp_path: Path, *extra: str, **ids: str) -> Result:
    store, gateway = ids.get("store", "S001"), ids.get("gateway", "S001-ble1")
    return cli.invoke(
        app,
        [
            "gateway", "ble", "--store", store, "--gateway", gateway,
            "--broker", f"mqtt://127.0.0.1:{free_port()}",
            "--state-dir", str(tmp_path / "gw"), *extra,
        ],
    )  # fmt: skip


def test_gateway_ble_with_a_password_file_not_utf8_is_one_plain_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    credential = tmp_path / "S001-ble1.password"
    credential.write_bytes("hasło-Kawą".encode("cp1250"))
    credential.chmod(0o600)
    result = _gateway_ble(cli, tmp_path, "--credential", str(credential))
    assert result.exit_code == 1
    _no_bug_report(result)
    assert f"error: {credential}: not UTF-8 text: byte 0xB3 on line 1" in result.stderr


# --- provisioning files that cannot be used ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ("{}", "'store' and 'gateway' must be non-empty strings"),
        ('{"store": "S001", "gateway": "S001-ap1", "labels": [{"label_id": "L1"}]}',
         "label 1: label_id, model and key must be strings"),
        ('{"store": "S001", "gateway": "S001-ap1", "labels": '
         '[{"label_id": "L1", "model": "2.9-bwr", "key": "zz"}]}',
         "label 1: label L1: the key is not hexadecimal"),
    ],
)  # fmt: skip
def test_gateway_oepl_with_a_garbled_provisioning_file_is_one_plain_error(
    cli: CliRunner, tmp_path: Path, text: str, reason: str
) -> None:
    provisioning = tmp_path / "S001-ap1-labels.json"
    provisioning.write_text(text, encoding="utf-8")
    result = _gateway_oepl(cli, tmp_path, provisioning)
    assert result.exit_code == 1
    _no_bug_report(result)
    assert f"error: {provisioning}: provisioning file rejected" in result.stderr, result.output
    assert reason in result.stderr, result.output
    assert "  it holds the keys of this gateway's labels: put back the file" in result.stderr
    assert not (tmp_path / "gw").exists()


def test_gateway_oepl_with_a_provisioning_file_not_utf8_is_one_plain_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    provisioning = tmp_path / "S001-ap1-labels.json"
    provisioning.write_bytes(CP1250_JSON)
    result = _gateway_oepl(cli, tmp_path, provisioning)
    assert result.exit_code == 1
    _not_utf8_named(result, provisioning)


def test_oepl_import_tags_with_a_garbled_provisioning_file_is_one_plain_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    """The file is read for the keys it already holds before the AP is asked for its tags:
    a garbled one must be named, and not overwritten."""
    provisioning = tmp_path / "S001-ap1-labels.json"
    provisioning.write_text('{"labels": [{"label_id": "L1"}]}', encoding="utf-8")
    result = cli.invoke(
        app,
        [
            "gateway", "oepl", "import-tags", "--store", "S001", "--gateway", "S001-ap1",
            "--ap", "http://127.0.0.1:1", "--provisioning", str(provisioning),
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    _no_bug_report(result)
    assert f"error: {provisioning}: provisioning file rejected" in result.stderr, result.output
    assert provisioning.read_text(encoding="utf-8") == '{"labels": [{"label_id": "L1"}]}'


def _gateway_oepl(cli: CliRunner, tmp_path: Path, provisioning: Path, **ids: str) -> Result:
    store, gateway = ids.get("store", "S001"), ids.get("gateway", "S001-ap1")
    return cli.invoke(
        app,
        [
            "gateway", "oepl", "--store", store, "--gateway", gateway,
            "--ap", "http://127.0.0.1:1", "--broker", f"mqtt://esl@127.0.0.1:{free_port()}",
            "--provisioning", str(provisioning), "--state-dir", str(tmp_path / "gw"),
        ],
    )  # fmt: skip


def test_sim_gateway_with_a_provisioning_file_not_utf8_is_one_plain_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    provisioning = tmp_path / "S001-gw1-labels.json"
    provisioning.write_bytes(CP1250_JSON)
    result = cli.invoke(
        app,
        [
            "sim", "gateway", "--store", "S001", "--provisioning", str(provisioning),
            "--broker", f"mqtt://esl@127.0.0.1:{free_port()}",
            "--state-dir", str(tmp_path / "sim"), "--connect-timeout", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    _not_utf8_named(result, provisioning)


def test_sim_gateway_with_a_garbled_provisioning_file_names_it(
    cli: CliRunner, tmp_path: Path
) -> None:
    provisioning = tmp_path / "S001-gw1-labels.json"
    provisioning.write_text("{not json", encoding="utf-8")
    result = cli.invoke(
        app,
        [
            "sim", "gateway", "--store", "S001", "--provisioning", str(provisioning),
            "--broker", f"mqtt://esl@127.0.0.1:{free_port()}",
            "--state-dir", str(tmp_path / "sim"), "--connect-timeout", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    _no_bug_report(result)
    assert f"error: {provisioning}: provisioning file rejected: not JSON" in result.stderr


# --- store and gateway ids that cannot be an MQTT topic level ----------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoProcess]:
    running = start_mosquitto(tmp_path / "broker")
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("store", "gateway", "refused"),
    [
        ("S+1", None, "store id 'S+1'"),
        ("S/1", None, "store id 'S/1'"),
        ("", None, "store id ''"),
        ("S001", "gw#1", "gateway id 'gw#1'"),
    ],
)
def test_sim_gateway_refuses_an_id_that_is_not_a_topic_level(
    cli: CliRunner,
    tmp_path: Path,
    broker: MosquittoProcess,
    store: str,
    gateway: str | None,
    refused: str,
) -> None:
    """`esl mqtt config` and the controller refuse such ids; the simulated gateway ran on
    them: with '+' it died with "unexpected ValueError" or "cannot connect to broker" (a
    broker that is there), with '/' it ran, 'connected', on topics (esl/v1/S/1/S/1-gw1/down)
    no controller publishes to, its state in a subfolder."""
    state = tmp_path / "sim"
    result = cli.invoke(
        app,
        [
            "sim", "gateway", "--store", store, "--labels", "1",
            *(["--gateway", gateway] if gateway is not None else []),
            "--broker", f"mqtt://esl@127.0.0.1:{broker.port}", "--state-dir", str(state),
            "--connect-timeout", "3", "--duration", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    _no_bug_report(result)
    assert f"error: {refused} cannot be a topic level" in result.stderr, result.output
    assert not state.exists() or not any(state.iterdir()), sorted(state.rglob("*"))


@pytest.mark.parametrize(("store", "gateway"), [("S/1", "S001-ap1"), ("S001", "ap+1")])
def test_gateway_oepl_refuses_an_id_that_is_not_a_topic_level(
    cli: CliRunner, tmp_path: Path, store: str, gateway: str
) -> None:
    provisioning = tmp_path / "labels.json"
    provisioning.write_text(
        '{"store": "S001", "gateway": "S001-ap1", "labels": []}', encoding="utf-8"
    )
    result = _gateway_oepl(cli, tmp_path, provisioning, store=store, gateway=gateway)
    assert result.exit_code == 1
    _no_bug_report(result)
    assert "cannot be a topic level" in result.stderr, result.output
    assert not (tmp_path / "gw").exists()


def test_oepl_import_tags_refuses_a_gateway_id_that_is_not_a_topic_level(
    cli: CliRunner, tmp_path: Path
) -> None:
    """With an AP that answers, the provisioning file was written (into a subfolder `ap`)
    before the controller refused the id over the API; now the AP is not even asked."""
    result = cli.invoke(
        app,
        [
            "gateway", "oepl", "import-tags", "--store", "S001", "--gateway", "ap/1",
            "--ap", "http://127.0.0.1:1", "--api", f"http://127.0.0.1:{free_port()}",
            "--api-key", "esl_x", "--state-dir", str(tmp_path / "gw"),
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    _no_bug_report(result)
    assert "error: gateway id 'ap/1' cannot be a topic level" in result.stderr, result.output
    assert not (tmp_path / "gw").exists()


@pytest.mark.parametrize(("store", "gateway"), [("S#1", "S001-ble1"), ("S001", "ble/1")])
def test_gateway_ble_refuses_an_id_that_is_not_a_topic_level(
    cli: CliRunner, tmp_path: Path, store: str, gateway: str
) -> None:
    result = _gateway_ble(cli, tmp_path, store=store, gateway=gateway)
    assert result.exit_code == 1
    _no_bug_report(result)
    assert "cannot be a topic level" in result.stderr, result.output
    assert not (tmp_path / "gw").exists()
