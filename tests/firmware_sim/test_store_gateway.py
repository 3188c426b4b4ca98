"""The simulated store gateway relays frames at check-in over a faulty radio, in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from firmware_sim.faults import FaultPlan, RadioConditions
from firmware_sim.fleet import LabelProvision, build_labels, make_fleet
from firmware_sim.images import ImageStore
from firmware_sim.store_gateway import StoreGatewaySim
from gateways.protocol import (
    FlashLed,
    FrameKind,
    LabelFrame,
    LabelResponse,
    LedColour,
    LedPattern,
    Ping,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    peek_header,
)
from rendering.encoding import content_hash
from tests.firmware_sim.shelf_images import price_label

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SECRET = b"a site secret for tests"
PRICE_A = price_label("4,99 zł")
PRICE_B = price_label("3,99 zł")


def _fleet(count: int) -> list[LabelProvision]:
    return make_fleet(store="S001", gateway="gw1", count=count, secret=SECRET)


def _gateway(
    count: int = 10, *, faults: FaultPlan | None = None, **options: object
) -> StoreGatewaySim:
    labels = build_labels(_fleet(count), now=T0, images=ImageStore())
    return StoreGatewaySim(
        store="S001",
        gateway="gw1",
        labels={label.label_id: label for label in labels},
        start=T0,
        faults=faults or FaultPlan(),
        check_in_interval_s=10.0,
        **options,  # type: ignore[arg-type]
    )


class Controller:
    """Just enough controller to build frames and verify what comes back."""

    def __init__(self, provisions: list[LabelProvision]) -> None:
        self.keys = {p.label_id: p.key for p in provisions}
        self.sequences = dict.fromkeys(self.keys, 0)

    def frame(self, label_id: str, command: object) -> bytes:
        self.sequences[label_id] += 1
        frame = LabelFrame(label_id=label_id, sequence=self.sequences[label_id], command=command)  # type: ignore[arg-type]
        return encode_frame(frame, key=self.keys[label_id])

    def verify(self, uplinks: list[bytes]) -> list[LabelResponse]:
        return [decode_response(u, key=self.keys[peek_header(u).label_id]) for u in uplinks]


def _run(gateway: StoreGatewaySim, *, until: datetime, step_s: float = 1.0) -> list[bytes]:
    out = []
    now = T0
    while now <= until:
        out += gateway.advance(now=now)
        now += timedelta(seconds=step_s)
    return out


def test_a_frame_waits_for_the_labels_check_in_and_the_ack_comes_back() -> None:
    gateway = _gateway(3)
    controller = Controller(_fleet(3))
    label_id = "S001-gw1-00002"
    assert gateway.submit(controller.frame(label_id, Ping()), now=T0)
    assert gateway.pending_count() == 1
    responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=10)))
    assert [(r.label_id, r.sequence, r.reason) for r in responses] == [
        (label_id, 1, ReasonCode.SUCCESS)
    ]
    assert gateway.pending_count() == 0


def test_a_listening_label_takes_its_frame_as_it_arrives() -> None:
    gateway = _gateway(3, listening=True)
    controller = Controller(_fleet(3))
    label_id = "S001-gw1-00002"
    later = T0 + timedelta(seconds=3)
    gateway.advance(now=later)  # check-ins are 10 s apart: none is due for sure yet
    check_ins = gateway.stats.check_ins_heard
    gateway.submit(controller.frame(label_id, Ping()), now=later)
    responses = controller.verify(gateway.advance(now=later))
    assert [(r.label_id, r.sequence, r.acked) for r in responses] == [(label_id, 1, True)]
    assert gateway.stats.check_ins_heard == check_ins  # no check-in was needed
    assert gateway.pending_count() == 0


def test_a_listening_label_out_of_range_gets_its_frame_at_its_check_in() -> None:
    faults = FaultPlan(seed=3, offline_labels=1, offline_after_s=0, offline_for_s=30)
    gateway = _gateway(1, faults=faults, listening=True)
    controller = Controller(_fleet(1))
    label_id = "S001-gw1-00001"
    gateway.submit(controller.frame(label_id, Ping()), now=T0)
    assert gateway.advance(now=T0) == []
    assert gateway.pending_count() == 1
    responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=45)))
    assert [(r.sequence, r.acked) for r in responses] == [(1, True)]


def test_a_newer_frame_goes_first_and_the_older_one_is_refused_as_stale() -> None:
    gateway = _gateway(1)
    controller = Controller(_fleet(1))
    label_id = "S001-gw1-00001"
    update_a = build_image_update(PRICE_A, model_id="2.9-bwr")
    update_b = build_image_update(PRICE_B, model_id="2.9-bwr")
    gateway.submit(controller.frame(label_id, update_a), now=T0)
    gateway.submit(controller.frame(label_id, update_b), now=T0)
    responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=30)))
    assert [(r.sequence, r.reason) for r in responses] == [
        (2, ReasonCode.SUCCESS),
        (1, ReasonCode.STALE_SEQUENCE),
    ]
    assert gateway.labels[label_id].shown == PRICE_B
    assert gateway.labels[label_id].refreshes == 1
    assert gateway.pending_count() == 0


def _forged_copy(frame: bytes) -> bytes:
    """The same label and sequence, another MAC: what a rogue publisher can make."""
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])


def test_a_forged_copy_with_the_same_sequence_never_displaces_the_genuine_frame() -> None:
    for forged_first in (False, True):
        gateway = _gateway(1)
        controller = Controller(_fleet(1))
        label_id = "S001-gw1-00001"
        genuine = controller.frame(label_id, build_image_update(PRICE_A, model_id="2.9-bwr"))
        frames = (
            [_forged_copy(genuine), genuine] if forged_first else [genuine, _forged_copy(genuine)]
        )
        for frame in frames:
            assert gateway.submit(frame, now=T0)
        assert gateway.pending_count() == 2
        responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=30)))
        reasons = sorted((r.sequence, r.reason.name) for r in responses)
        assert reasons == [(1, "BAD_MAC"), (1, "SUCCESS")]
        assert gateway.labels[label_id].shown == PRICE_A
        assert gateway.pending_count() == 0


def test_a_full_queue_refuses_new_frames_and_keeps_the_ones_it_holds() -> None:
    gateway = _gateway(1, max_pending_per_label=2)
    controller = Controller(_fleet(1))
    label_id = "S001-gw1-00001"
    genuine = controller.frame(label_id, build_image_update(PRICE_A, model_id="2.9-bwr"))
    assert gateway.submit(genuine, now=T0)
    assert gateway.submit(genuine, now=T0)  # a QoS 1 redelivery: the same frame, held once
    assert gateway.submit(_forged_copy(genuine), now=T0)
    assert not gateway.submit(_forged_copy(_forged_copy(genuine)[:-2] + b"xx"), now=T0)
    assert gateway.stats.frames_refused == 1
    responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=30)))
    assert any(r.acked for r in responses)
    assert gateway.labels[label_id].shown == PRICE_A


def test_frames_with_different_opcodes_are_all_delivered_in_sequence_order() -> None:
    gateway = _gateway(1)
    controller = Controller(_fleet(1))
    label_id = "S001-gw1-00001"
    flash = FlashLed(colour=LedColour.RED, pattern=LedPattern.BLINK, duration_s=60)
    gateway.submit(controller.frame(label_id, flash), now=T0)
    gateway.submit(controller.frame(label_id, Ping()), now=T0)
    responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=10)))
    assert [(r.sequence, r.acked) for r in responses] == [(1, True), (2, True)]


def test_with_a_lossy_radio_every_update_still_lands_through_retries() -> None:
    count = 40
    faults = FaultPlan(seed=7, radio=RadioConditions(loss_rate=0.3, latency_ms=40, jitter_ms=20))
    gateway = _gateway(count, faults=faults, max_attempts=50)
    controller = Controller(_fleet(count))
    update = build_image_update(PRICE_A, model_id="2.9-bwr")
    for label_id in controller.keys:
        gateway.submit(controller.frame(label_id, update), now=T0)
    responses = controller.verify(_run(gateway, until=T0 + timedelta(minutes=10)))
    assert gateway.radio.lost > 0
    assert {r.label_id for r in responses if r.acked} == set(controller.keys)
    assert all(label.shown == PRICE_A for label in gateway.labels.values())
    assert all(label.refreshes == 1 for label in gateway.labels.values())


def test_duplicated_deliveries_are_applied_once() -> None:
    faults = FaultPlan(seed=3, radio=RadioConditions(duplicate_rate=1.0, latency_ms=5))
    gateway = _gateway(5, faults=faults)
    controller = Controller(_fleet(5))
    update = build_image_update(PRICE_A, model_id="2.9-bwr")
    for label_id in controller.keys:
        gateway.submit(controller.frame(label_id, update), now=T0)
    responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=12)))
    assert gateway.radio.duplicated >= 5
    # Each label answered twice (the second is the remembered answer), refreshed once.
    assert len(responses) == 10
    assert all(r.acked for r in responses)
    assert all(label.refreshes == 1 for label in gateway.labels.values())


def test_labels_out_of_range_get_their_frames_when_they_come_back() -> None:
    faults = FaultPlan(seed=1, offline_rate=0.5, offline_after_s=0, offline_for_s=120)
    gateway = _gateway(20, faults=faults)
    controller = Controller(_fleet(20))
    away = gateway.offline_label_ids
    assert 0 < len(away) < 20
    for label_id in controller.keys:
        gateway.submit(controller.frame(label_id, Ping()), now=T0)
    during = controller.verify(_run(gateway, until=T0 + timedelta(seconds=100)))
    assert {r.label_id for r in during} == set(controller.keys) - away
    after = controller.verify(
        [
            *gateway.advance(now=T0 + timedelta(seconds=125)),
            *gateway.advance(now=T0 + timedelta(seconds=140)),
        ]
    )
    assert {r.label_id for r in after} == away


def test_an_exact_number_of_labels_can_be_taken_out_of_range() -> None:
    faults = FaultPlan(seed=3, offline_labels=5, offline_after_s=0, offline_for_s=600)
    gateway = _gateway(20, faults=faults)
    controller = Controller(_fleet(20))
    assert len(gateway.offline_label_ids) == 5
    for label_id in controller.keys:
        gateway.submit(controller.frame(label_id, Ping()), now=T0)
    answered = controller.verify(_run(gateway, until=T0 + timedelta(seconds=100)))
    assert {r.label_id for r in answered} == set(controller.keys) - gateway.offline_label_ids
    # The same seed takes the same labels away: a demo run can be replayed.
    assert _gateway(20, faults=faults).offline_label_ids == gateway.offline_label_ids


def test_flat_batteries_refuse_images_and_say_so() -> None:
    faults = FaultPlan(seed=2, flat_battery_rate=0.5)
    gateway = _gateway(20, faults=faults, max_attempts=2)
    controller = Controller(_fleet(20))
    update = build_image_update(PRICE_A, model_id="2.9-bwr")
    for label_id in controller.keys:
        gateway.submit(controller.frame(label_id, update), now=T0)
    responses = controller.verify(_run(gateway, until=T0 + timedelta(seconds=60)))
    flat = {r.label_id for r in responses if r.reason is ReasonCode.LOW_BATTERY}
    fine = {r.label_id for r in responses if r.acked}
    assert flat
    assert fine
    assert flat.isdisjoint(fine)
    assert all(gateway.labels[i].shown is None for i in flat)
    assert all(gateway.labels[i].battery_mv < 2_400 for i in flat)
    # A transient refusal keeps the frame for the next check-in, until attempts run out.
    assert gateway.stats.frames_expired == len(flat)


def test_a_restart_loses_pending_frames_but_not_what_labels_show() -> None:
    gateway = _gateway(2)
    controller = Controller(_fleet(2))
    first, second = sorted(controller.keys)
    gateway.submit(controller.frame(first, build_image_update(PRICE_A, model_id="2.9-bwr")), now=T0)
    _run(gateway, until=T0 + timedelta(seconds=10))
    gateway.submit(controller.frame(second, Ping()), now=T0 + timedelta(seconds=11))
    gateway.restart(now=T0 + timedelta(seconds=11))
    later = gateway.advance(now=T0 + timedelta(seconds=60))
    assert later == []
    assert gateway.pending_count() == 0
    assert gateway.labels[first].shown_hash == content_hash(PRICE_A)


def test_frames_it_cannot_route_are_counted_and_dropped() -> None:
    gateway = _gateway(1)
    foreign = Controller(make_fleet(store="S002", gateway="gw1", count=1, secret=SECRET))
    assert not gateway.submit(b"not a frame", now=T0)
    assert not gateway.submit(foreign.frame("S002-gw1-00001", Ping()), now=T0)
    assert gateway.stats.frames_unroutable == 2
    assert gateway.pending_count() == 0


def test_check_ins_can_be_reported_to_the_controller() -> None:
    gateway = _gateway(4, report_check_ins=True)
    controller = Controller(_fleet(4))
    reports = controller.verify(_run(gateway, until=T0 + timedelta(seconds=10)))
    assert {r.label_id for r in reports} == set(controller.keys)
    assert all(r.kind is FrameKind.CHECK_IN for r in reports)


def test_after_an_idle_stretch_passed_at_once_each_label_checks_in_once_from_then_on() -> None:
    """A test's clock that jumps an hour: without `pass_idle_time` each label makes every
    check-in missed meanwhile at once, each with its old time (360 each, at 10 s
    intervals), which a controller receives long after they were made."""
    gateway = _gateway(4, report_check_ins=True)
    controller = Controller(_fleet(4))
    _run(gateway, until=T0 + timedelta(seconds=10))
    later = T0 + timedelta(hours=1)
    gateway.pass_idle_time(now=later)
    reports = controller.verify(gateway.advance(now=later + timedelta(seconds=10)))
    assert sorted(r.label_id for r in reports) == sorted(controller.keys)
    assert all(r.label_time >= later for r in reports)


def test_thousands_of_labels_check_in_on_their_own_schedules() -> None:
    gateway = _gateway(3000)
    _run(gateway, until=T0 + timedelta(seconds=20), step_s=0.5)
    assert gateway.stats.check_ins_heard >= 6000
    assert gateway.stats.check_ins_missed == 0
