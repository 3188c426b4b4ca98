"""A flash of an OEPL tag whose type has no LED (the AP's tag type lists no "led" option)
must not be answered SUCCESS: staff would look for a blinking label that cannot blink,
and the console records the flash as answered."""

from __future__ import annotations

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FlashLed,
    LabelFrame,
    ReasonCode,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.protocol.commands import LedColour, LedPattern
from gateways.store_gateway.label_stand_in import answer_frame
from gateways.store_gateway.local_state import LabelRecord
from tests.support.clock import wall_clock
from tests.support.oepl import tag_mac


async def test_a_flash_of_a_tag_without_an_led_is_not_answered_success(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    mac = tag_mac(6)  # HW_29_BW: the AP's tag type has no "led" option
    tag_type = await radio.driver.tag_type(served_ap.ap.tags[mac].hw_type)
    assert tag_type is not None
    assert not tag_type.has_led
    key = generate_label_key()
    label = LabelRecord(label_id=mac, address=mac, model="2.9-bw", key=key)
    command = FlashLed(colour=LedColour(1), pattern=LedPattern(1), duration_s=30)
    outcome = await answer_frame(
        label,
        encode_frame(LabelFrame(mac, 4, command), key=key),
        radio=radio,
        model=(296, 128, False),
        now=wall_clock(),
    )
    assert outcome.answer is not None
    response = decode_response(outcome.answer, key=key)
    assert response.reason is not ReasonCode.SUCCESS, (
        "the gateway signed SUCCESS for flashing a tag that has no LED; the AP queued "
        f"{served_ap.ap.tags[mac].commands}"
    )
    # Refused as a label refuses an LED it does not have; the console shows the refusal
    # and the reason is kept, and nothing is queued at the AP.
    assert response.reason is ReasonCode.INVALID_PARAMETERS
    assert "no LED" in outcome.label.last_error
    assert served_ap.ap.tags[mac].commands == []
