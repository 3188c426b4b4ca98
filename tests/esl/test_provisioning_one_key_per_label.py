"""Every label has its own 32-byte key (docs/protocol.md): with one key given to two labels
(a gateway that wrote one key for every label, a copy-pasted file), either label's device
signs answers the controller believes from the other, and a frame for one verifies on the
other. `esl import provisioning` registered such files; now a key repeated in the file, or
one a registered label holds, refuses the whole import, naming the labels concerned."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.models import LabelRow, StoreRow
from esl.errors import ConflictError
from esl.pipeline.provisioning import register_provisioned_labels
from firmware_sim.fleet import make_fleet, write_provisioning
from gateways.protocol import LabelProvision
from tests.esl.test_provisioning_cli import _labels, store  # noqa: F401  (fixture)

NOW = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)


def _write(path: Path, provisions: list[LabelProvision], *, gateway: str) -> Path:
    write_provisioning(path, provisions, store="S01", gateway=gateway)
    return path


def test_a_file_giving_two_labels_one_key_is_refused_naming_them(
    cli: CliRunner, tmp_path: Path
) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=3)
    shared = [LabelProvision(p.label_id, p.model_id, fleet[0].key) for p in fleet]
    path = _write(tmp_path / "S01-gw1.json", shared, gateway="gw1")

    result = cli.invoke(app, ["import", "provisioning", str(path)])

    assert result.exit_code == 1
    assert "2 of 3 labels are invalid" in result.output
    assert "line 2: label S01-gw1-00002 has the same key as label S01-gw1-00001" in result.output
    assert "line 3: label S01-gw1-00003 has the same key as label S01-gw1-00001" in result.output
    assert _labels(tmp_path) == {}  # not even the gateway


def test_a_second_gateways_file_giving_a_new_label_a_registered_labels_key_is_refused(
    cli: CliRunner, tmp_path: Path
) -> None:
    (held,) = make_fleet(store="S01", gateway="gw1", count=1)
    first = _write(tmp_path / "S01-gw1.json", [held], gateway="gw1")
    assert cli.invoke(app, ["import", "provisioning", str(first)]).exit_code == 0
    fresh, new = make_fleet(store="S01", gateway="gw2", count=2)
    reused = [fresh, LabelProvision(new.label_id, new.model_id, held.key)]
    second = _write(tmp_path / "S01-gw2.json", reused, gateway="gw2")

    result = cli.invoke(app, ["import", "provisioning", str(second), "--json"])

    assert result.exit_code == 1
    refusal = json.loads(result.stdout)
    assert refusal["code"] == "conflict"
    assert refusal["label_id"] == "S01-gw2-00002"
    assert "given the key of label S01-gw1-00001 (store S01, gateway gw1)" in refusal["message"]
    assert set(_labels(tmp_path)) == {"S01-gw1-00001", "gateway:gw1"}  # all or nothing


def test_a_label_listed_again_by_another_gateway_with_its_own_key_still_moves(
    cli: CliRunner, tmp_path: Path
) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=2)
    first = _write(tmp_path / "S01-gw1.json", fleet, gateway="gw1")
    assert cli.invoke(app, ["import", "provisioning", str(first)]).exit_code == 0
    (other,) = make_fleet(store="S01", gateway="gw2", count=1)
    second = _write(tmp_path / "S01-gw2.json", [fleet[0], other], gateway="gw2")

    result = cli.invoke(app, ["import", "provisioning", str(second), "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["moved"] == ["S01-gw1-00001"]
    assert _labels(tmp_path)["S01-gw1-00001"][1] == "gw2"


def test_registering_one_key_for_two_labels_directly_is_a_conflict(engine: Engine) -> None:
    """The path `esl gateway oepl import-tags` and the demo take, with no file parsed."""
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.add(StoreRow(code="S01", name="Oliwa", zone=None))
    one, two = make_fleet(store="S01", gateway="gw1", count=2)
    twin = LabelProvision(two.label_id, two.model_id, one.key)

    def register(provisions: list[LabelProvision], gateway: str) -> None:
        with sessions.begin() as session:
            register_provisioned_labels(session, provisions, store="S01", gateway=gateway, now=NOW)

    with pytest.raises(ConflictError, match="S01-gw1-00001 and S01-gw1-00002"):
        register([one, twin], "gw1")
    register([one], "gw1")
    with pytest.raises(ConflictError, match="given the key of label S01-gw1-00001"):
        register([twin], "gw2")
    with sessions() as session:
        assert list(session.scalars(select(LabelRow.id))) == ["S01-gw1-00001"]
