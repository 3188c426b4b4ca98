"""Issue 13, observations 1 and 2, on the real chain: a real Mosquitto, the real paho
driver, firmware_sim store gateways and a rogue MQTT client on the store network.

1. A genuine answer to an older frame, captured on `up` and published again, must not
   make the controller believe the label shows the old content (it would then send
   nothing when the price comes back, and the shelf stays wrong).
2. A forged copy of a pending frame (same label and sequence, wrong MAC) published on
   `down` must not cancel the genuine update: the gateway keeps both, the label takes
   the genuine one, the controller records a security event and parks nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from esl.db.models import (
    LabelAcknowledgementRow,
    LabelRow,
    LabelStateRow,
    OutboxRow,
    SecurityEventRow,
)
from gateways.mqtt.network_thread import stop_network_thread
from gateways.protocol import FrameKind, decode_response, peek_header
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = pytest.mark.integration

FIRST = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
SECOND = {"MLK-1": "2.99", "CHS-1": "7.49", "CFE-1": "54.99"}


class Rogue:
    """An MQTT client on the store network: it hears and publishes what it can."""

    def __init__(self, chain: Chain, topic: str, on_message: Callable[[bytes], None]) -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id="rogue"
        )
        self.client.on_message = lambda _c, _u, message: on_message(bytes(message.payload))
        self.client.connect(chain.broker.host, chain.broker.port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)[1]

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        stop_network_thread(self.client)


async def test_a_replayed_old_acknowledgement_is_refused_and_the_price_coming_back_is_sent(
    chain: Chain,
) -> None:
    publish_prices(chain.sessions, FIRST, now=wall_clock())
    site = chain.add_store("S01", labels=3)
    captured: list[bytes] = []
    rogue = Rogue(chain, "esl/v1/S01/+/up", captured.append)
    try:
        await chain.start_gateway("S01")
        await chain.start_controller()
        await chain.wait_converged(wall_clock())
        label_id = sorted(site.gateway.labels)[0]
        label = site.gateway.labels[label_id]
        first_hash = label.shown_hash
        assert first_hash is not None
        with chain.sessions() as session:
            row = session.get(LabelRow, label_id)
            assert row is not None
            key = row.secret_key
        # The label's own signed acknowledgement of the frame that put FIRST on it.
        old_ack = next(
            payload
            for payload in captured
            if peek_header(payload).label_id == label_id
            and peek_header(payload).kind is FrameKind.RESPONSE
            and (answer := decode_response(payload, key=key)).acked
            and answer.displayed_hash == first_hash
        )

        publish_prices(chain.sessions, SECOND, now=wall_clock())
        await chain.wait_converged(wall_clock())
        second_hash = label.shown_hash
        assert second_hash is not None
        assert second_hash != first_hash

        assert chain.controller is not None
        dispatcher = chain.controller.dispatcher
        # The gateway goes quiet, so the replay is the only answer the controller hears.
        await chain.stop_gateway("S01")
        refused_before = dispatcher.counts.refused_answers.get("OLDER", 0)
        replay_at = wall_clock()
        rogue.publish("esl/v1/S01/gwS01/up", old_ack)
        # Wait for the replay itself to be judged: a late answer the gateway sent before it
        # stopped may be verified first, so the verifier's count alone proves nothing.
        await until(
            lambda: dispatcher.counts.refused_answers.get("OLDER", 0) > refused_before,
            what="the replayed acknowledgement refused",
            timeout_s=15,
        )
        # Settling runs on the dispatcher's one database thread: wait for it to finish.
        await asyncio.get_running_loop().run_in_executor(dispatcher.executor, lambda: None)
        with chain.sessions() as session:
            state = session.get(LabelStateRow, label_id)
            assert state is not None
            assert state.displayed_hash == second_hash.hex()  # what the panel really shows
            claimed_old = session.scalar(
                select(func.count())
                .select_from(LabelAcknowledgementRow)
                .where(
                    LabelAcknowledgementRow.label_id == label_id,
                    LabelAcknowledgementRow.at >= replay_at,
                    LabelAcknowledgementRow.displayed_hash == first_hash.hex(),
                )
            )
            assert claimed_old == 0

        # The price comes back: the label must get it, although it showed it once.
        await chain.start_gateway("S01")
        publish_prices(chain.sessions, FIRST, now=wall_clock())
        await chain.wait_converged(wall_clock())
        assert label.shown_hash == first_hash
    finally:
        rogue.close()


async def test_a_forged_copy_of_a_pending_frame_does_not_cancel_the_genuine_update(
    chain: Chain,
) -> None:
    publish_prices(chain.sessions, FIRST, now=wall_clock())
    # Labels check in every 40 simulated seconds (2 s here): the forged copy arrives at
    # the gateway long before the label asks for its frames.
    chain.add_store("S01", labels=4, check_in_interval_s=40.0)
    await chain.start_gateway("S01")
    await chain.start_controller()
    await chain.wait_converged(wall_clock(), timeout_s=60)

    forged: set[bytes] = set()
    outgoing: list[bytes] = []
    rogue = Rogue(chain, "esl/v1/S01/+/down", outgoing.append)
    try:
        publish_prices(chain.sessions, SECOND, now=wall_clock())
        deadline = time.monotonic() + 90
        copied = 0
        while not (chain.converged(wall_clock()) and chain.open_rows() == 0):
            assert time.monotonic() < deadline, (
                f"not converged: {len(chain.mismatches(wall_clock()))} labels wrong, "
                f"{chain.open_rows()} open rows"
            )
            while outgoing:
                frame = outgoing.pop(0)
                if frame in forged:
                    continue
                # Same label, same sequence, a MAC that cannot verify.
                copy = frame[:-1] + bytes([frame[-1] ^ 0x5A])
                forged.add(copy)
                assert peek_header(frame).kind is FrameKind.COMMAND
                rogue.publish("esl/v1/S01/gwS01/down", copy)
                copied += 1
            await asyncio.sleep(0.02)
        assert copied >= 4
    finally:
        rogue.close()
    with chain.sessions() as session:
        parked = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "parked")
        )
        events = session.scalars(select(SecurityEventRow.kind)).all()
    assert parked == 0
    # Every forged copy the labels received was refused with BAD_MAC and reported.
    assert events
    assert set(events) == {"tampered frame"}
