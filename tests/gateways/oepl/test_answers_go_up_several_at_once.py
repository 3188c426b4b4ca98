"""The store gateway keeps several messages on their way to its broker at once, over a link
with a round trip (a `DelayedLink`, as a store's WAN link to its controller's broker),
and still loses none, sends them in their order, and keeps each label's words in theirs.

Before, it sent one message and waited for the broker's acknowledgement before the next:
one per round trip, about 20 a second over a 50 ms link, fewer than a store of a thousand
tags checking in every 40 s makes, so the answers queued behind reached the controller
after its answer timeout and their frames went again. What the wire carries is read off
the link (`MqttWire`): how many PUBLISHes reached the broker before the first PUBACK
reached the gateway.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from esl.bench._delayed_link import DelayedLink, Direction
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.mqtt.endpoint import BrokerEndpoint, parse_broker_url
from gateways.mqtt.packet_size import DEFAULT_MAX_PACKET_BYTES
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FrameKind,
    FrameRejectedError,
    LabelResponse,
    decode_response,
    generate_label_key,
    peek_header,
)
from gateways.store_gateway.label_stand_in import check_in_report
from gateways.store_gateway.local_state import LabelRecord, LocalState
from gateways.store_gateway.process import open_local_state
from gateways.store_gateway.uplinks import UPLINKS_IN_FLIGHT
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.clock import wall_clock
from tests.support.mqtt_wire import MqttWire
from tests.support.oepl import image_frame, tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import publish_prices
from tests.support.store_gateway import (
    controller_side,
    gateway_under_test,
    signed_word,
    state_with_labels,
    store_gateway,
)
from tests.support.waiting import until

pytestmark = pytest.mark.integration

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _label(number: int) -> LabelRecord:
    address = f"0000BE4C{number:08X}"
    return LabelRecord(address, address, "2.9-bwr", key=generate_label_key())


def _signed(label: LabelRecord, second: int) -> bytes:
    """A signed word of the label (a check-in: an answer's size), one per `second`."""
    signed = check_in_report(label, now=NOON + timedelta(seconds=second))
    assert signed is not None
    return signed


def _label_of(payload: bytes) -> str:
    return peek_header(payload).label_id


def _queued(state: LocalState, answers: list[bytes]) -> LocalState:
    """`state`, with `answers` left unsent by its last run."""
    for answer in answers:
        state.queue_answer(answer, label_id=_label_of(answer))
    return state


def _most_of_one_label_on_their_way(wire: MqttWire) -> int:
    on_their_way: Counter[str] = Counter()
    most = 0
    for kind, payload in wire.events:
        label_id = _label_of(payload)
        on_their_way[label_id] += 1 if kind == "publish" else -1
        most = max(most, on_their_way[label_id])
    return most


async def test_answers_go_up_several_at_once_in_their_order(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path
) -> None:
    answers = [_signed(_label(number), 0) for number in range(1, 41)]
    state = _queued(open_local_state(tmp_path / "gw.sqlite"), answers)
    try:
        async with gateway_under_test(mosquitto, state, radio) as gateway:
            heard, wire = gateway.heard, gateway.wire
            await until(
                lambda: len(heard) >= len(answers) and state.counts() == (0, 0),
                what="every answer heard, and out of the state file",
                timeout_s=60,
            )
    finally:
        state.close()
    assert heard == answers  # each once, in their order
    # Before: 1, the next one sent only once the broker acknowledged it.
    assert wire.published_before_the_first_acknowledgement() > 1, wire.events[:3]
    assert wire.most_on_their_way <= UPLINKS_IN_FLIGHT


async def test_a_gateway_that_loses_power_with_answers_on_their_way_sends_each_again(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path
) -> None:
    """A row leaves the state file only at its own acknowledgement: those the broker had,
    whose acknowledgement never reached the gateway, go again after the power cut (the
    controller takes the copy as a duplicate), and none is lost."""
    answers = [_signed(_label(number), 0) for number in range(1, 41)]
    path = tmp_path / "gw.sqlite"
    state = _queued(open_local_state(path), answers)
    wire = MqttWire()
    async with controller_side(mosquitto) as controller:
        heard = controller.heard
        with DelayedLink(
            mosquitto.host, mosquitto.port, to_server_s=0.05, to_client_s=0.05, observe=wire.observe
        ) as link:
            first = store_gateway(state, radio, BrokerEndpoint(link.host, link.port))
            await first.start()  # connected; it sends nothing before the next await
            # From now on the broker's acknowledgements never reach the gateway.
            link.hold(Direction.TO_CLIENT)
            try:
                await until(
                    lambda: len(wire.on_their_way()) >= 5,
                    what="several answers at the broker, unacknowledged to the gateway",
                    timeout_s=30,
                )
            finally:
                await first.crash()
            on_their_way = wire.on_their_way()
            state.close()

        reopened = open_local_state(path)
        # None was acknowledged to the gateway: every one is kept, in its order.
        assert [payload for _, payload in reopened.answers()] == answers
        second = store_gateway(reopened, radio, parse_broker_url(mosquitto.url))
        await second.start()
        try:
            await until(
                lambda: (
                    set(heard) == set(answers)
                    and all(heard.count(payload) >= 2 for payload in on_their_way)
                    and reopened.counts() == (0, 0)
                ),
                what="every answer heard, those on their way at the power cut again",
                timeout_s=60,
            )
        finally:
            await second.stop()
            reopened.close()
    assert len(on_their_way) >= 5


async def test_a_labels_check_in_goes_after_its_answers_with_others_on_their_way(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path
) -> None:
    """Each label's words reach the controller in their order, and a label has one on its
    way at a time: sent again after a dropped link, an older word of a label behind its
    newer one would read as older than it (a check-in older than an answer makes the
    controller forget what the label shows and send its image again in full)."""
    labels = [_label(number) for number in range(1, 13)]
    words = {label.label_id: [_signed(label, s) for s in (1, 2, 3)] for label in labels}
    state = _queued(
        open_local_state(tmp_path / "gw.sqlite"),
        [answer for first, second, _ in words.values() for answer in (first, second)],
    )
    for label_id, (_, _, check_in) in words.items():
        state.queue_check_in(label_id, check_in)
    try:
        async with gateway_under_test(mosquitto, state, radio) as gateway:
            heard, wire = gateway.heard, gateway.wire
            await until(
                lambda: (
                    len(heard) >= 3 * len(labels)
                    and state.counts() == (0, 0)
                    and not state.check_ins()
                ),
                what="every answer and check-in heard, and out of the state file",
                timeout_s=60,
            )
    finally:
        state.close()
    assert Counter(heard) == Counter(p for each in words.values() for p in each)
    for label_id, said in words.items():
        assert [p for p in heard if _label_of(p) == label_id] == said, label_id
    assert wire.most_on_their_way > 1  # before: 1
    assert _most_of_one_label_on_their_way(wire) == 1


async def test_a_check_in_made_while_its_older_one_is_on_its_way_still_goes(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path
) -> None:
    """The older one's acknowledgement takes out of the state file that one only."""
    mac = tag_mac(1)  # checks in at the emulated AP all the time
    key = generate_label_key()
    state = state_with_labels(tmp_path / "gw.sqlite", {mac: key})

    def waiting_in_the_state() -> bytes | None:
        return dict(state.check_ins()).get(mac)

    try:
        # Each acknowledgement takes 1.5 s back: the AP hears the tag anew every second.
        async with gateway_under_test(
            mosquitto, state, radio, to_client_s=1.5, health_every_s=0.1
        ) as gateway:
            heard, wire = gateway.heard, gateway.wire
            await until(
                lambda: bool(wire.on_their_way()),
                what="a check-in at the broker, unacknowledged to the gateway",
                timeout_s=30,
            )
            (older,) = wire.on_their_way()
            await until(
                lambda: waiting_in_the_state() not in (None, older),
                what="a newer check-in made while the older one is on its way",
                timeout_s=30,
            )
            signed_at = decode_response(older, key=key).label_time

            def newer_heard() -> list[bytes]:
                # Each poll's replaces the one waiting: the one that goes is the newest.
                return [p for p in heard if decode_response(p, key=key).label_time > signed_at]

            await until(newer_heard, what="a newer check-in heard", timeout_s=30)
    finally:
        state.close()
    newer = newer_heard()[0]
    assert heard.index(older) < heard.index(newer)
    assert decode_response(newer, key=key).kind is FrameKind.CHECK_IN
    assert _most_of_one_label_on_their_way(wire) == 1


async def test_a_check_in_waiting_when_its_labels_answer_is_signed_goes_signed_after_it(
    mosquitto: MosquittoProcess, served_ap: ServedAccessPoint, radio: OeplRadio, tmp_path: Path
) -> None:
    """A tag's check-in made while its previous answer is still on its way (the broker
    has not acknowledged it: the check-in waits behind it) is signed again when the tag's
    next answer is signed, and goes after that answer. Sent as it was, it would reach the
    controller after the answer with the sequence and the image before it: read as older
    than the answer, it makes the controller forget what the tag shows and send its image
    again in full. The tag goes silent once it took the second image, so no later health
    poll makes a newer check-in that would hide the old one."""
    mac = tag_mac(1)  # checks in at the emulated AP all the time
    key = generate_label_key()
    tag = served_ap.ap.tags[mac]
    state = state_with_labels(tmp_path / "gw.sqlite", {mac: key})

    def waiting_check_in() -> LabelResponse | None:
        waiting = dict(state.check_ins()).get(mac)
        return None if waiting is None else decode_response(waiting, key=key)

    def after_answer_2() -> list[LabelResponse]:
        words = [r for p in list(heard) if (r := signed_word(p, {mac: key})) is not None]
        answers = [i for i, r in enumerate(words) if r.kind is FrameKind.RESPONSE]
        return words[answers[-1] :] if len(answers) == 2 else []

    try:
        async with gateway_under_test(mosquitto, state, radio, health_every_s=0.1) as gateway:
            heard = gateway.heard

            async def send(sequence: int) -> None:
                frame = image_frame(mac, sequence, key=key, seed=sequence)
                await gateway.controller.send(mac, frame)

            await until(lambda: heard, what="the tag's first check-in heard", timeout_s=30)
            # Until frame 2 is answered, nothing the gateway sends reaches the broker:
            # the answer to frame 1 stays on its way, the check-ins wait behind it.
            # Frames still reach the gateway.
            with gateway.link.held(Direction.TO_SERVER):
                await send(1)
                await until(
                    lambda: (c := waiting_check_in()) is not None and c.sequence == 1,
                    what="a check-in made after frame 1, waiting behind its answer",
                    timeout_s=30,
                )
                taken = tag.update_count

                def silent_once_it_took_frame_2(message: dict[str, object]) -> None:
                    if tag.update_count > taken:
                        tag.checks_in = False

                served_ap.ap.subscribe(silent_once_it_took_frame_2)
                await send(2)
                await until(
                    lambda: state.labels()[mac].last_sequence == 2,
                    what="frame 2 answered",
                    timeout_s=30,
                )
                assert state.counts()[1] == 2, "an answer reached the broker while held"
            await until(
                lambda: len(after_answer_2()) >= 2,
                what="frame 2's answer heard and a check-in after it",
                timeout_s=60,
            )
    finally:
        state.close()
    answer, check_in, *_ = after_answer_2()
    assert (answer.kind, answer.sequence) == (FrameKind.RESPONSE, 2)
    assert check_in.kind is FrameKind.CHECK_IN
    # Sent as it was: the check-in signed before frame 2 (sequence 1, frame 1's image).
    assert check_in.sequence == 2
    assert check_in.displayed_hash == answer.displayed_hash
    assert check_in.label_time >= answer.label_time


async def test_an_answer_too_large_for_the_broker_is_dropped_and_the_others_go(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path
) -> None:
    """Refused at once however often tried (the broker would close the link on it, and
    paho send it first again after each reconnection): dropped from the state file, as
    when one went at a time, and the answers behind it go."""
    answers = [_signed(_label(number), 0) for number in range(1, 11)]
    too_large = answers[3] + bytes(DEFAULT_MAX_PACKET_BYTES)
    state = _queued(open_local_state(tmp_path / "gw.sqlite"), answers[:3])
    state.queue_answer(too_large, label_id=_label_of(answers[3]))
    _queued(state, answers[3:])
    try:
        async with gateway_under_test(mosquitto, state, radio) as gateway:
            heard = gateway.heard
            await until(
                lambda: len(heard) >= len(answers) and state.counts() == (0, 0),
                what="every answer heard but the one too large, none left in the state file",
                timeout_s=60,
            )
    finally:
        state.close()
    assert heard == answers


async def test_rows_from_before_the_outbox_kept_their_label_go_alone_in_their_order(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path
) -> None:
    """A state file written before the outbox kept each answer's label: such a row may be
    any label's, so it goes with none other on its way, as one at a time did."""
    old_rows = [_signed(_label(number), 0) for number in range(1, 6)]
    newer = [_signed(_label(number), 1) for number in range(1, 21)]
    path = tmp_path / "gw.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB NOT NULL)"
        )
        old.executemany("INSERT INTO outbox (payload) VALUES (?)", [(p,) for p in old_rows])
    old.close()
    state = _queued(open_local_state(path), newer)
    try:
        async with gateway_under_test(mosquitto, state, radio) as gateway:
            heard, wire = gateway.heard, gateway.wire
            await until(
                lambda: len(heard) >= len(old_rows) + len(newer) and state.counts() == (0, 0),
                what="every answer heard, and out of the state file",
                timeout_s=60,
            )
    finally:
        state.close()
    assert heard == [*old_rows, *newer]
    on_their_way: set[bytes] = set()
    for kind, payload in wire.events:
        if kind == "publish":
            assert not (on_their_way and (payload in old_rows or on_their_way & set(old_rows)))
            on_their_way.add(payload)
        else:
            on_their_way.discard(payload)
    assert wire.most_on_their_way > 1  # the newer ones, several at once


@pytest.mark.slow
async def test_the_controller_takes_answers_sent_again_after_a_power_cut_as_duplicates(
    oepl_chain: OeplChain,
) -> None:
    """The whole chain: answers the broker had when the gateway lost power, their
    acknowledgements still on their way back, go again after its restart. The controller
    refuses each copy as a duplicate of the claim it holds: no tag draws its image twice,
    no label's record is forgotten. (The controller sends again the frames it had not
    heard answered when the gateway comes back, as it always does: a restarted gateway may
    have lost them; the gateway answers a frame it took already with its answer again.)"""
    await oepl_chain.import_tags()
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    broker = oepl_chain.broker
    wire = MqttWire()

    def answers_on_their_way() -> list[bytes]:
        on_their_way = []
        for payload in wire.on_their_way():
            try:
                if peek_header(payload).kind is FrameKind.RESPONSE:
                    on_their_way.append(payload)
            except FrameRejectedError:
                continue  # a gateway report
        return on_their_way

    # Frames reach the gateway in 1.5 s, its answers the broker in 50 ms, and the
    # broker's acknowledgements the gateway in 1.5 s: within the controller's 4 s.
    with DelayedLink(
        broker.host, broker.port, to_server_s=0.05, to_client_s=1.5, observe=wire.observe
    ) as link:
        process = await oepl_chain.start_gateway(endpoint=BrokerEndpoint(link.host, link.port))
        await oepl_chain.start_controller()

        def every_frame_answered() -> bool:
            labels = process.state.labels()
            return all(labels[label_id].last_sequence == 1 for label_id in oepl_chain.bindings)

        # The power goes once every frame is carried out and answered (one cut in the
        # middle of a tag's radio work is carried out again at the restart: a second
        # drawing, whatever the broker link did), and answers are on their way.
        await until(
            lambda: every_frame_answered() and len(answers_on_their_way()) >= 2,
            what="every frame answered, answers at the broker unacknowledged to the gateway",
            timeout_s=60,
        )
        await oepl_chain.stop_gateway(crash=True)
        on_their_way_at_the_cut = answers_on_their_way()
    await oepl_chain.start_gateway()
    await oepl_chain.wait_converged(timeout_s=60)
    assert oepl_chain.controller is not None
    counts = oepl_chain.controller.controller.dispatcher.counts
    await until(
        lambda: counts.refused_answers.get("DUPLICATE", 0) >= len(on_their_way_at_the_cut),
        what="each answer sent again refused as a duplicate",
        timeout_s=30,
    )
    tags = [oepl_chain.served.ap.tags[label_id] for label_id in oepl_chain.bindings]
    assert [tag.update_count for tag in tags] == [1] * len(tags), counts  # none drawn again
    assert counts.reconciled == 0, counts  # no label's record forgotten
    assert counts.parked == 0, counts
