"""`esl label bind|unbind|show|flash`: one label from the shell, by SKU or scanned EAN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LabelRow
from tests.support.database import START, seed_reference_data


@pytest.fixture(autouse=True)
def label(cli: CliRunner, tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}")
    with session_factory(engine).begin() as session:
        seed_reference_data(session)
        session.add(
            LabelRow(
                id="L-1", store="S01", model="2.9-bwr", secret_key=bytes(16), registered_at=START
            )
        )
    engine.dispose()


def _show(cli: CliRunner) -> dict[str, object]:
    result = cli.invoke(app, ["label", "show", "L-1", "--json"])
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


def test_bind_by_a_scanned_ean_show_and_unbind(cli: CliRunner) -> None:
    assert _show(cli)["status"] == "unbound"
    bound = cli.invoke(app, ["label", "bind", "L-1", "5900820000011"])
    assert bound.exit_code == 0, bound.output
    assert "L-1 bound to MLK-1" in bound.stdout
    shown = _show(cli)
    assert (shown["sku"], shown["gtin"], shown["status"]) == ("MLK-1", "5900820000011", "unplanned")
    unknown = cli.invoke(app, ["label", "bind", "L-1", "4000000000000"])
    assert unknown.exit_code == 1
    assert "4000000000000" in unknown.output
    assert _show(cli)["sku"] == "MLK-1"  # refused, nothing changed
    assert cli.invoke(app, ["label", "unbind", "L-1"]).exit_code == 0
    assert _show(cli)["status"] == "unbound"
    again = cli.invoke(app, ["label", "unbind", "L-1"])
    assert again.exit_code == 1
    assert "not bound" in again.output


def test_retire_says_when_and_show_says_it_is_retired(cli: CliRunner) -> None:
    retired = cli.invoke(app, ["label", "retire", "L-1"])
    assert retired.exit_code == 0, retired.output
    assert "L-1 retired at" in retired.stdout
    assert "by cli" in retired.stdout
    assert _show(cli)["retired_at"] is not None
    assert "retired at" in cli.invoke(app, ["label", "show", "L-1"]).stdout
    refused = cli.invoke(app, ["label", "bind", "L-1", "5900820000011"])
    assert refused.exit_code == 1
    assert "retired" in refused.output
    unknown = cli.invoke(app, ["label", "retire", "L-nowhere"])
    assert unknown.exit_code == 1
    assert "no label L-nowhere" in unknown.output


def test_a_flash_is_queued_and_says_so_when_no_controller_answers(cli: CliRunner) -> None:
    queued = cli.invoke(app, ["label", "flash", "L-1", "--wait", "0"])
    assert queued.exit_code == 0, queued.output
    assert "flash queued for L-1" in queued.stdout
    waited = cli.invoke(app, ["label", "ping", "L-1", "--wait", "0.3"])
    assert waited.exit_code == 1
    assert "is the controller (`esl run`) running?" in waited.output
    actions = _show(cli)["actions"]
    assert isinstance(actions, list)
    assert [(a["action"], a["status"]) for a in actions] == [
        ("ping", "requested"),
        ("flash", "requested"),
    ]
    missing = cli.invoke(app, ["label", "flash", "NOPE", "--wait", "0"])
    assert missing.exit_code == 1
    assert "no label NOPE" in missing.output


def test_by_default_an_action_is_awaited_as_long_as_the_controller_may_take(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refresh's image may go out up to the not-sent limit after the controller took
    # it up (10 min by default): the command used to give up after 60 s and say "no
    # answer" while the refresh was still under way. It now waits as long as the
    # controller's own limits (ESL_LABEL_ACTION_*) and a round each way.
    monkeypatch.setenv("ESL_LABEL_ACTION_NOT_SENT_LIMIT_S", "0.4")
    monkeypatch.setenv("ESL_LABEL_ACTION_ANSWER_TIMEOUT_S", "0.2")
    monkeypatch.setenv("ESL_LABEL_ACTION_WAIT_LIMIT_S", "0.1")
    monkeypatch.setenv("ESL_CONTROLLER_POLL_S", "0.05")
    for kind, longest in (("refresh", "1"), ("ping", "0.4")):
        waited = cli.invoke(app, ["label", kind, "L-1"])
        assert waited.exit_code == 1
        assert f"L-1: no answer in {longest} s (requested)" in waited.output, waited.output
