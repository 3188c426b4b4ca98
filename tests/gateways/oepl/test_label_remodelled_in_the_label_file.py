"""A label whose model the operator changed in the OEPL gateway's label file (its tag is
another panel now: reflashed, or the AP's tag-type definitions updated) takes images
drawn for that model after the gateway's restart.

docs/gateways.md, *Setting up a store*: change the `model` of its entry in the
provisioning file, run import-tags again (the controller then draws the label for the
new panel), "then restart the gateway so it reads the file". The gateway's state file
kept every known label with the model it was first registered with: after the restart
every image drawn for the new model was refused `WRONG_MODEL` by the gateway itself,
before the AP saw it, and the tag kept the price from before, for good.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from firmware_sim.oepl_ap.access_point import EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    LabelFrame,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import answer_frame
from gateways.store_gateway.local_state import LocalState
from gateways.store_gateway.process import open_local_state, read_gateway_provisioning
from rendering.display_models import get_display_model
from rendering.encoding import Planes
from tests.support.clock import wall_clock
from tests.support.oepl import HW_29_BWR, price_planes, tag_mac

HW_29_BWY = 0xB4
MAC = tag_mac(1)
KEY = generate_label_key()


def _write_label_file(path: Path, model: str) -> None:
    labels = [{"label_id": MAC, "model": model, "key": KEY.hex()}]
    path.write_text(json.dumps({"store": "S01", "gateway": "S01-ap1", "labels": labels}))


def _start(state_path: Path, label_file: Path) -> LocalState:
    """What `esl gateway oepl` does with its files at start."""
    state = open_local_state(state_path)
    state.add_labels(read_gateway_provisioning(label_file))
    return state


async def _show(
    state: LocalState, sequence: int, planes: Planes, model_id: str, radio: OeplRadio
) -> ReasonCode:
    label = state.labels()[MAC]
    model = get_display_model(label.model)
    frame = LabelFrame(MAC, sequence, build_image_update(planes, model_id=model_id))
    outcome = await answer_frame(
        label,
        encode_frame(frame, key=KEY),
        radio=radio,
        model=(model.width, model.height, model.has_accent),
        now=wall_clock(),
    )
    state.save_label(outcome.label)
    assert outcome.answer is not None
    return decode_response(outcome.answer, key=KEY).reason


async def test_a_label_remodelled_in_the_file_takes_its_new_models_images(
    served_ap: ServedAccessPoint, radio: OeplRadio, tmp_path: Path
) -> None:
    ap = served_ap.ap
    state_path, label_file = tmp_path / "S01-S01-ap1.sqlite", tmp_path / "S01-ap1-labels.json"
    assert ap.tags[MAC].hw_type == HW_29_BWR
    _write_label_file(label_file, "2.9-bwr")
    state = _start(state_path, label_file)
    red = price_planes("2.9-bwr", seed=70)
    assert await _show(state, 1, red, "2.9-bwr", radio) is ReasonCode.SUCCESS
    assert ap.tags[MAC].shown_planes() == red
    state.close()

    # The tag is a 2.9" BWY at the AP now; the operator puts that in the file (and
    # import-tags tells the controller); the gateway restarts.
    ap.tags.pop(MAC)
    ap.add_tag(EmulatedTag(mac=MAC, hw_type=HW_29_BWY), now=time.time())
    _write_label_file(label_file, "2.9-bwy")
    state = _start(state_path, label_file)
    try:
        yellow = price_planes("2.9-bwy", seed=71)
        reason = await _show(state, 2, yellow, "2.9-bwy", radio)
        shown = ap.tags[MAC].shown_planes()
        assert (reason, shown == yellow) == (ReasonCode.SUCCESS, True), (
            f"the label, a 2.9-bwy in the file and at the AP, answered {reason.name} to an "
            f"image drawn for 2.9-bwy (the state kept it as {state.labels()[MAC].model}); "
            f"its tag shows {'nothing' if shown is None else 'another image'}"
        )
    finally:
        state.close()
