"""A tag record whose number field is out of the range the AP can send costs that record
only, like any record that cannot be read.

Found by review: a record whose `lastseen` is a 401-digit integer (`json.loads` and `int`
take it) was read as a tag. The driver's arithmetic on it (how long ago the AP heard the
tag) overflowed, the watcher every waiting push is confirmed by died of it, and while the
AP listed that one record every push on the AP failed: the store gateway restarted and
refused each frame after three tries, pings and LED flashes failed, and the health poll
logged an error at every poll. Now each number field is held to what the AP's record can
hold (a timestamp is 32 bits of seconds, a battery reading 16 bits of millivolts, an
RSSI one signed byte, ...) and the hash to its 32 hex digits: anything else is
`UnreadableRecordError` naming the field and the value (shortened), left out of the
listing, and the other tags are driven as usual.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings, TagRecord
from gateways.oepl.errors import UnreadableRecordError
from gateways.oepl.radio import OeplRadio
from gateways.store_gateway.radio import RadioError
from tests.support.oepl import FAST_AP, HW_29_BWR, client_of_an_ap_answering, price_planes, tag_mac

TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, busy_base_delay_s=0.01)
_WITHIN_S = 20
ODD = tag_mac(9)  # the tag whose record is out of range
PAST_ANY_CLOCK = 10**400  # a JSON integer the client reads, too large for a float
AP = "http://ap.test"


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time()
    for number in (1, 2):
        ap.add_tag(EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR), now=now)
    odd = ap.add_tag(EmulatedTag(mac=ODD, hw_type=HW_29_BWR, checks_in=False), now=now)
    odd.last_seen = PAST_ANY_CLOCK
    async with ServedAccessPoint(ap) as served:
        yield served


@pytest.fixture
async def driver(served_ap: ServedAccessPoint) -> AsyncIterator[AccessPointDriver]:
    driver = AccessPointDriver(AccessPointClient(served_ap.url), timings=TIMINGS)
    yield driver
    await driver.close()


async def test_the_other_tags_are_driven_while_the_ap_lists_an_out_of_range_record(
    served_ap: ServedAccessPoint, driver: AccessPointDriver
) -> None:
    async with asyncio.timeout(_WITHIN_S):
        pushed = await asyncio.gather(
            *(driver.push_image(tag_mac(n), price_planes(seed=n), model="2.9-bwr") for n in (1, 2)),
            return_exceptions=True,
        )
        heard = await driver.heard(tag_mac(1))

    assert [type(delivery).__name__ for delivery in pushed] == ["Delivery", "Delivery"], pushed
    for number in (1, 2):
        assert served_ap.ap.tags[tag_mac(number)].shown_planes() == price_planes(seed=number)
    assert heard is not None
    assert heard.silent_s < TIMINGS.silent_after_s
    odd = driver.unreadable[ODD]
    assert odd.fields["field"] == "lastseen"
    # Named, and shortened: 401 digits would bury the log line.
    assert odd.reason.startswith(f"tag record {ODD}: lastseen is 1000000000")
    assert "(401 digits)" in odd.reason, odd.reason
    assert len(odd.reason) < 120, odd.reason


async def test_the_tag_with_the_out_of_range_record_is_refused_for_now(
    driver: AccessPointDriver,
) -> None:
    radio = OeplRadio(driver)
    async with asyncio.timeout(_WITHIN_S):
        with pytest.raises(RadioError) as pinged:
            await radio.ping(ODD)
        ponged = await radio.ping(tag_mac(2))
    # The gateway signs nothing for it and may try again: the AP may list it well later.
    assert not pinged.value.final
    assert "lastseen is 1000000000" in pinged.value.reason
    assert ponged.battery_mv > 0


# Each number field with the lowest and highest value the AP's record can hold.
_RANGES = [
    ("hwType", 0, 0xFFFF),  # one byte at the AP; type files with four hex digits are read too
    ("pending", 0, 0xFFFF),  # a count of queued images (a flag on older APs)
    ("lastseen", 0, 2**32 - 1),  # seconds since the epoch, 32 bits
    ("nextcheckin", 0, 2**32 - 1),
    ("batteryMv", 0, 0xFFFF),
    ("RSSI", -128, 127),
    ("LQI", 0, 255),
    ("temperature", -128, 127),
    ("updatecount", 0, 2**32 - 1),
    ("updatelast", 0, 2**32 - 1),
]


@pytest.mark.parametrize(("name", "lowest", "highest"), _RANGES)
def test_a_number_field_holds_what_the_ap_can_send_and_nothing_past_it(
    name: str, lowest: int, highest: int
) -> None:
    for value in (lowest, highest, str(highest)):
        TagRecord.from_json({"mac": ODD, name: value}, ap=AP)
    for value in (lowest - 1, highest + 1, str(highest + 1), PAST_ANY_CLOCK, -PAST_ANY_CLOCK):
        with pytest.raises(UnreadableRecordError) as refused:
            TagRecord.from_json({"mac": ODD, name: value}, ap=AP)
        assert refused.value.fields["field"] == name
        assert refused.value.mac == ODD


def test_the_hash_is_the_32_hex_digits_of_an_md5_or_absent() -> None:
    digest = "0123456789abcdef0123456789ABCDEF"
    assert TagRecord.from_json({"mac": ODD, "hash": digest}, ap=AP).hash == digest
    assert TagRecord.from_json({"mac": ODD}, ap=AP).hash == ""
    for value in ("0" * 31, "0" * 33, "z" * 32, 12345, "x" * 10_000):
        with pytest.raises(UnreadableRecordError) as refused:
            TagRecord.from_json({"mac": ODD, "hash": value}, ap=AP)
        assert refused.value.fields["field"] == "hash"
        assert len(refused.value.reason) < 120


async def test_a_number_longer_than_python_reads_costs_its_record_not_the_listing() -> None:
    # Not the emulator (its JSON encoder writes no such number): an AP gone wrong, whose
    # listing holds one record with a `lastseen` of 5,000 digits, past the 4,300 Python
    # reads. Before, the whole listing was "not JSON", every tag of the AP with it.
    records = [
        {"mac": tag_mac(1), "lastseen": 1_765_000_000, "batteryMv": 2950},
        {"mac": ODD, "lastseen": 1_765_000_000},
    ]
    body = json.dumps({"tags": records}).replace("1765000000}", "9" * 5000 + "}").encode()
    async with client_of_an_ap_answering(body) as client:
        read, unreadable = await client.tags()
    assert [(r.mac, r.battery_mv) for r in read] == [(tag_mac(1), 2950)]
    assert [(e.mac, e.fields["field"]) for e in unreadable] == [(ODD, "lastseen")]
    assert len(unreadable[0].reason) < 120, unreadable[0].reason
