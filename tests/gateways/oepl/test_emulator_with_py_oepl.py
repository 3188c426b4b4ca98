"""The emulated AP is faithful enough for a client we did not write: py-oepl (PyPI,
Apache-2.0), unmodified, through its public API."""

from __future__ import annotations

import numpy as np
import pytest
from oepl import (
    Color,
    LEDPattern,
    LEDSegment,
    OEPLClient,
    OEPLResponseError,
    TagCommand,
)

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl.radio import led_pattern
from gateways.protocol import LedColour, LedPattern
from rendering.display_models import get_display_model
from rendering.encoding import image_from_planes
from tests.support.oepl import HW_27_BWR, HW_29_BWR, price_planes, tag_mac
from tests.support.waiting import until


def _host(served: ServedAccessPoint) -> str:
    return served.url.removeprefix("http://")


async def test_py_oepl_pages_through_the_tag_database(served_ap: ServedAccessPoint) -> None:
    async with OEPLClient(_host(served_ap)) as client:
        tags = await client.get_tags()
        one = await client.get_tag(tag_mac(2))
        missing = await client.get_tag("FFFFFFFFFFFFFFFF")
    # Seven tags at three per page: three pages, joined by `continu`.
    assert sorted(tag.mac for tag in tags) == sorted(served_ap.ap.tags)
    assert one is not None
    assert one.hw_type == HW_29_BWR
    assert one.battery_mv == 2950
    assert missing is None


async def test_py_oepl_reads_our_tag_types_and_misses_unknown_ones(
    served_ap: ServedAccessPoint,
) -> None:
    async with OEPLClient(_host(served_ap)) as client:
        bwr = await client.get_tag_type(HW_29_BWR)
        odd = await client.get_tag_type(HW_27_BWR)
        absent = await client.get_tag_type(0x42)
    assert bwr is not None
    assert (bwr.width, bwr.height, bwr.accent_color) == (296, 128, "red")
    assert bwr.has_led
    assert odd is not None
    assert (odd.width, odd.height) == (264, 176)
    assert absent is None


async def test_py_oepl_upload_waits_for_the_tag_and_reads_back_exactly_its_pixels(
    served_ap: ServedAccessPoint,
) -> None:
    planes = price_planes(seed=3)
    model = get_display_model("2.9-bwr")
    sent = image_from_planes(planes, palette=model.palette).convert("RGB")
    mac = tag_mac(1)
    async with OEPLClient(_host(served_ap)) as client:
        await until(lambda: client.connected, what="py-oepl connected", timeout_s=10)
        await client.get_tag(mac)  # the hash to compare with: "changed and not pending"
        await client.upload_image(mac, sent, dither=0, wait=True, wait_timeout=10)
        tag = await client.get_tag(mac)
        shown = await client.get_image(mac)
    assert tag is not None
    assert tag.pending == 0
    assert tag.update_count == 1
    assert shown is not None
    # The AP's colour table says red is (255, 0, 0); ours draws it (204, 0, 0).
    expected = image_from_planes(planes, palette=((255,) * 3, (0,) * 3, (255, 0, 0)))
    assert np.array_equal(np.asarray(shown.convert("RGB")), np.asarray(expected.convert("RGB")))
    assert served_ap.ap.tags[mac].shown_planes() == planes


async def test_the_same_image_twice_is_not_sent_again(served_ap: ServedAccessPoint) -> None:
    image = image_from_planes(price_planes(seed=4)).convert("RGB")
    mac = tag_mac(2)
    async with OEPLClient(_host(served_ap)) as client:
        await until(lambda: client.connected, what="py-oepl connected", timeout_s=10)
        await client.get_tag(mac)
        await client.upload_image(mac, image, dither=0, wait=True, wait_timeout=10)
        before = await client.get_tag(mac)
        await client.upload_image(mac, image, dither=0)
        after = await client.get_tag(mac)
    assert before is not None
    assert after is not None
    assert (after.hash, after.pending, after.update_count) == (before.hash, 0, 1)
    assert any("same as current image" in line for line in served_ap.ap.log)


async def test_a_busy_ap_answers_409_come_back_later(served_ap: ServedAccessPoint) -> None:
    served_ap.ap.refuse_next_uploads(1)
    image = image_from_planes(price_planes(seed=5)).convert("RGB")
    async with OEPLClient(_host(served_ap)) as client:
        with pytest.raises(OEPLResponseError) as refused:
            await client.upload_image(tag_mac(3), image, dither=0)
        await client.upload_image(tag_mac(3), image, dither=0)  # later it is taken
    assert (refused.value.status, refused.value.body) == (409, "Come back later")
    assert served_ap.ap.tags[tag_mac(3)].stored_raw is not None  # the retry was stored


async def test_save_cfg_fails_with_200_and_an_error_body(served_ap: ServedAccessPoint) -> None:
    async with OEPLClient(_host(served_ap)) as client:
        await client.set_alias(tag_mac(4), "shelf 4")
        with pytest.raises(OEPLResponseError) as failed:
            await client.set_alias("FFFFFFFFFFFFFFFF", "nobody")
    assert failed.value.status == 200
    assert "mac not found" in failed.value.body
    assert served_ap.ap.tags[tag_mac(4)].alias == "shelf 4"


async def test_led_patterns_and_commands_ride_on_the_next_check_in(
    served_ap: ServedAccessPoint,
) -> None:
    mac = tag_mac(5)
    async with OEPLClient(_host(served_ap)) as client:
        await client.set_led(mac, LEDPattern.single(Color(255, 0, 0)))
        await client.send_tag_cmd(mac, TagCommand.REBOOT)
    tag = served_ap.ap.tags[mac]
    await until(lambda: "reboot" in tag.delivered, what="the reboot delivered", timeout_s=10)
    assert any(command.startswith("led:") for command in tag.delivered)


def test_our_led_pattern_is_the_one_py_oepl_builds() -> None:
    """Our LED pattern bytes, checked against a third party's encoder of the AP's struct."""
    ours = led_pattern(colour=LedColour.RED, pattern=LedPattern.BLINK, seconds=10)
    segment = LEDSegment(Color(255, 0, 0), flash_speed=0.4, flash_count=3, delay=0.5)
    theirs = LEDPattern(segments=[segment] * 3, repeats=5, brightness=2).encode()
    assert ours == theirs
