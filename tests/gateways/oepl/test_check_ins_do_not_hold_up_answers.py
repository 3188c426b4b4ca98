"""A tag's answer is not held up behind its neighbours' check-ins while the store gateway's
broker link is slow, and a stalled link does not pile up one check-in per tag per health
poll.

Twenty tags check in all the time (every 50 ms, every health poll hears each of them) and
a twenty-first has a frame carried out for it: it is out of range at first. The broker
then stalls (SIGSTOP: the gateway's publish waits for an acknowledgement that does not
come) for several health polls, the last tag takes its image meanwhile, and the broker
runs again. Before, every poll queued a signed check-in per tag heard in the gateway's
outbox, in line with the answers: the tag's answer reached the controller behind every
check-in made during the stall (one per tag per poll, a hundred here; with hundreds of
tags over a slow link, past the controller's answer timeout, so the frame went again),
and a broker outage grew the outbox by one check-in per tag per poll for as long as it
lasted. Now a tag has at most one check-in waiting to go (a newer poll's replaces it,
keeping its place), answers go first with at most one report after each (but for those
already on their way to the stalled broker, `UPLINKS_IN_FLIGHT` at most, which it takes in
one burst when it runs again), and a tag's check-in never goes ahead of that tag's answer
signed before it. Which were on their way is read off the gateway's broker link (a
`DelayedLink` that adds no delay, its `MqttWire`): the test checks that only those,
and nothing sent after the stall, reached the controller ahead of the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.base import GatewayEvent, TransportStatus, Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import FrameKind, LabelResponse, decode_response, generate_label_key
from gateways.store_gateway.process import StoreGatewayProcess
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.mqtt_harness import events_until
from tests.support.oepl import image_frame, tag_mac
from tests.support.store_gateway import (
    TickCountingRadio,
    first_heard,
    gateway_under_test,
    served_tags,
    signed_word,
    state_with_labels,
    store_gateway,
)
from tests.support.waiting import until

pytestmark = pytest.mark.integration

CHECKING_IN = 20  # tags heard at every health poll
ANSWERING = CHECKING_IN + 1  # the tag that takes its image while the broker is stalled
STALLED_CHECK_INS = 4  # per tag in range
HEALTH_EVERY_S = 0.1


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    async with served_tags(checking_in=CHECKING_IN, silent=1) as served:
        yield served


async def test_a_tags_answer_goes_before_the_check_ins_made_while_the_broker_stalled(
    mosquitto: MosquittoProcess, served_ap: ServedAccessPoint, tmp_path: Path
) -> None:
    keys = {tag_mac(n): generate_label_key() for n in range(1, ANSWERING + 1)}
    answering = tag_mac(ANSWERING)
    checking_in = set(keys) - {answering}
    state = state_with_labels(tmp_path / "state.sqlite", keys)
    radio = TickCountingRadio(served_ap.url)

    def words(payloads: list[bytes], kind: FrameKind) -> list[LabelResponse]:
        return [r for p in payloads if (r := signed_word(p, keys)) is not None and r.kind is kind]

    try:
        # The link adds no delay: the wire says which the gateway had on their way.
        async with gateway_under_test(
            mosquitto, state, radio, to_server_s=0, to_client_s=0, health_every_s=HEALTH_EVERY_S
        ) as gateway:
            received = gateway.heard
            await gateway.controller.send(
                answering, image_frame(answering, 1, key=keys[answering], seed=7)
            )
            await until(
                lambda: {r.label_id for r in words(received, FrameKind.CHECK_IN)} == checking_in,
                what="a check-in from every tag in range",
                timeout_s=60,
            )

            with gateway.broker_stalled() as stall:
                # The AP stamps a check-in in whole seconds: a tag is heard anew (and
                # checked in for) once a second, whatever the poll interval.
                stalled_from = radio.ticks
                heard: set[float] = set()

                def checked_in_for_during_the_stall() -> int:
                    heard.add(state.labels()[tag_mac(1)].last_seen_s)
                    return len(heard) - 1  # the first is from before the stall

                await until(
                    lambda: checked_in_for_during_the_stall() >= STALLED_CHECK_INS,
                    what=f"{STALLED_CHECK_INS} check-ins made for a tag during the stall",
                    timeout_s=60,
                )
                served_ap.ap.tags[answering].checks_in = True
                await until(
                    lambda: state.counts()[0] == 0,
                    what="the answering tag's frame answered",
                    timeout_s=60,
                )
                answered_seen = state.labels()[answering].last_seen_s
                # The answered tag is heard again: its check-in is signed after its answer.
                await until(
                    lambda: state.labels()[answering].last_seen_s > answered_seen,
                    what="a check-in made for the answered tag",
                    timeout_s=60,
                )
                stalled_ticks = radio.ticks - stalled_from

            position = await first_heard(
                received, lambda p: bool(words([p], FrameKind.RESPONSE)), what="the tag's answer"
            )
            answer = decode_response(received[position], key=keys[answering])
            assert (answer.label_id, answer.sequence) == (answering, 1)

            # Every tag's check-in made after the broker came back has arrived: all that
            # was queued during the stall has gone up before those.
            await until(
                lambda: (
                    {
                        r.label_id
                        for r in words(received, FrameKind.CHECK_IN)
                        if r.label_time >= stall.ended
                    }
                    >= set(keys)
                ),
                what="a check-in made after the stall from every tag",
                timeout_s=120,
            )
    finally:
        await radio.close()
        state.close()
    made_stalled = [
        p
        for p in received
        if (r := signed_word(p, keys)) is not None
        and r.kind is FrameKind.CHECK_IN
        and stall.during(r.label_time)
    ]
    went_later = [p for p in made_stalled if p not in stall.on_their_way]
    overtook = stall.sent_after(received[:position])
    print(
        f"MEASURED ahead of the answer={position - stall.heard_before_its_end} (on their way "
        f"at the stall {len(stall.on_their_way)}), check-ins made during the stall in "
        f"all={len(made_stalled)}, of which sent after it={len(went_later)} "
        f"({len(keys)} tags, {stalled_ticks} polls)"
    )
    # Before: every check-in of every stalled poll went first (a hundred and more); now
    # only those the gateway had on their way to the broker when it stalled.
    assert not overtook, f"{len(overtook)} sent after the stall went ahead of the answer"
    # Before: one per tag per poll; now, of those not on their way, one per tag.
    assert len(went_later) <= len(keys)
    # The answered tag's check-ins are signed after its answer and never overtake it:
    # arriving first, the answer would read as older than the check-in.
    ahead = words(received[:position], FrameKind.CHECK_IN)
    assert not [r for r in ahead if r.label_id == answering], (
        "a check-in of the answering tag went ahead of its answer"
    )


@pytest.mark.slow
async def test_a_check_in_made_while_the_broker_is_away_outlives_a_gateway_power_cut(
    mosquitto: MosquittoProcess, served_ap: ServedAccessPoint, tmp_path: Path
) -> None:
    """A tag's check-in waiting to go is kept in the gateway's state file: a tag that
    goes silent after it (its battery flat, out of range) checks in no more, so after a
    power cut only the kept one tells the controller what the tag said last (here its
    battery; a blank or drawn-over panel the same way)."""
    mac, key = tag_mac(1), generate_label_key()
    endpoint = parse_broker_url(mosquitto.url)
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, busy_base_delay_s=0.01)

    def gateway_process() -> StoreGatewayProcess:
        state = state_with_labels(tmp_path / "gw.sqlite", {mac: key})
        radio = OeplRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=timings))
        return store_gateway(state, radio, endpoint, health_every_s=HEALTH_EVERY_S)

    async def close(process: StoreGatewayProcess, *, crash: bool) -> None:
        await (process.crash() if crash else process.stop())
        await process.radio.close()
        process.state.close()

    def check_in_with(battery_mv: int | None) -> Callable[[GatewayEvent], bool]:
        def done(event: GatewayEvent) -> bool:
            if not isinstance(event, Uplink):
                return False
            response = decode_response(event.payload, key=key)
            return response.kind is FrameKind.CHECK_IN and battery_mv in (
                None,
                response.battery_mv,
            )

        return done

    def waiting_battery(process: StoreGatewayProcess) -> int | None:
        waiting = dict(process.state.check_ins()).get(mac)
        return None if waiting is None else decode_response(waiting, key=key).battery_mv

    tag = served_ap.ap.tags[mac]
    async with MqttGateway(
        endpoint, client_id="ctl-check-in-kept", reconnect_delay_s=(0.2, 1)
    ) as controller:
        first = gateway_process()
        await first.start()
        await events_until(controller, check_in_with(None), timeout_s=30)

        await asyncio.to_thread(mosquitto.stop)
        await events_until(controller, lambda e: isinstance(e, TransportStatus) and not e.connected)
        tag.battery_mv = 2_400  # heard by the AP while the broker is away
        await until(
            lambda: waiting_battery(first) == 2_400,
            what="the gateway's check-in with the new battery waiting to go",
            timeout_s=30,
        )
        tag.checks_in = False  # ... and then silent for good
        await close(first, crash=True)  # the gateway loses power

        await asyncio.to_thread(mosquitto.start)
        await events_until(
            controller, lambda e: isinstance(e, TransportStatus) and e.connected, timeout_s=30
        )
        second = gateway_process()
        await second.start()
        try:
            await events_until(controller, check_in_with(2_400), timeout_s=60)
        finally:
            await close(second, crash=False)
