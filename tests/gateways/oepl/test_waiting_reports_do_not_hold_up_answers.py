"""A tag's answer is not held up behind the gateway's WAITING reports while its broker
link is slow.

Twenty-one frames are carried at once (twenty tags out of range, one that takes its image
later), the gateway saying of each every health tick that it is waiting for the radio.
The broker then stalls (SIGSTOP: the gateway's publish waits for an acknowledgement that
does not come) for several ticks, the last tag takes its image meanwhile, and the broker
runs again. Before, the gateway queued one report per carried frame each tick in its
outbox, behind which the tag's answer waited: it reached the controller after every
report made during the stall (over a hundred here; sixty frames every 1.5 s in
test_controller_waits_for_a_busy_access_point.py kept the first answers 32 s from the
controller, whose timeout then sent every frame again). Now a frame has at most one report
waiting to go (a newer tick's replaces it) and answers go before any report but those
already on their way to the stalled broker (`UPLINKS_IN_FLIGHT` at most, which it takes in
one burst when it runs again). Which were on their way is read off the gateway's broker
link (a `DelayedLink` that adds no delay, its `MqttWire`): the test checks that only
those, and nothing sent after the stall, reached the controller ahead of the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.protocol import (
    FrameRejectedError,
    GatewayReport,
    decode_gateway_report,
    decode_response,
    generate_label_key,
)
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.oepl import image_frame, tag_mac
from tests.support.store_gateway import (
    TickCountingRadio,
    first_heard,
    gateway_under_test,
    served_tags,
    state_with_labels,
)
from tests.support.waiting import until

pytestmark = pytest.mark.integration

SILENT = 20  # tags out of range: their frames are carried for the whole test
ANSWERING = SILENT + 1  # the tag that takes its image while the broker is stalled
CARRIED = SILENT + 1
STALLED_TICKS = 5
HEALTH_EVERY_S = 0.1


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    async with served_tags(checking_in=0, silent=CARRIED) as served:
        yield served


def _waiting(payloads: list[bytes]) -> list[tuple[bytes, GatewayReport]]:
    """The WAITING reports among `payloads`, each with its bytes."""
    reports = []
    for payload in payloads:
        try:
            report = decode_gateway_report(payload)
        except FrameRejectedError:
            continue  # a signed answer
        if report.waiting:
            reports.append((payload, report))
    return reports


async def test_a_tags_answer_goes_before_the_reports_made_while_the_broker_stalled(
    mosquitto: MosquittoProcess, served_ap: ServedAccessPoint, tmp_path: Path
) -> None:
    keys = {tag_mac(n): generate_label_key() for n in range(1, CARRIED + 1)}
    answering = tag_mac(ANSWERING)
    state = state_with_labels(tmp_path / "state.sqlite", keys)
    radio = TickCountingRadio(served_ap.url)
    try:
        # The link adds no delay: the wire says which the gateway had on their way.
        async with gateway_under_test(
            mosquitto,
            state,
            radio,
            to_server_s=0,
            to_client_s=0,
            health_every_s=HEALTH_EVERY_S,
            report_check_ins=False,
        ) as gateway:
            received = gateway.heard
            for mac, key in keys.items():
                await gateway.controller.send(mac, image_frame(mac, 1, key=key, seed=7))
            await until(
                lambda: {r.label_id for _, r in _waiting(received)} == set(keys),
                what="a WAITING report for every frame",
                timeout_s=60,
            )

            with gateway.broker_stalled() as stall:
                ticks = radio.ticks
                await until(
                    lambda: radio.ticks >= ticks + STALLED_TICKS,
                    what=f"{STALLED_TICKS} health ticks",
                    timeout_s=60,
                )
                served_ap.ap.tags[answering].checks_in = True
                await until(
                    lambda: state.counts()[0] == SILENT,
                    what="the answering tag's frame answered",
                    timeout_s=60,
                )
                stalled_ticks = radio.ticks - ticks

            position = await first_heard(
                received, lambda p: not _waiting([p]), what="the tag's answer"
            )
            answer = decode_response(received[position], key=keys[answering])
            assert answer.sequence == 1
            assert served_ap.ap.tags[answering].update_count == 1

            # Every silent frame reported again after the broker came back: all that was
            # queued during the stall has gone up before those.
            silent = set(keys) - {answering}
            await until(
                lambda: (
                    {r.label_id for _, r in _waiting(received) if r.at >= stall.ended} >= silent
                ),
                what="a report made after the stall for every silent frame",
                timeout_s=120,
            )
    finally:
        await radio.close()
        state.close()
    made_stalled = [p for p, r in _waiting(received) if stall.during(r.at)]
    went_later = [p for p in made_stalled if p not in stall.on_their_way]
    overtook = stall.sent_after(received[:position])
    print(
        f"MEASURED ahead of the answer={position - stall.heard_before_its_end} (on their way "
        f"at the stall {len(stall.on_their_way)}), reports made during the stall in "
        f"all={len(made_stalled)}, of which sent after it={len(went_later)} "
        f"({CARRIED} frames, {stalled_ticks} ticks)"
    )
    # Before: every report of every stalled tick went first (over a hundred); now only
    # those the gateway had on their way to the broker when it stalled.
    assert not overtook, f"{len(overtook)} sent after the stall went ahead of the answer"
    # Before: one per frame per tick; now, of those not on their way, one per frame.
    assert len(went_later) <= CARRIED
