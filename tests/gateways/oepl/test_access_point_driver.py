"""Our AP driver against the emulated AP: inventory, models, pushes confirmed by the
pixels the AP stores, backpressure, and tags that never check in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import (
    AccessPointClient,
    AccessPointDriver,
    DriverTimings,
    TagCommand,
    TagNotListedError,
    TagParkedError,
    TagRefusedError,
)
from gateways.oepl.images import planes_from_stored
from tests.support.oepl import price_planes, tag_mac

FAST = DriverTimings(poll_s=0.02, confirm_timeout_s=5.0, busy_base_delay_s=0.01)


@pytest.fixture
async def driver(served_ap: ServedAccessPoint) -> AsyncIterator[AccessPointDriver]:
    driver = AccessPointDriver(AccessPointClient(served_ap.url), timings=FAST)
    yield driver
    await driver.close()


async def test_inventory_maps_tag_types_to_our_models_and_reports_the_rest(
    driver: AccessPointDriver,
) -> None:
    records = await driver.inventory()
    models = {record.mac: await driver.model_of(record) for record in records}
    assert len(records) == 7
    assert models[tag_mac(1)].model_id == "2.9-bwr"
    assert models[tag_mac(6)].model_id == "2.9-bw"
    unknown = models[tag_mac(7)]
    assert unknown.model_id is None
    assert "no display model is 264x176" in unknown.reason


async def test_a_pushed_image_is_exactly_what_the_tag_shows(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    planes = price_planes(seed=11)
    delivery = await driver.push_image(tag_mac(1), planes, model="2.9-bwr")
    tag = served_ap.ap.tags[tag_mac(1)]
    assert delivery.resent
    assert not delivery.record.pending
    assert tag.shown_planes() == planes
    stored = await driver.client.stored_image(tag_mac(1))
    tag_type = await driver.tag_type(tag.hw_type)
    assert stored is not None
    assert tag_type is not None
    assert planes_from_stored(stored, tag_type) == planes

    # The same image again is success without a second transfer.
    transfers = served_ap.ap.transfers
    again = await driver.push_image(tag_mac(1), planes, model="2.9-bwr")
    assert not again.resent
    assert served_ap.ap.transfers == transfers


async def test_a_black_and_white_tag_gets_its_pixels_too(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    planes = price_planes("2.9-bw", seed=12)
    await driver.push_image(tag_mac(6), planes, model="2.9-bw")
    assert served_ap.ap.tags[tag_mac(6)].shown_planes() == planes


async def test_a_409_storm_is_waited_out_one_upload_at_a_time(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    served_ap.ap.refuse_next_uploads(6)
    images = {tag_mac(n): price_planes(seed=20 + n) for n in range(1, 6)}
    await asyncio.gather(
        *(driver.push_image(mac, planes, model="2.9-bwr") for mac, planes in images.items())
    )
    assert driver.busy_answers >= 6
    assert {mac: served_ap.ap.tags[mac].shown_planes() for mac in images} == images


async def test_a_tag_that_never_checks_in_is_parked_with_a_reason(
    served_ap: ServedAccessPoint,
) -> None:
    served_ap.ap.tags[tag_mac(4)].checks_in = False
    impatient = AccessPointDriver(
        AccessPointClient(served_ap.url),
        timings=DriverTimings(poll_s=0.02, confirm_timeout_s=0.5, busy_base_delay_s=0.01),
    )
    try:
        with pytest.raises(TagParkedError) as parked:
            await impatient.push_image(tag_mac(4), price_planes(seed=30), model="2.9-bwr")
    finally:
        await impatient.close()
    assert "never checked in" in str(parked.value.fields["reason"])
    assert served_ap.ap.tags[tag_mac(4)].pending  # still waiting at the AP


async def test_an_unknown_tag_is_not_listed_and_a_wrong_size_refused(
    driver: AccessPointDriver,
) -> None:
    with pytest.raises(TagNotListedError, match="not in the AP's tag database"):
        await driver.push_image("FFFFFFFFFFFFFFFF", price_planes(seed=1), model="2.9-bwr")
    with pytest.raises(TagRefusedError, match="not its size"):
        await driver.push_image(tag_mac(1), price_planes("4.2-bwr", seed=1), model="2.9-bwr")


async def test_led_flash_and_commands_reach_the_tag_at_its_check_in(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    await driver.flash_led(tag_mac(2), "0" * 22 + "ff")
    await driver.command(tag_mac(2), TagCommand.REFRESH)
    with pytest.raises(TagRefusedError):
        await driver.flash_led(tag_mac(2), "not hex")
    tag = served_ap.ap.tags[tag_mac(2)]
    async with asyncio.timeout(5):
        while "refresh" not in tag.delivered:  # the later command: both have arrived
            await asyncio.sleep(0.01)
    assert tag.delivered == ["led:" + "0" * 22 + "ff", "refresh"]


async def test_a_redraw_makes_the_tag_take_the_image_it_holds_again(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    planes = price_planes(seed=21)
    await driver.push_image(tag_mac(2), planes, model="2.9-bwr")
    tag = served_ap.ap.tags[tag_mac(2)]
    updates = tag.update_count
    delivery = await driver.redraw(tag_mac(2), planes, model="2.9-bwr")
    assert delivery.resent
    assert tag.delivered == ["refresh"]  # /tag_cmd refresh, heard at its check-in
    assert tag.update_count == updates + 1  # and the image went over the radio again
    assert tag.shown_planes() == planes


async def test_a_redraw_is_not_confirmed_until_the_tag_drew_its_image_again(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    """The AP holds the image all along: its record settling (someone cleared the queued
    refresh at the AP, or an AP that never flags it) is no proof that the tag drew."""
    planes = price_planes(seed=23)
    await driver.push_image(tag_mac(2), planes, model="2.9-bwr")
    tag = served_ap.ap.tags[tag_mac(2)]
    tag.checks_in = False  # it will not hear the refresh in time
    impatient = AccessPointDriver(
        AccessPointClient(served_ap.url),
        timings=DriverTimings(poll_s=0.02, confirm_timeout_s=0.5, busy_base_delay_s=0.01),
    )
    try:
        redraw = asyncio.create_task(impatient.redraw(tag_mac(2), planes, model="2.9-bwr"))
        async with asyncio.timeout(5):
            while "refresh" not in tag.commands:
                await asyncio.sleep(0.01)
        served_ap.ap.tag_command(tag_mac(2), "clear", now=tag.last_seen)
        assert not tag.pending
        with pytest.raises(TagParkedError) as parked:
            await redraw
    finally:
        await impatient.close()
    assert "did not draw its image again" in str(parked.value.fields["reason"])
    assert tag.delivered == []


async def test_a_redraw_of_an_image_the_ap_does_not_hold_pushes_it(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    planes = price_planes(seed=22)
    delivery = await driver.redraw(tag_mac(3), planes, model="2.9-bwr")
    tag = served_ap.ap.tags[tag_mac(3)]
    assert delivery.resent
    assert tag.delivered == []
    assert tag.shown_planes() == planes
