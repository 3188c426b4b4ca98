"""On the real chain (Mosquitto, the paho driver, the simulated store gateway): a label
reset to factory with its same key (its count back at 0) is handed a captured old frame
that a rogue MQTT client publishes on the store's `down` topic. The label takes it, draws
the old price and signs an acknowledgement saying so, refused as older than the claim
held; the audit must not call the label `match` on the record's word, and the label gets
the due price again (its check-ins and that answer are weighed as older check-ins)."""

from __future__ import annotations

import asyncio

import pytest

from esl.audit.classify import AuditClass
from firmware_sim.label import SimulatedLabel
from gateways.protocol import peek_header
from tests.pipeline.test_replay_and_tampering import FIRST, SECOND, Rogue
from tests.support.audit import audit_by_label
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = pytest.mark.integration


async def test_a_reset_label_given_a_replayed_old_frame_is_not_called_match_and_is_put_right(
    chain: Chain,
) -> None:
    publish_prices(chain.sessions, FIRST, now=wall_clock())
    site = chain.add_store("S01", labels=1)
    captured: list[bytes] = []
    rogue = Rogue(chain, "esl/v1/S01/+/down", captured.append)
    try:
        await chain.start_gateway("S01")
        await chain.start_controller()
        await chain.wait_converged(wall_clock())
        label_id = sorted(site.gateway.labels)[0]
        label = site.gateway.labels[label_id]
        first_hash = label.shown_hash
        old_frames = [p for p in captured if peek_header(p).label_id == label_id]
        assert old_frames
        publish_prices(chain.sessions, SECOND, now=wall_clock())
        await chain.wait_converged(wall_clock())
        assert label.shown_hash != first_hash
        assert (
            audit_by_label(chain.sessions, wall_clock())[label_id].audit_class is AuditClass.MATCH
        )

        # Reset to factory, provisioned again with its same key: count 0, a blank panel.
        reset = SimulatedLabel(
            label_id=label_id, hardware=label.hardware, key=label._key, now=chain.gateway_clock()()
        )
        site.gateway.labels[label_id] = reset
        assert chain.controller is not None
        dispatcher = chain.controller.dispatcher
        refused_before = dispatcher.counts.refused_answers.get("OLDER", 0)
        for frame in old_frames:
            rogue.publish("esl/v1/S01/gwS01/down", frame)
        await until(
            lambda: dispatcher.counts.refused_answers.get("OLDER", 0) > refused_before,
            what="the reset label's acknowledgement of the replayed frame",
            timeout_s=20,
        )
        # Settled: the dispatcher's executor has run the batch holding that answer.
        await asyncio.get_running_loop().run_in_executor(dispatcher.executor, lambda: None)
        # Never `match` while the shelf shows the old price (it may be put right already).
        verdict = audit_by_label(chain.sessions, wall_clock())[label_id]
        shows_old = reset.shown_hash == first_hash
        assert not (shows_old and verdict.audit_class is AuditClass.MATCH)

        await chain.wait_converged(wall_clock())
        assert reset.shown_hash not in (None, first_hash)
        assert (
            audit_by_label(chain.sessions, wall_clock())[label_id].audit_class is AuditClass.MATCH
        )
    finally:
        rogue.close()
