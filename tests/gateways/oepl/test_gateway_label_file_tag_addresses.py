"""The OEPL gateway's label file names each tag by its address, read in one normal form (16
uppercase hex digits, as the AP lists it): the health poll finds a label by it. An address
that is no tag address, or two labels naming one tag, refuse the file before anything is
written; and a label the AP does not list for several polls is said once in the log, not
silently left without check-ins and drawn-over checks."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.pipeline.oepl_tags import write_gateway_provisioning
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl.radio import OeplRadio
from gateways.protocol import LabelProvision, generate_label_key
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import (
    UNHEARD_POLLS,
    StoreGatewayProcess,
    open_local_state,
    parse_gateway_provisioning,
)
from tests.support.oepl import tag_mac


def _label_file(path: Path, entries: list[dict[str, str]]) -> Path:
    """A gateway label file of `entries` (label_id, address if any), each its own key."""
    provisions = [
        LabelProvision(label_id=e["label_id"], model_id="2.9-bwr", key=generate_label_key())
        for e in entries
    ]
    write_gateway_provisioning(path, provisions, store="S01", gateway="S01-ap1")
    document = json.loads(path.read_text())
    for entry, written in zip(entries, document["labels"], strict=True):
        written.pop("address")
        if "address" in entry:
            written["address"] = entry["address"]
    path.write_text(json.dumps(document))
    return path


def _start_gateway(labels: Path, state_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["gateway", "oepl", "--store", "S01", "--gateway", "S01-ap1",
         "--ap", "http://127.0.0.1:9", "--broker", "mqtt://S01.S01-ap1:pw@127.0.0.1:9",
         "--provisioning", str(labels), "--state-dir", str(state_dir)],
    )  # fmt: skip
    return result.exit_code, result.output


def test_addresses_in_any_case_or_with_separators_are_read_as_the_ap_lists_the_tag(
    tmp_path: Path,
) -> None:
    path = _label_file(
        tmp_path / "labels.json",
        [
            {"label_id": "shelf-1", "address": "00000258000000ab"},
            {"label_id": "shelf-2", "address": "00:00:02:58:00:00:00:Ac"},
            {"label_id": "00000258000000ad"},  # no address: the label id's
        ],
    )

    records = parse_gateway_provisioning(path.read_text())

    assert [r.address for r in records] == [tag_mac(0xAB), tag_mac(0xAC), tag_mac(0xAD)]
    assert [r.label_id for r in records] == ["shelf-1", "shelf-2", "00000258000000ad"]


def test_a_label_file_with_an_address_that_is_no_tag_address_is_refused_with_why(
    tmp_path: Path,
) -> None:
    path = _label_file(
        tmp_path / "labels.json",
        [
            {"label_id": tag_mac(1)},
            {"label_id": tag_mac(2), "address": "00000258-0000-0g02"},
            {"label_id": "shelf-3"},  # no address, and its id is no tag address
        ],
    )

    code, output = _start_gateway(path, tmp_path / "state")

    assert code == 1, output
    assert "2 of 3 labels are invalid" in output
    assert "label 2: address: '00000258-0000-0g02' is not an OpenEPaperLink tag address" in output
    assert "label 3: label_id: 'shelf-3' is not an OpenEPaperLink tag address" in output
    assert not (tmp_path / "state").exists()  # nothing written


def test_a_label_file_naming_one_tag_for_two_labels_is_refused(tmp_path: Path) -> None:
    path = _label_file(
        tmp_path / "labels.json",
        [
            {"label_id": tag_mac(0xAB)},
            {"label_id": "00000258000000ab"},  # the same tag, its id in lowercase
            {"label_id": "shelf-3", "address": "00:00:02:58:00:00:00:AB"},
        ],
    )

    code, output = _start_gateway(path, tmp_path / "state")

    assert code == 1, output
    assert "2 of 3 labels are invalid" in output
    assert (
        f"label 2: label 00000258000000ab is tag {tag_mac(0xAB)}, as label {tag_mac(0xAB)} "
        "(label 1) is: one tag shows one label" in output
    )
    assert f"label 3: label shelf-3 is tag {tag_mac(0xAB)}" in output
    assert not (tmp_path / "state").exists()


async def test_a_label_the_ap_does_not_list_is_logged_once_not_silently_skipped(
    radio: OeplRadio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = open_local_state(tmp_path / "gw.sqlite")
    key = generate_label_key()
    listed, missing = tag_mac(1), tag_mac(0x99)  # the emulated AP lists tags 1 to 7
    state.add_labels(
        [
            LabelRecord(label_id=mac, address=mac, model="2.9-bwr", key=key)
            for mac in (listed, missing)
        ]
    )
    gateway = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=BrokerEndpoint("127.0.0.1", 1),
        radio=radio,
        state=state,
    )
    try:
        with caplog.at_level(logging.WARNING, logger="gateways.store_gateway.process"):
            for _ in range(UNHEARD_POLLS * 3):
                await gateway._check_health(radio)
    finally:
        state.close()

    said = [r.getMessage() for r in caplog.records if "has not listed" in r.getMessage()]
    assert said == [
        f"label {missing}: the radio has not listed its address {missing} for "
        f"{UNHEARD_POLLS} health polls; no check-ins and no drawn-over checks for it until "
        "it does (a tag gone, on another AP, or another address than the tag's)"
    ]


def test_a_label_kept_with_a_lowercase_address_takes_the_normal_form_and_keeps_its_state(
    tmp_path: Path,
) -> None:
    """A gateway that ran before addresses were read in one normal form kept the address as
    written in its state file: read again, the label takes the AP's spelling."""
    key = generate_label_key()
    state = open_local_state(tmp_path / "gw.sqlite")
    try:
        written = LabelRecord(
            label_id="shelf-1", address="00000258000000ab", model="2.9-bwr", key=key
        )
        state.add_labels([written])
        state.save_label(state.labels()["shelf-1"].evolve(last_sequence=7))
        path = _label_file(
            tmp_path / "labels.json", [{"label_id": "shelf-1", "address": "00000258000000ab"}]
        )

        assert state.add_labels(parse_gateway_provisioning(path.read_text())) == 0

        label = state.labels()["shelf-1"]
        assert (label.address, label.last_sequence) == (tag_mac(0xAB), 7)
    finally:
        state.close()
