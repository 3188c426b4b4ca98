"""The OEPL gateway says why a tag gave no answer too: a gateway report in place of the
signed answer it cannot give yet (docs/protocol.md, "Gateway reports")."""

from __future__ import annotations

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    LabelFrame,
    ReportFlag,
    build_image_update,
    decode_gateway_report,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import answer_frame
from gateways.store_gateway.local_state import LabelRecord
from tests.support.clock import wall_clock
from tests.support.oepl import price_planes, tag_mac


async def test_a_tag_that_never_checks_in_gets_the_gateways_report_naming_the_frame(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    served_ap.ap.tags[tag_mac(5)].checks_in = False
    key = generate_label_key()
    label = LabelRecord(label_id=tag_mac(5), address=tag_mac(5), model="2.9-bwr", key=key)
    frame = LabelFrame(tag_mac(5), 3, build_image_update(price_planes(seed=45), model_id="2.9-bwr"))
    now = wall_clock()
    outcome = await answer_frame(
        label, encode_frame(frame, key=key), radio=radio, model=(296, 128, True), now=now
    )
    assert outcome.answer is None  # nothing signed: the tag does not hold the image
    assert outcome.report is not None
    report = decode_gateway_report(outcome.report)
    assert (report.label_id, report.sequence, report.flags) == (tag_mac(5), 3, ReportFlag.NONE)
    # The point of the radio's reason, within the report's 48 characters.
    assert report.detail.startswith("never checked in within ")
    assert report.detail in outcome.label.last_error
    assert abs((report.at - now).total_seconds()) < 0.001
