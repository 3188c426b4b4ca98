"""An image drawn for a black/white/red panel pushed to a tag whose type at the AP is
black/white/yellow, or black/white, of the same 296 x 128: the driver checked the size
only.

gateways/oepl/models.py: "A tag type maps to a display model only when its size and
colours are exactly a model's ... because an image drawn for the wrong panel is a wrong
price on the shelf." A tag's type changes under a provisioned label when the tag is
reflashed or the AP's tag-type definitions are updated. Before the fix a red design on
the yellow tag (a red price on white, 5.9:1, becomes a yellow one, 1.7:1) was drawn and
the delivery confirmed, so the stand-in signed SUCCESS and the controller recorded the
label as showing its image; on a BW tag the red plane was dropped and the push parked
with "the AP holds another image (a second uploader?)". Now nothing is uploaded, the
driver names both models, and the stand-in signs WRONG_MODEL (the controller parks the
update as `rejected: WRONG_MODEL` at once).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings, TagModelError
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
from gateways.store_gateway.local_state import LabelRecord
from rendering.display_models import get_display_model
from rendering.encoding import Planes, planes_from_image
from rendering.render import render_label
from tests.rendering.label_samples import PROMOTION
from tests.support.clock import wall_clock
from tests.support.oepl import tag_mac

FAST = DriverTimings(poll_s=0.02, confirm_timeout_s=5.0, busy_base_delay_s=0.01)
HW_29_BWY = 0xB4
YELLOW_TAG = "0000025800000B4B"
BW_TAG = tag_mac(6)  # a 2.9" black/white tag in the served AP


def _red_design() -> Planes:
    """A reduced label drawn for 2.9-bwr: its price is red on white (5.9:1); on the
    yellow panel the same plane is a yellow price on white (1.7:1, does not carry text)."""
    return planes_from_image(
        render_label(PROMOTION, model=get_display_model("2.9-bwr")), has_accent=True
    )


@pytest.fixture
async def driver(served_ap: ServedAccessPoint) -> AsyncIterator[AccessPointDriver]:
    served_ap.ap.add_tag(EmulatedTag(mac=YELLOW_TAG, hw_type=HW_29_BWY), now=time.time())
    driver = AccessPointDriver(AccessPointClient(served_ap.url), timings=FAST)
    yield driver
    await driver.close()


@pytest.mark.parametrize(("mac", "tag_model"), [(YELLOW_TAG, "2.9-bwy"), (BW_TAG, "2.9-bw")])
async def test_a_bwr_image_is_refused_by_a_tag_of_another_model_of_its_size(
    served_ap: ServedAccessPoint, driver: AccessPointDriver, mac: str, tag_model: str
) -> None:
    record = await driver.record(mac)
    assert record is not None
    assert (await driver.model_of(record)).model_id == tag_model
    transfers = served_ap.ap.transfers
    with pytest.raises(TagModelError) as refused:
        await driver.push_image(mac, _red_design(), model="2.9-bwr")
    assert str(refused.value.fields["reason"]) == (
        f"the tag is {tag_model} at the AP, the image is for 2.9-bwr"
    )
    assert (refused.value.image_model, refused.value.tag_model) == ("2.9-bwr", tag_model)
    assert served_ap.ap.transfers == transfers  # nothing was uploaded
    assert served_ap.ap.tags[mac].shown_planes() is None  # the tag still shows nothing of ours


async def test_a_tag_type_of_none_of_our_models_is_refused_with_its_reason(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    with pytest.raises(TagModelError, match=r"the tag is none of our models \(.*264x176"):
        await driver.push_image(tag_mac(7), _red_design(), model="2.9-bwr")


async def test_the_stand_in_signs_wrong_model_for_a_yellow_tag_and_draws_nothing(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    key = generate_label_key()
    label = LabelRecord(label_id=YELLOW_TAG, address=YELLOW_TAG, model="2.9-bwr", key=key)
    planes = _red_design()
    frame = LabelFrame(YELLOW_TAG, 1, build_image_update(planes, model_id="2.9-bwr"))
    outcome = await answer_frame(
        label,
        encode_frame(frame, key=key),
        radio=OeplRadio(driver),
        model=(296, 128, True),
        now=wall_clock(),
    )
    assert outcome.answer is not None
    answer = decode_response(outcome.answer, key=key)
    assert answer.reason is ReasonCode.WRONG_MODEL  # parked by the controller as rejected
    assert outcome.label.shown is None  # the gateway does not take it as shown
    assert outcome.label.last_error.endswith(
        "the tag is 2.9-bwy at the AP, the image is for 2.9-bwr"
    )
    assert served_ap.ap.tags[YELLOW_TAG].shown_planes() is None
