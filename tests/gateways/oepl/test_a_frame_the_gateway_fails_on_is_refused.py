"""A frame that makes the store gateway fail every time is refused after three tries; the
rest of the store goes on.

A part of the gateway that raises stops it (exit 1), and its supervisor starts it again
from the state file (`test_gateway_stops_when_a_part_fails.py`). A frame whose handling
raises every time (a bug in answering that one payload, a radio error of a type nobody
catches) stayed in the inbox, so the restarted gateway failed on it again, and again:
a restart loop that stopped every label of the store, where before only that label
stalled. Now the gateway counts the tries of each frame in its state file, before each
try (a kill during one counts too), and does not try a frame a fourth time: it refuses
it with its own report (final), on which the controller parks the update at once as
`refused by gateway`, with the gateway's words: not as offline, the tag answers.

Real parts: the controller (paho driver) -> Mosquitto -> the store gateway process,
started again by a supervisor loop as systemd does -> the emulated AP -> emulated tags.
The failure is SQLite's own: a trigger refuses to store the one label's state after
that one frame, every time, as a bug in answering it would fail.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.errors import StoreGatewayFailedError
from gateways.mqtt.endpoint import parse_broker_url
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    LabelFrame,
    build_image_update,
    encode_frame,
    generate_label_key,
    header_opcode,
    peek_header,
)
from gateways.store_gateway.local_state import LabelRecord, LocalState
from gateways.store_gateway.process import (
    TRIES_PER_FRAME,
    StoreGatewayProcess,
    open_local_state,
    open_store_gateway,
    read_gateway_provisioning,
)
from gateways.store_gateway.reports import failed_every_try
from rendering.display_models import get_display_model
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.audit import audit_by_label
from tests.support.clock import wall_clock
from tests.support.oepl import price_planes, tag_mac
from tests.support.oepl_chain import FAST_DRIVER, GATEWAY, STORE, OeplChain
from tests.support.outbox import outbox_by_label
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = pytest.mark.integration

POISONED = tag_mac(2)
# What the state file refuses, every time, once that frame is carried out.
FAILURE = "cannot store the outcome of this frame"


async def _supervised(
    chain: OeplChain, stop: asyncio.Event, failures: list[StoreGatewayFailedError]
) -> None:
    """`esl gateway oepl` under its unit's `Restart=always`: opened from the same state
    file and label file each time, run until told to stop; each failure noted.

    No health polls: each failed try put the image on the tag before the state file
    refused its outcome, and a poll would find the tag drawn over and have the controller
    send the image again under a new sequence (which goes through, replacing the parked
    update before it could be looked at)."""
    while not stop.is_set():
        labels = read_gateway_provisioning(chain.provisioning)
        radio = OeplRadio(
            AccessPointDriver(AccessPointClient(chain.served.url), timings=FAST_DRIVER)
        )
        async with open_store_gateway(
            labels,
            radio,
            store=STORE,
            gateway=GATEWAY,
            endpoint=parse_broker_url(chain.broker.url),
            state_dir=chain.state_dir,
            health_every_s=3600,
        ) as opened:
            try:
                await opened.process.run(stop)
            except StoreGatewayFailedError as failure:
                failures.append(failure)


def _gateway_of_s01(
    state: LocalState, ap_url: str, broker_url: str, *, timings: DriverTimings
) -> StoreGatewayProcess:
    """S01's store gateway process over `state`, driving the AP at `ap_url`."""
    radio = OeplRadio(AccessPointDriver(AccessPointClient(ap_url), timings=timings))
    return StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=parse_broker_url(broker_url),
        radio=radio,
        state=state,
    )


def _latest(chain: OeplChain, label_id: str) -> tuple[int, str, str | None]:
    return outbox_by_label(chain.sessions)[label_id][-1]


async def test_a_frame_the_gateway_fails_on_every_time_is_refused_and_the_store_goes_on(
    oepl_chain: OeplChain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await oepl_chain.import_tags()
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await oepl_chain.start_gateway()
    await oepl_chain.start_controller()
    await oepl_chain.wait_converged()
    await oepl_chain.stop_gateway()
    before = {label_id: _latest(oepl_chain, label_id)[0] for label_id in oepl_chain.bindings}

    # New prices for every product, signed while the gateway is away: they wait for it.
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.59", "CHS-1": "9.49", "CFE-1": "61.99"}, now=wall_clock()
    )
    await until(
        lambda: all(_latest(oepl_chain, lb)[0] > before[lb] for lb in oepl_chain.bindings),
        what="every label's new frame signed",
        timeout_s=60,
    )
    sequence = _latest(oepl_chain, POISONED)[0]
    with sqlite3.connect(oepl_chain.state_path) as failing:
        failing.execute(
            "CREATE TRIGGER poisoned BEFORE UPDATE ON labels "
            f"WHEN NEW.label_id = '{POISONED}' AND NEW.last_sequence = {sequence} "
            f"BEGIN SELECT RAISE(ABORT, '{FAILURE}'); END"
        )
    failing.close()

    stop = asyncio.Event()
    failures: list[StoreGatewayFailedError] = []
    supervisor = asyncio.create_task(_supervised(oepl_chain, stop, failures))
    try:
        # The controller hears why and parks the update at once, refused by the gateway
        # (not offline: the tag answers), showing the gateway's reason.
        why = f"refused by gateway: {failed_every_try(TRIES_PER_FRAME)} at "
        await until(
            lambda: any(
                (seq, status) == (sequence, "parked") and (reason or "").startswith(why)
                for seq, status, reason in outbox_by_label(oepl_chain.sessions)[POISONED]
            ),
            what=f"{POISONED} seq {sequence} parked: {why}...",
            timeout_s=120,
        )
        others = [label_id for label_id in oepl_chain.bindings if label_id != POISONED]
        await until(
            lambda: all(_latest(oepl_chain, lb)[1] == "acked" for lb in others),
            what=f"the new prices on {others}",
            timeout_s=60,
        )
        assert set(oepl_chain.mismatches()) <= {POISONED}
        # Stopped by the frame three times, each a restart from the same state file;
        # the fourth run refused it and runs on.
        assert len(failures) == TRIES_PER_FRAME, failures
        assert {failure.fields["part"] for failure in failures} == {f"label {POISONED}'s frames"}
        assert all(FAILURE in str(failure.__cause__) for failure in failures)
        assert not supervisor.done()
        # Never recorded as shown: not confirmed, whatever the tag took.
        verdict = audit_by_label(oepl_chain.sessions, wall_clock())[POISONED]
        assert verdict.audit_class.is_mismatch, verdict
        assert not verdict.shows_due, verdict
        # The audit names the gateway's reason, and does not call the tag offline.
        assert (verdict.last_reason or "").startswith(why), verdict
        assert verdict.audit_class.value != "offline", verdict
        # The gateway said what it refused, and the last failure, once.
        said = [
            record.getMessage()
            for record in caplog.records
            if record.name.startswith("gateways.store_gateway")
            and record.levelno == logging.ERROR
            and not record.exc_info
        ]
        assert len(said) == 1, said
        assert POISONED in said[0]
        assert f"frame {sequence}" in said[0]
        assert FAILURE in said[0]

        # The label's next frame goes on.
        sku = oepl_chain.bindings[POISONED]
        publish_prices(oepl_chain.sessions, {sku: "1.11"}, now=wall_clock())
        await until(
            lambda: (
                _latest(oepl_chain, POISONED)[0] > sequence
                and _latest(oepl_chain, POISONED)[1] == "acked"
            ),
            what=f"{POISONED}'s next frame answered",
            timeout_s=60,
        )
        await until(
            lambda: not oepl_chain.mismatches(),
            what="every tag showing its due price",
            timeout_s=60,
        )
        assert len(failures) == TRIES_PER_FRAME
        assert not supervisor.done()
    finally:
        stop.set()
        await asyncio.wait_for(supervisor, 30)


async def test_a_try_cut_short_by_a_stop_does_not_count_one_cut_by_a_power_cut_does(
    mosquitto: MosquittoProcess, served_ap: ServedAccessPoint, tmp_path: Path
) -> None:
    # The tag is out of range: its image waits at the AP, the try at the radio, until the
    # operator restarts the gateway (or something else stops it). Stops are not the
    # frame's doing: stopped more often than it may fail, it is still carried out.
    path, mac, key = tmp_path / "gw.sqlite", tag_mac(1), generate_label_key()
    model = get_display_model("2.9-bwr")
    image = build_image_update(price_planes(seed=90), model_id=model.id)
    tag = served_ap.ap.tags[mac]
    tag.checks_in = False
    state = open_local_state(path)
    state.add_labels([LabelRecord(mac, mac, model.id, key=key)])
    payload = encode_frame(LabelFrame(mac, 1, image), key=key)
    opcode = header_opcode(payload, peek_header(payload))
    assert opcode is not None
    state.enqueue(label_id=mac, sequence=1, opcode=opcode, payload=payload)
    [frame] = state.queued(mac)
    slow = DriverTimings(poll_s=0.02, confirm_timeout_s=60, busy_base_delay_s=0.01)

    def process() -> StoreGatewayProcess:
        return _gateway_of_s01(state, served_ap.url, mosquitto.url, timings=slow)

    async def cut_short(*, power_cut: bool) -> None:
        running = process()
        await running.start()
        try:
            await until(
                # Begun (counted), its image at the AP since the first try.
                lambda: state.tries(frame).count >= 1 and tag.stored_raw is not None,
                what="the frame's try under way",
                timeout_s=30,
            )
        finally:
            await (running.crash() if power_cut else running.stop())
            await running.radio.close()

    try:
        for _ in range(TRIES_PER_FRAME + 1):
            await cut_short(power_cut=False)
            assert state.tries(frame).count == 0
        await cut_short(power_cut=True)
        assert state.tries(frame).count == 1  # a power cut takes nothing back

        tag.checks_in = True  # back in range
        running = process()
        await running.start()
        try:
            await until(lambda: state.counts() == (0, 0), what="the frame answered", timeout_s=30)
        finally:
            await running.stop()
            await running.radio.close()
        assert tag.shown_planes() == price_planes(seed=90)
        assert state.tries(frame).count == 0
    finally:
        state.close()


def test_a_frames_tries_and_its_last_failure_outlive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite"
    mac = tag_mac(1)
    state = open_local_state(path)
    state.add_labels([LabelRecord(mac, mac, "2.9-bwr", key=generate_label_key())])
    state.enqueue(label_id=mac, sequence=5, opcode=-1, payload=b"frame 5")
    [frame] = state.queued(mac)
    assert state.tries(frame).count == 0
    state.count_try(frame)
    state.note_failure(frame, "ValueError: no such image")
    state.count_try(frame)  # killed during this one: nothing noted
    state.close()

    state = open_local_state(path)
    try:
        [kept] = state.queued(mac)
        tries = state.tries(kept)
        assert (tries.count, tries.last_failure) == (2, "ValueError: no such image")
        # The same frame sent again by the controller (a new inbox row) has had them too.
        state.enqueue(label_id=mac, sequence=5, opcode=-1, payload=b"frame 5")
        again = state.queued(mac)[1]
        assert state.tries(again).count == 2
        # Refused, the frame is gone from the inbox; its tries stay for its copies.
        state.refuse(kept, report=b"refused")
        assert state.tries(again).count == 2
        # A frame the label took after it ends them.
        label = state.labels()[mac]
        state.enqueue(label_id=mac, sequence=6, opcode=-1, payload=b"frame 6")
        newer = state.queued(mac)[1]
        state.count_try(newer)
        state.settle(newer, label=label.evolve(last_sequence=6), answer=b"answer 6")
        assert state.tries(again).count == 0
        assert state.tries(newer).count == 0
    finally:
        state.close()


async def test_another_frame_under_a_given_up_sequence_is_tried_and_delivered(
    mosquitto: MosquittoProcess, served_ap: ServedAccessPoint, tmp_path: Path
) -> None:
    # The controller's database restored from a backup taken before it signed frame 1:
    # it signs its price again under sequence 1, another image. Only the frame the
    # gateway failed on is refused; this one is tried, and shown.
    path, mac, key = tmp_path / "gw.sqlite", tag_mac(1), generate_label_key()
    model = get_display_model("2.9-bwr")
    opcode_of: dict[bytes, int | None] = {}

    def signed(seed: int) -> bytes:
        image = build_image_update(price_planes(seed=seed), model_id=model.id)
        payload = encode_frame(LabelFrame(mac, 1, image), key=key)
        opcode_of[payload] = header_opcode(payload, peek_header(payload))
        return payload

    def process(state: LocalState) -> StoreGatewayProcess:
        return _gateway_of_s01(state, served_ap.url, mosquitto.url, timings=FAST_DRIVER)

    async def run_until_answered(state: LocalState) -> None:
        running = process(state)
        await running.start()
        try:
            await until(lambda: state.counts() == (0, 0), what="frames answered", timeout_s=30)
        finally:
            await running.stop()
            await running.radio.close()

    state = open_local_state(path)
    try:
        state.add_labels([LabelRecord(mac, mac, model.id, key=key)])
        failing = signed(seed=90)
        state.enqueue(label_id=mac, sequence=1, opcode=opcode_of[failing] or -1, payload=failing)
        [given_up] = state.queued(mac)
        for _ in range(TRIES_PER_FRAME):  # each try ended with the gateway failing
            state.count_try(given_up)
        await run_until_answered(state)  # refused, not tried
        assert served_ap.ap.tags[mac].stored_raw is None
    finally:
        state.close()

    state = open_local_state(path)  # the gateway started again
    try:
        other = signed(seed=91)
        state.enqueue(label_id=mac, sequence=1, opcode=opcode_of[other] or -1, payload=other)
        await run_until_answered(state)
        assert served_ap.ap.tags[mac].shown_planes() == price_planes(seed=91)
        assert state.labels()[mac].last_sequence == 1
        # The frame it failed on has no tries left to count: the label took sequence 1,
        # so a copy of it is refused as a replay before any radio work.
        state.enqueue(label_id=mac, sequence=1, opcode=-1, payload=failing)
        assert state.tries(state.queued(mac)[0]).count == 0
    finally:
        state.close()


def test_a_relayed_labels_given_up_frame_is_forgotten_once_a_later_frame_settles(
    tmp_path: Path,
) -> None:
    # A label that signs for itself: the gateway never learns which sequence it took
    # (its record says 0), so the label's sequence cannot end the tries; the later
    # frame's own sequence does (a copy of the earlier one is the label's to refuse).
    path, label_id = tmp_path / "gw.sqlite", "ble-label-1"
    state = open_local_state(path)
    state.add_labels([LabelRecord(label_id, "C0:00:00:00:00:01", "2.9-bwr", key=None)])
    state.enqueue(label_id=label_id, sequence=5, opcode=-1, payload=b"frame 5")
    [given_up] = state.queued(label_id)
    for _ in range(TRIES_PER_FRAME):
        state.count_try(given_up)
    state.refuse(given_up, report=b"failed on this frame 3 times")
    state.close()

    state = open_local_state(path)
    try:
        # Only that very frame has had its tries: another under its sequence has not.
        state.enqueue(label_id=label_id, sequence=5, opcode=-1, payload=b"frame 5")
        state.enqueue(label_id=label_id, sequence=5, opcode=-1, payload=b"another frame 5")
        copy, other = state.queued(label_id)
        assert (state.tries(copy).count, state.tries(other).count) == (TRIES_PER_FRAME, 0)
        state.refuse(copy, report=b"failed on this frame 3 times")
        state.refuse(other, report=b"not the test's business")

        label = state.labels()[label_id]
        state.enqueue(label_id=label_id, sequence=6, opcode=-1, payload=b"frame 6")
        [later] = state.queued(label_id)
        state.count_try(later)
        state.settle(later, label=label, answer=b"the label's answer 6", relayed=True)
        assert state.labels()[label_id].last_sequence == 0
        state.enqueue(label_id=label_id, sequence=5, opcode=-1, payload=b"frame 5")
        [copy] = state.queued(label_id)
        assert state.tries(copy).count == 0
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT COUNT(*) FROM frame_tries").fetchone() == (0,)
        db.close()
    finally:
        state.close()
