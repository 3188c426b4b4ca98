"""What the OEPL gateway's label file says of a known label after an edit is what the
gateway drives after its restart: the tag it names, the model it names.

Labels whose ids are not their tags' MACs (`shelf-1`, with an `address`) may change tags:
a broken tag replaced, or two shelves' tags swapped and the file edited to say so. A tag
may also be another panel now (reflashed, or the AP's tag-type definitions updated):
docs/gateways.md, *Setting up a store*, says to change the `model` of its entry, run
import-tags again, "then restart the gateway so it reads the file". The gateway's state
file kept each known label with the address and model it was first registered with:
after the swap, shelf-1's price went to the tag now on shelf 2 and was signed as shown on
shelf-1, while shelf 1's tag kept shelf 2's old price (and its check-ins said shelf-1
showed the image the other tag took); after the remodel, every image drawn for the new
model was refused `WRONG_MODEL` by the gateway itself, and the tag kept its old price for
good.
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
    LabelResponse,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import answer_frame, check_in_report
from gateways.store_gateway.local_state import LabelRecord, LocalState
from gateways.store_gateway.process import (
    open_local_state,
    read_gateway_provisioning,
    take_label_file,
)
from rendering.display_models import get_display_model
from rendering.encoding import Planes, content_hash
from tests.support.clock import wall_clock
from tests.support.oepl import HW_29_BWR, price_planes, tag_mac

HW_29_BWY = 0xB4
KEYS = {"shelf-1": generate_label_key(), "shelf-2": generate_label_key()}
KEYS[tag_mac(1)] = generate_label_key()


def _write_label_file(path: Path, labels: dict[str, tuple[str, str | None]]) -> None:
    """label id -> (model, address or None: the id is the tag's MAC)."""
    entries = [
        {"label_id": label_id, "model": model, "key": KEYS[label_id].hex()}
        | ({} if address is None else {"address": address})
        for label_id, (model, address) in labels.items()
    ]
    path.write_text(json.dumps({"store": "S01", "gateway": "S01-ap1", "labels": entries}))


def _start(state_path: Path, label_file: Path) -> LocalState:
    """What `esl gateway oepl` does with its files at start."""
    state = open_local_state(state_path)
    take_label_file(state, read_gateway_provisioning(label_file))
    return state


async def _show(
    state: LocalState, label_id: str, sequence: int, planes: Planes, radio: OeplRadio
) -> LabelResponse:
    """The gateway's signed answer to an image drawn for the model the controller has for
    `label_id` (the model of `planes`' label file entry, as import-tags told it)."""
    label = state.labels()[label_id]
    model = get_display_model(label.model)
    frame = LabelFrame(label_id, sequence, build_image_update(planes, model_id=label.model))
    outcome = await answer_frame(
        label,
        encode_frame(frame, key=KEYS[label_id]),
        radio=radio,
        model=(model.width, model.height, model.has_accent),
        now=wall_clock(),
    )
    state.save_label(outcome.label)
    assert outcome.answer is not None
    return decode_response(outcome.answer, key=KEYS[label_id])


def _claims(label: LabelRecord) -> bytes | None:
    report = check_in_report(label, now=wall_clock())
    assert report is not None
    return decode_response(report, key=KEYS[label.label_id]).displayed_hash


async def test_a_label_moved_to_another_tag_gets_its_image_on_that_tag(
    served_ap: ServedAccessPoint, radio: OeplRadio, tmp_path: Path
) -> None:
    ap = served_ap.ap
    state_path, label_file = tmp_path / "S01-S01-ap1.sqlite", tmp_path / "S01-ap1-labels.json"
    _write_label_file(
        label_file, {"shelf-1": ("2.9-bwr", tag_mac(1)), "shelf-2": ("2.9-bwr", tag_mac(2))}
    )
    state = _start(state_path, label_file)
    first, second = price_planes(seed=60), price_planes(seed=61)
    await _show(state, "shelf-1", 1, first, radio)
    await _show(state, "shelf-2", 1, second, radio)
    assert ap.tags[tag_mac(1)].shown_planes() == first
    assert ap.tags[tag_mac(2)].shown_planes() == second
    state.close()

    # The two tags swapped shelves; the file says so; the gateway restarts.
    _write_label_file(
        label_file, {"shelf-1": ("2.9-bwr", tag_mac(2)), "shelf-2": ("2.9-bwr", tag_mac(1))}
    )
    state = _start(state_path, label_file)
    try:
        # Before any delivery to its new tag, shelf-1 claims no image: its tag shows
        # shelf 2's old price, not the image shelf-1's old tag took.
        claimed = _claims(state.labels()["shelf-1"])
        assert claimed != content_hash(first), (
            f"shelf-1's check-in claims the image its old tag {tag_mac(1)} took; its tag "
            f"{tag_mac(2)} shows shelf 2's old price (the state kept it at "
            f"{state.labels()['shelf-1'].address})"
        )

        newer = price_planes(seed=62)
        answer = await _show(state, "shelf-1", 2, newer, radio)
        on_its_tag = ap.tags[tag_mac(2)].shown_planes()
        what = "shelf 2's old price" if on_its_tag == second else "something else"
        assert answer.reason is ReasonCode.SUCCESS
        assert answer.displayed_hash == content_hash(newer)
        assert on_its_tag == newer, (
            f"shelf-1 was acknowledged showing {content_hash(newer).hex()[:8]}, but its tag "
            f"{tag_mac(2)} shows {what}; the image went to {tag_mac(1)}, shelf 2's tag: "
            f"{ap.tags[tag_mac(1)].shown_planes() == newer}"
        )
        assert ap.tags[tag_mac(1)].shown_planes() == first  # shelf-2's tag is untouched
    finally:
        state.close()


async def test_a_label_remodelled_in_the_file_takes_its_new_models_images(
    served_ap: ServedAccessPoint, radio: OeplRadio, tmp_path: Path
) -> None:
    ap, mac = served_ap.ap, tag_mac(1)
    state_path, label_file = tmp_path / "S01-S01-ap1.sqlite", tmp_path / "S01-ap1-labels.json"
    assert ap.tags[mac].hw_type == HW_29_BWR
    _write_label_file(label_file, {mac: ("2.9-bwr", None)})
    state = _start(state_path, label_file)
    red = price_planes("2.9-bwr", seed=70)
    assert (await _show(state, mac, 1, red, radio)).reason is ReasonCode.SUCCESS
    assert ap.tags[mac].shown_planes() == red
    state.close()

    # The tag is a 2.9" BWY at the AP now; the operator puts that in the file (and
    # import-tags tells the controller, which draws for it); the gateway restarts.
    ap.tags.pop(mac)
    ap.add_tag(EmulatedTag(mac=mac, hw_type=HW_29_BWY), now=time.time())
    _write_label_file(label_file, {mac: ("2.9-bwy", None)})
    state = _start(state_path, label_file)
    try:
        yellow = price_planes("2.9-bwy", seed=71)
        reason = (await _show(state, mac, 2, yellow, radio)).reason
        shown = ap.tags[mac].shown_planes()
        assert (reason, shown == yellow) == (ReasonCode.SUCCESS, True), (
            f"the label, a 2.9-bwy in the file and at the AP, answered {reason.name} to an "
            f"image drawn for 2.9-bwy (the state kept it as {state.labels()[mac].model}); "
            f"its tag shows {'nothing' if shown is None else 'another image'}"
        )
    finally:
        state.close()
