"""A simulated BLE label's signed refusal is stamped with the label's own clock, as its
every other answer: the controller reads a label's clock from each answer it believes
(docs/pipeline.md, Label clocks), and a refusal stamped with the true time cleared the
error it knew of a label whose clock runs behind, which would then flip a timed price
late. The simulator stands in for a label: it must sign what a label signs."""

from __future__ import annotations

from datetime import timedelta

from gateways.base import Uplink
from gateways.protocol import ReasonCode, build_image_update
from gateways.protocol import decode_response as decode_label_response
from tests.gateways.ble.ble_store import MODEL, key_of, label_id_of, make_store, reference_planes
from tests.rendering.label_samples import PROMOTION

PLANES = reference_planes(PROMOTION)


async def test_a_signed_refusal_carries_the_labels_own_clock() -> None:
    store = make_store(1)
    ble = store.label(1)
    ble.label.clock_offset_ms = -10 * 60 * 1000  # ten minutes behind
    ble.faults.refuse_next = ReasonCode.IMAGE_NOT_AVAILABLE
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, build_image_update(PLANES, model_id=MODEL.id)))
        await gateway.send(store.frame(1, build_image_update(PLANES, model_id=MODEL.id)))
        await gateway.stop()
        events = [event async for event in gateway.events()]
    uplinks = [event for event in events if isinstance(event, Uplink)]
    refusal, ack = (
        decode_label_response(uplink.payload, key=key_of(label_id_of(1))) for uplink in uplinks
    )
    assert refusal.reason is ReasonCode.IMAGE_NOT_AVAILABLE
    assert ack.reason is ReasonCode.SUCCESS
    assert ack.label_time == store.clock() - timedelta(minutes=10)
    assert refusal.label_time == ack.label_time
