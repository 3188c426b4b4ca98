"""The provisioning file: one strict parser that the controller and the simulator share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from esl.errors import ImportRejectedError
from esl.pipeline.provisioning import parse_provisioning as controller_parse
from firmware_sim.fleet import make_fleet, read_provisioning, write_provisioning
from gateways.protocol import (
    LabelProvision,
    ProvisioningRejectedError,
    parse_provisioning,
    provisioning_json,
)

GOOD_KEY = "11" * 32


def test_what_is_written_reads_back_the_same() -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=3, secret=b"s" * 32)
    parsed = parse_provisioning(provisioning_json(fleet, store="S01", gateway="gw1"))
    assert (parsed.store, parsed.gateway) == ("S01", "gw1")
    assert parsed.labels == fleet


def test_every_bad_label_is_listed_with_its_number() -> None:
    text = json.dumps(
        {
            "store": "S01",
            "gateway": "gw1",
            "labels": [
                {"label_id": "A1", "model": "2.9-bwr", "key": GOOD_KEY},
                {"label_id": "A1", "model": "2.9-bwr", "key": GOOD_KEY},
                {"label_id": "A2", "model": "no-such-model", "key": GOOD_KEY},
                {"label_id": "A3", "model": "2.9-bwr", "key": "zz"},
                {"label_id": "A4", "model": "2.9-bwr", "key": "11"},
                "A5",
            ],
        }
    )
    with pytest.raises(ProvisioningRejectedError) as raised:
        parse_provisioning(text)
    lines = [problem["line"] for problem in raised.value.problems]
    assert lines == [2, 3, 4, 5, 6]
    assert "appears twice" in str(raised.value.problems[0]["reason"])
    assert "not hexadecimal" in str(raised.value.problems[2]["reason"])


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"store": "", "gateway": "g", "labels": []}',
        '{"store": "S", "gateway": "g"}',
    ],
)
def test_a_file_of_the_wrong_shape_is_refused(text: str) -> None:
    with pytest.raises(ProvisioningRejectedError):
        parse_provisioning(text)


def test_the_controller_and_the_simulator_refuse_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "gw1.json"
    bad = {"store": "S01", "gateway": "gw1", "labels": [{"label_id": "A1", "model": "2.9-bwr"}]}
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ImportRejectedError) as at_controller:
        controller_parse(path.read_text(encoding="utf-8"))
    with pytest.raises(ProvisioningRejectedError) as at_simulator:
        read_provisioning(path)
    assert at_controller.value.problems == at_simulator.value.problems
    assert at_controller.value.message == at_simulator.value.message


def test_the_simulator_reads_the_file_it_wrote(tmp_path: Path) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=2)
    write_provisioning(tmp_path / "gw1.json", fleet, store="S01", gateway="gw1")
    assert read_provisioning(tmp_path / "gw1.json") == fleet
    assert all(isinstance(p, LabelProvision) for p in fleet)


def test_a_provision_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        LabelProvision(label_id="A1", model_id="2.9-bwr", key=b"\x01")
