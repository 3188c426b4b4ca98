"""A label taken out of the OEPL gateway's label file is no longer served after a restart.

The tag is taken off the shelf (it lies in the back room, still checking in to the AP),
or moved to another store, and the operator takes its entry out of the gateway's label
file and restarts the gateway so it reads the file (docs/gateways.md). The controller
still has the label bound at this gateway until someone retires it there, so a new price
for its product still goes out to it. The gateway's state file kept every label it had
ever been given: after the restart the gateway still delivered the label's images to the
tag and signed them as shown, so the controller recorded the new price as on a shelf
that no longer has that tag (and a tag now in another store took this store's prices).

Real parts: the controller (paho driver) -> Mosquitto -> the store gateway process ->
the emulated AP -> emulated tags.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    LabelFrame,
    LabelProvision,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
    provisioning_json,
)
from gateways.store_gateway.label_stand_in import answer_frame
from gateways.store_gateway.local_state import LocalState
from gateways.store_gateway.process import (
    open_local_state,
    read_gateway_provisioning,
    take_label_file,
)
from rendering.display_models import get_display_model
from tests.support.audit import audit_by_label
from tests.support.clock import wall_clock
from tests.support.oepl import price_planes, tag_mac
from tests.support.oepl_chain import GATEWAY, OeplChain
from tests.support.outbox import outbox_by_label
from tests.support.pipeline import expected_planes, publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration]

GONE = tag_mac(2)
GATEWAY_LOGGERS = ("gateways.store_gateway", "gateways.oepl")


async def test_a_label_taken_out_of_the_label_file_is_forgotten_and_its_frames_refused(
    oepl_chain: OeplChain, caplog: pytest.LogCaptureFixture
) -> None:
    await oepl_chain.import_tags()
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await oepl_chain.start_gateway()
    await oepl_chain.start_controller()
    await oepl_chain.wait_converged()
    ap = oepl_chain.served.ap
    old = ap.tags[GONE].shown_planes()
    sku = oepl_chain.bindings[GONE]
    others = [label_id for label_id, bound in oepl_chain.bindings.items() if bound == sku]
    others.remove(GONE)
    assert others  # the product is on another shelf too

    # The tag leaves the shelf; its entry leaves the label file; the gateway restarts.
    await oepl_chain.stop_gateway()
    document = json.loads(oepl_chain.provisioning.read_text(encoding="utf-8"))
    document["labels"] = [e for e in document["labels"] if e["label_id"] != GONE]
    oepl_chain.provisioning.write_text(json.dumps(document), encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    await oepl_chain.start_gateway()

    def rows() -> list[tuple[int, str, str | None]]:
        return outbox_by_label(oepl_chain.sessions).get(GONE, [])

    answered_before = rows()[-1][0]
    publish_prices(oepl_chain.sessions, {sku: "1.11"}, now=wall_clock())
    await until(
        lambda: any(
            sequence > answered_before and status in ("parked", "acked")
            for sequence, status, _ in rows()[-1:]
        ),
        what=f"the new price for {GONE} answered or parked",
        timeout_s=60,
    )
    with oepl_chain.sessions() as session:
        due = expected_planes(session, label_id=GONE, sku=sku, at=wall_clock())
    assert due != old
    last_sequence, status, why = rows()[-1]
    verdict = audit_by_label(oepl_chain.sessions, wall_clock())[GONE]
    # Nothing is recorded as shown for a label the gateway no longer stands in for, and
    # the tag (off the shelf, still at the AP) is not driven.
    assert (status, verdict.audit_class.value == "match") == ("parked", False), (
        f"{GONE}, out of the gateway's label file, had frame {last_sequence} answered "
        f"{status!r} and audits {verdict.audit_class.value!r}; its tag shows the new "
        f"price: {ap.tags[GONE].shown_planes() == due}"
    )
    assert ap.tags[GONE].shown_planes() == old
    # The update shows the gateway's reason.
    assert why is not None
    assert "not in this gateway's label file" in why, rows()

    # The other labels of the product still get its new price.
    await until(
        lambda: set(oepl_chain.mismatches()) <= {GONE},
        what=f"the new price of {sku} on {others}",
        timeout_s=60,
    )

    # The state file no longer lists it, and the gateway said so once, not per frame.
    await oepl_chain.stop_gateway()
    state = open_local_state(oepl_chain.state_path)
    try:
        assert GONE not in state.labels()
    finally:
        state.close()
    said = [
        record
        for record in caplog.records
        if record.name.startswith(GATEWAY_LOGGERS)
        and record.levelno >= logging.WARNING
        and GONE in record.getMessage()
    ]
    assert len(said) == 1, [record.getMessage() for record in said]
    assert "label file" in said[0].getMessage()


async def test_a_label_put_back_in_the_label_file_still_refuses_the_frames_it_took(
    served_ap: ServedAccessPoint, radio: OeplRadio, tmp_path: Path
) -> None:
    # Forgotten, the label keeps one thing apart: the last sequence it took. Put back in
    # the file (the tag back on its shelf, with its key), it starts from there: a frame
    # it took before, sent again by anyone who recorded it, is a replay, not a new price.
    mac, key = tag_mac(1), generate_label_key()
    state_path, label_file = tmp_path / f"S01-{GATEWAY}.sqlite", tmp_path / "labels.json"
    model = get_display_model("2.9-bwr")
    old = encode_frame(
        LabelFrame(mac, 1, build_image_update(price_planes(seed=80), model_id=model.id)),
        key=key,
    )

    def start(labels: list[LabelProvision]) -> LocalState:
        label_file.write_text(provisioning_json(labels, store="S01", gateway=GATEWAY))
        state = open_local_state(state_path)
        take_label_file(state, read_gateway_provisioning(label_file))
        return state

    async def answer(state: LocalState, frame: bytes) -> ReasonCode:
        outcome = await answer_frame(
            state.labels()[mac],
            frame,
            radio=radio,
            model=(model.width, model.height, model.has_accent),
            now=wall_clock(),
        )
        state.save_label(outcome.label)
        assert outcome.answer is not None
        return decode_response(outcome.answer, key=key).reason

    label = LabelProvision(label_id=mac, model_id=model.id, key=key)
    state = start([label])
    assert await answer(state, old) is ReasonCode.SUCCESS
    state.close()
    start([]).close()  # taken out of the file: forgotten
    state = start([label])  # and back
    try:
        newer = price_planes(seed=81)
        assert await answer(state, old) is ReasonCode.STALE_SEQUENCE
        frame = LabelFrame(mac, 2, build_image_update(newer, model_id=model.id))
        assert await answer(state, encode_frame(frame, key=key)) is ReasonCode.SUCCESS
        assert served_ap.ap.tags[mac].shown_planes() == newer
    finally:
        state.close()
