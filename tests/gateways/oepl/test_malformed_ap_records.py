"""A malformed tag record in the AP's `/get_db` costs that record, with a reason, and
nothing else.

Found by review: one record whose `batteryMv` is not a number (here of a tag the gateway
does not even drive), or one without a `mac`, raised ValueError or KeyError out of the
tag list; the gateway's health task died of it unlogged, so check-ins stopped for every
label, and a tag drawn over through the AP afterwards kept the wrong price while the
controller and the audit said `match` (docs/gateways.md, trust boundary). Now such a
record is `UnreadableRecordError` naming the field and the MAC: left out of the tag list
(logged, the others read), refused when it is the one tag asked for, listed among the
skipped tags of an import; and a health poll that fails is logged and the next one runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from firmware_sim.oepl_ap.tag_types import TAG_TYPES
from gateways.oepl import AccessPointClient, TagType
from gateways.oepl.errors import AccessPointError, UnreadableRecordError
from gateways.oepl.images import jpeg_for
from gateways.oepl.radio import OeplRadio
from gateways.store_gateway.radio import RadioError
from tests.support.audit import audit_by_label
from tests.support.clock import wall_clock
from tests.support.oepl import HW_29_BWR, client_of_an_ap_answering, price_planes, tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration]


@pytest.fixture
async def client(served_ap: ServedAccessPoint) -> AsyncIterator[AccessPointClient]:
    client = AccessPointClient(served_ap.url)
    yield client
    await client.close()


async def test_a_malformed_record_of_another_tag_does_not_stop_drawn_over_detection(
    oepl_chain: OeplChain, caplog: pytest.LogCaptureFixture
) -> None:
    chain = oepl_chain
    await chain.import_tags()  # tag 7 (2.7", no model of ours) is skipped
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await chain.start_gateway()
    await chain.start_controller()
    await chain.wait_converged()

    # The AP lists a tag that is not ours with a battery reading that is not a number.
    chain.served.ap.tags[tag_mac(7)].battery_mv = "n/a"  # type: ignore[assignment]
    await asyncio.sleep(1.5)  # a few health polls (0.5 s)

    victim = tag_mac(2)
    tag = chain.served.ap.tags[victim]
    due = tag.shown_planes()
    forged = price_planes(seed=99)
    tag_type = TagType.from_json(HW_29_BWR, TAG_TYPES[HW_29_BWR])
    async with httpx.AsyncClient(base_url=chain.served.url) as lan:
        uploaded = await lan.post(
            "/imgupload",
            data={"mac": victim, "dither": "0"},
            files={"image": ("x.jpg", jpeg_for(forged, tag_type), "image/jpeg")},
        )
    assert uploaded.status_code == 200
    await until(lambda: tag.shown_planes() == forged, what="forged image taken", timeout_s=10)

    await asyncio.sleep(8)  # 16 health polls
    verdict = audit_by_label(chain.sessions, wall_clock())[victim]
    health = [t for t in chain.process._tasks if t.get_coro().__name__ == "_watch_health"]
    died = [repr(t.exception()) for t in health if t.done()]
    assert tag.shown_planes() == due, (
        f"tag {victim} still shows the forged image; audit says "
        f"{verdict.audit_class.value!r}; the health poll task ended with {died}"
    )
    assert f"tag record {tag_mac(7)}: batteryMv is 'n/a'" in caplog.text


async def test_the_tag_list_leaves_out_an_unreadable_record_and_says_which_and_why(
    served_ap: ServedAccessPoint, client: AccessPointClient
) -> None:
    tags = served_ap.ap.tags
    tags[tag_mac(3)].battery_mv = "n/a"  # type: ignore[assignment]
    tags[tag_mac(5)].mac = ""  # listed without its MAC

    records, unreadable = await client.tags()

    assert sorted(r.mac for r in records) == [tag_mac(n) for n in (1, 2, 4, 6, 7)]
    assert sorted((e.mac, e.fields["field"]) for e in unreadable) == [
        ("", "mac"),
        (tag_mac(3), "batteryMv"),
    ]
    battery = next(e for e in unreadable if e.mac)
    assert battery.reason == f"tag record {tag_mac(3)}: batteryMv is 'n/a'"


async def test_the_one_tag_asked_for_with_an_unreadable_record_is_refused_for_now(
    served_ap: ServedAccessPoint, client: AccessPointClient, radio: OeplRadio
) -> None:
    served_ap.ap.tags[tag_mac(1)].update_count = "lots"  # type: ignore[assignment]

    with pytest.raises(UnreadableRecordError) as unreadable:
        await client.tag(tag_mac(1))
    assert unreadable.value.reason == f"tag record {tag_mac(1)}: updatecount is 'lots'"
    # The gateway signs nothing and may try again: the AP may list the tag well later.
    with pytest.raises(RadioError) as radio_error:
        await radio.ping(tag_mac(1))
    assert not radio_error.value.final
    assert "updatecount is 'lots'" in radio_error.value.reason


async def test_an_import_lists_an_unreadable_record_among_the_skipped_tags(
    oepl_chain: OeplChain,
) -> None:
    oepl_chain.served.ap.tags[tag_mac(4)].temperature = "hot"  # type: ignore[assignment]

    skipped = dict(await oepl_chain.import_tags())

    assert skipped[tag_mac(4)] == f"tag record {tag_mac(4)}: temperature is 'hot'"
    assert tag_mac(7) in skipped  # no display model of ours, as before
    assert tag_mac(1) not in skipped


async def test_an_answer_nested_deeper_than_the_json_decoder_goes_is_not_json() -> None:
    # Not the emulator: an AP gone wrong, answering every request with 200 and this body.
    body = b"[" * 100_000
    async with client_of_an_ap_answering(body) as client:
        with pytest.raises(AccessPointError) as listing:
            await client.tags()
        with pytest.raises(AccessPointError) as one_tag:
            await client.tag(tag_mac(1))
    assert listing.value.fields["reason"] == "/get_db: not JSON"
    assert one_tag.value.fields["reason"] == "/get_db: not JSON"
