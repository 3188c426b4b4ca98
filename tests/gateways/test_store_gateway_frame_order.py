"""A label's queued frames leave the store gateway process in the order the simulated
gateway hands them over, the one docs/protocol.md promises: frames with the same opcode
form a group, the groups go in the order of each one's newest sequence, and within a
group the newest goes first (the label then refuses the older ones as stale).

Found by a hunter: with an image (5), a staff flash (6) and the image signed again (7)
queued, the process took the oldest frame's opcode and its newest frame first: 7, 5, 6.
The label took the image and refused the flash as STALE_SEQUENCE (the staff member saw
no light; the controller had to sign it again). The simulated gateway ran 6, 7, 5.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from firmware_sim.label import SimulatedLabel
from firmware_sim.store_gateway import StoreGatewaySim
from gateways.base import Uplink
from gateways.ble.radio import BleLabelRadio
from gateways.ble.store_radio import BleGatewayLabel, BleStoreRadio
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.protocol import (
    Command,
    FlashLed,
    LabelFrame,
    LedColour,
    LedPattern,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    header_opcode,
    peek_header,
)
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from rendering.encoding import content_hash
from tests.firmware_sim.shelf_images import price_label
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.ble.ble_store import FAST, MODEL_ID, STORE, T0, address_of, key_of, make_store

PRICE = price_label("3,49 zł")
CORRECTED = price_label("2,79 zł")
SECRET = b"a site secret for the frame order"
FLASH = FlashLed(colour=LedColour.GREEN, pattern=LedPattern.BLINK, duration_s=5)


@dataclass(frozen=True)
class Outcome:
    answers: list[tuple[int, ReasonCode]]  # (sequence, reason), in the order they came
    lit: bool  # the label carried out the flash
    shows: bytes | None  # the content hash of the image on the panel


# The flash first (the label takes it), then the newest image (drawn), then the older
# image (refused as stale, never drawn).
PROMISED = Outcome(
    answers=[(6, ReasonCode.SUCCESS), (7, ReasonCode.SUCCESS), (5, ReasonCode.STALE_SEQUENCE)],
    lit=True,
    shows=content_hash(CORRECTED),
)


def _queued_for_one_label(label_id: str, key: bytes) -> list[bytes]:
    """An image (5), a staff flash (6), the image signed again (7): all waiting at once."""

    def signed(sequence: int, command: Command) -> bytes:
        frame = LabelFrame(label_id=label_id, sequence=sequence, command=command)
        return encode_frame(frame, key=key)

    return [
        signed(5, build_image_update(PRICE, model_id=MODEL_ID)),
        signed(6, FLASH),
        signed(7, build_image_update(CORRECTED, model_id=MODEL_ID)),
    ]


def _outcome(uplinks: list[bytes], label: SimulatedLabel, key: bytes) -> Outcome:
    decoded = [decode_response(uplink, key=key) for uplink in uplinks]
    return Outcome(
        answers=[(answer.sequence, answer.reason) for answer in decoded],
        lit=label.led_until_ms > 0,
        shows=label.shown_hash,
    )


def _through_the_simulated_gateway() -> Outcome:
    provisions = make_fleet(store=STORE, gateway="gw1", count=1, secret=SECRET)
    label = build_labels(provisions, now=T0, images=ImageStore())[0]
    gateway = StoreGatewaySim(store=STORE, gateway="gw1", labels={label.label_id: label}, start=T0)
    for frame in _queued_for_one_label(label.label_id, provisions[0].key):
        assert gateway.submit(frame, now=T0)
    # Its first check-in falls within one interval.
    at = T0 + timedelta(seconds=gateway.check_in_interval_s)
    return _outcome(gateway.advance(now=at), label, provisions[0].key)


async def _through_the_process(broker: MosquittoProcess, state_dir: Path) -> Outcome:
    """The frames waiting in the process's inbox (they came while it was down), carried
    out when it starts, by a Bluetooth label that signs its own answers."""
    store = make_store(1)
    on_air = store.label(1)
    label_id = on_air.label.label_id
    entry = BleGatewayLabel(label_id=label_id, model=MODEL_ID, address=address_of(1), esl_id=1)
    state = open_local_state(state_dir / "state.sqlite")
    state.add_labels([LabelRecord(label_id, entry.address, MODEL_ID, key=None)])
    for frame in _queued_for_one_label(label_id, key_of(label_id)):
        header = peek_header(frame)
        opcode = header_opcode(frame, header)
        assert opcode is not None
        state.enqueue(label_id=label_id, sequence=header.sequence, opcode=opcode, payload=frame)
    radio = BleStoreRadio(
        BleLabelRadio(
            [entry.on_air],
            client_factory=store.client_factory,
            connect_policy=FAST,
            clock=store.clock,
        )
    )
    await radio.open()
    endpoint = parse_broker_url(broker.url)
    process = StoreGatewayProcess(
        store=STORE, gateway="S001-ble1", endpoint=endpoint, radio=radio, state=state
    )
    controller = MqttGateway(endpoint)
    await controller.start()
    events = controller.events()
    uplinks: list[bytes] = []
    await process.start()  # the controller listens already: no answer is missed
    try:
        async with asyncio.timeout(60):
            async for event in events:
                if isinstance(event, Uplink):
                    uplinks.append(event.payload)
                    if len(uplinks) == 3:
                        break
    finally:
        await process.stop()
        await radio.close()
        state.close()
        await controller.stop()
    return _outcome(uplinks, on_air.label, key_of(label_id))


async def test_a_flash_queued_between_two_images_is_carried_out_by_both_gateways(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    process = await _through_the_process(mosquitto, tmp_path)
    simulated = _through_the_simulated_gateway()
    # Before: the process ran 7, 5, 6; the label refused the flash as stale, never lit.
    assert process == simulated == PROMISED
