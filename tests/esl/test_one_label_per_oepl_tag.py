"""One OpenEPaperLink tag is one label. Its label id is the tag's address, which the AP
takes in either case: registered once by `esl gateway oepl import-tags` as
`00000258000000AB` and again by `esl import provisioning` as `00000258000000ab` (or with
`:` between the bytes), the gateway sent both labels' images to the one tag and recorded
each as shown, so one price audited as a match while no shelf showed it. A second id for a
registered tag, or two in one import, is now refused naming both, and nothing is
registered."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
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
from firmware_sim.fleet import write_provisioning
from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from gateways.protocol import LabelProvision, generate_label_key
from tests.esl.test_provisioning_cli import _labels, store  # noqa: F401  (fixture)
from tests.support.oepl import FAST_AP, HW_29_BWR, access_point_in_thread, tag_mac

TAG = tag_mac(0xAB)  # 00000258000000AB: hex letters
NOW = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def access_point() -> Iterator[str]:
    """An emulated AP listing the one tag, on its own loop in a thread."""
    ap = EmulatedAccessPoint(FAST_AP)
    ap.add_tag(EmulatedTag(mac=TAG, hw_type=HW_29_BWR), now=time.time())
    with access_point_in_thread(ap) as url:
        yield url


def _import_tags(cli: CliRunner, ap: str, tmp_path: Path) -> tuple[int, str]:
    result = cli.invoke(
        app,
        ["gateway", "oepl", "import-tags", "--store", "S01", "--gateway", "S01-ap1", "--ap", ap,
         "--provisioning", str(tmp_path / "S01-ap1-labels.json")],
    )  # fmt: skip
    return result.exit_code, result.output


def _import_provisioning(cli: CliRunner, tmp_path: Path, *label_ids: str) -> tuple[int, str]:
    path = tmp_path / "S01-ap1-provisioning.json"
    provisions = [LabelProvision(i, "2.9-bwr", generate_label_key()) for i in label_ids]
    write_provisioning(path, provisions, store="S01", gateway="S01-ap1")
    result = cli.invoke(app, ["import", "provisioning", str(path), "--json"])
    return result.exit_code, result.stdout


def _label_ids(tmp_path: Path) -> set[str]:
    return {label for label in _labels(tmp_path) if not label.startswith("gateway:")}


def test_a_provisioning_file_naming_an_imported_tag_in_lowercase_is_refused(
    cli: CliRunner, access_point: str, tmp_path: Path
) -> None:
    assert _import_tags(cli, access_point, tmp_path)[0] == 0
    assert _label_ids(tmp_path) == {TAG}

    code, output = _import_provisioning(cli, tmp_path, TAG.lower())

    assert code == 1, output
    refusal = json.loads(output)
    assert refusal["code"] == "conflict"
    assert refusal["label_id"] == TAG.lower()
    assert f"is OpenEPaperLink tag {TAG}, and so is label {TAG}" in refusal["message"]
    assert _label_ids(tmp_path) == {TAG}


def test_import_tags_refuses_a_tag_registered_from_a_file_with_separators(
    cli: CliRunner, access_point: str, tmp_path: Path
) -> None:
    by_hand = "00:00:02:58:00:00:00:ab"
    assert _import_provisioning(cli, tmp_path, by_hand)[0] == 0

    code, output = _import_tags(cli, access_point, tmp_path)

    assert code == 1, output
    assert f"label {TAG} is OpenEPaperLink tag {TAG}, and so is label {by_hand}" in output
    assert _label_ids(tmp_path) == {by_hand}


def test_one_file_naming_one_tag_twice_registers_nothing(cli: CliRunner, tmp_path: Path) -> None:
    code, output = _import_provisioning(cli, tmp_path, "S01-shelf-1", TAG, TAG.lower())

    assert code == 1, output
    assert f"label {TAG.lower()} is OpenEPaperLink tag {TAG}, and so is label {TAG}" in output
    assert _label_ids(tmp_path) == set()


def test_registering_a_second_id_of_a_registered_tag_directly_is_a_conflict(
    engine: Engine,
) -> None:
    """The path the API's tag import and the demo take (no file parsed), on either database:
    the registered ids are compared as tag addresses in SQL. A retired label is sent
    nothing: its tag may be registered again under another spelling."""
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.add(StoreRow(code="S01", name="Oliwa", zone=None))

    def register(label_id: str) -> None:
        provision = LabelProvision(label_id, "2.9-bwr", generate_label_key())
        with sessions.begin() as session:
            register_provisioned_labels(session, [provision], store="S01", gateway="gw1", now=NOW)

    register("S01-shelf-1")
    register("00-00-02-58-00-00-00-ab")
    with pytest.raises(ConflictError, match=f"tag {TAG}, and so is label 00-00-02-58-00-00-00-ab"):
        register(TAG)
    with sessions.begin() as session:
        retired = session.get(LabelRow, "00-00-02-58-00-00-00-ab")
        assert retired is not None
        retired.retired_at = NOW
    register(TAG)
    with sessions() as session:
        assert sorted(session.scalars(select(LabelRow.id))) == [
            "00-00-02-58-00-00-00-ab",
            TAG,
            "S01-shelf-1",
        ]
