"""A tag the AP lists but has not heard from for hours (a stale listing: the
tag roamed to another AP of the store, or died) must not be reported to the controller as
heard now.

docs/gateways.md: "Every 30 s the gateway reads the AP's tag list and sends a signed
check-in (0x82) for each tag heard since"; "A tag the AP has not heard from for
`silent_after_s` ... answers neither a ping nor a flash ... so a dead tag never looks
alive because the gateway answers for it"; "A tag read for the first time since the
gateway started counts as silent for as long as its `lastseen` is behind the newest in the
AP's listing". The controller stamps a check-in's arrival as the label's `last_seen`
(docs/pipeline.md) and takes the gateway it came through as the label's gateway
(gateways.md: "its newest verified answer or check-in arriving via another registered
gateway of its store ... moves it there").

A gateway whose state file does not yet know the label (a new install, a second AP's
provisioning file listing the roamed tag with its key) sends, at its first health poll, a
check-in for every tag the AP lists, however long ago the AP last heard it: the dead tag
looks alive in `esl health`, and a tag that roamed away is moved back to the AP it left.
The gateway's own driver calls the same tag silent (a ping of it is not answered).
"""

from __future__ import annotations

import time
from pathlib import Path

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FrameKind,
    LabelFrame,
    Ping,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import answer_frame
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from tests.support.clock import wall_clock
from tests.support.oepl import FAST_AP, HW_29_BWR, tag_mac

TWO_HOURS = 7200.0
ALIVE, GONE = tag_mac(1), tag_mac(2)


async def test_a_tag_silent_for_two_hours_gets_no_check_in_at_the_first_health_poll(
    tmp_path: Path,
) -> None:
    now = time.time()
    ap = EmulatedAccessPoint(FAST_AP)
    ap.add_tag(EmulatedTag(mac=ALIVE, hw_type=HW_29_BWR), now=now)
    gone = ap.add_tag(EmulatedTag(mac=GONE, hw_type=HW_29_BWR, checks_in=False), now=now)
    gone.last_seen = now - TWO_HOURS  # the AP last heard it two hours ago
    keys = {ALIVE: generate_label_key(), GONE: generate_label_key()}
    state = open_local_state(tmp_path / "gw.sqlite")
    state.add_labels(
        [LabelRecord(label_id=m, address=m, model="2.9-bwr", key=k) for m, k in keys.items()]
    )
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, busy_base_delay_s=0.01)
    async with ServedAccessPoint(ap) as served:
        radio = OeplRadio(AccessPointDriver(AccessPointClient(served.url), timings=timings))
        process = StoreGatewayProcess(
            store="S01",
            gateway="S01-ap2",
            endpoint=BrokerEndpoint("127.0.0.1", 1),  # never started: its queue is looked at
            radio=radio,
            state=state,
        )
        try:
            # The gateway's own view: a ping of the silent tag is not answered.
            ping = await answer_frame(
                state.labels()[GONE],
                encode_frame(LabelFrame(GONE, 1, Ping()), key=keys[GONE]),
                radio=radio,
                model=(296, 128, True),
                now=wall_clock(),
            )
            assert ping.answer is None  # "the AP has not heard it for 7200 s"

            await process._check_health(radio)  # the health poll's one step
            checked_in = {
                label_id
                for label_id, key in keys.items()
                for _, payload in process.state.check_ins()
                if _is_check_in_of(payload, key, label_id)
            }
            assert ALIVE in checked_in
            assert GONE not in checked_in, (
                "signed check-in sent for a tag the AP has not heard for two hours: the "
                "controller records it as seen now (and moves it to this gateway)"
            )
        finally:
            await radio.close()
            state.close()


def _is_check_in_of(payload: bytes, key: bytes, label_id: str) -> bool:
    try:
        response = decode_response(payload, key=key)
    except Exception:  # signed with another label's key
        return False
    return response.kind is FrameKind.CHECK_IN and response.label_id == label_id
