"""A label registered on gw1 that now sits in the range of gw2 only (same store).

gw1 cannot reach it any more; gw2 relays its check-ins. Before, the controller believed
every check-in via gw2 but sent every frame via gw1: the shelf kept the old price while
the update was sent, parked and revived by the next check-in, for ever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.ble_models import BleLabelInventoryRow
from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow
from esl.errors import ConflictError
from esl.pipeline.action_kinds import ActionKind, ActionStatus
from esl.pipeline.label_actions import CONTROLLER
from esl.pipeline.label_keepalive import (
    keep_in_sync_after,
    pings_before_giving_up,
    request_keepalive_pings,
)
from esl.pipeline.provisioning import register_provisioned_labels
from esl.services.keys import Role
from gateways.protocol import LabelProvision
from tests.pipeline.console_client import serve_console, signed_in
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices
from tests.support.two_gateways import (
    add_gateway,
    rounds,
    security_events,
    two_gateway_world,
    via,
)


def _gateway_of(world: World, label_id: str) -> str | None:
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        return label.gateway


async def test_a_label_heard_via_another_gateway_of_its_store_gets_its_update_there(
    engine: Engine,
) -> None:
    world, label_id = await two_gateway_world(engine)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    through = await rounds(world, label_id, 10, reaches="gw2")
    assert world.panel_hash(label_id) == world.hash_of(label_id), (through, world.rows(label_id))
    assert _gateway_of(world, label_id) == "gw2"
    assert world.dispatcher.counts.moved == 1
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict
    assert security_events(world) == []
    # The next price goes straight via gw2.
    world.clock.advance(timedelta(minutes=5))
    publish_prices(world.sessions, {"MLK-1": "2.79"}, now=world.clock.now)
    assert set(await rounds(world, label_id, 2, reaches="gw2")) == {"gw2"}
    assert world.panel_hash(label_id) == world.hash_of(label_id)


async def test_a_frame_in_flight_via_the_old_gateway_goes_again_via_the_new_one(
    engine: Engine,
) -> None:
    world, label_id = await two_gateway_world(engine)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    (lost,) = world.gateway.take()
    assert lost.gateway == "gw1"
    world.clock.advance(timedelta(seconds=2))
    world.dispatcher.settle([via(world.check_in(label_id), "gw2")])
    await world.send_due()
    (again,) = world.gateway.take()
    assert (again.gateway, again.payload) == ("gw2", lost.payload)
    # gw1 delivers its copy late after all: the label takes the sequence once.
    world.dispatcher.settle(radio([lost, again], world.labels, now=world.clock.now))
    assert world.rows(label_id)[-1][1] == "acked"
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert security_events(world) == []
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_a_replayed_or_duplicated_answer_via_another_gateway_moves_nothing(
    engine: Engine,
) -> None:
    world, label_id = await two_gateway_world(engine)
    old = world.check_in(label_id)
    world.dispatcher.settle([old])
    world.clock.advance(timedelta(minutes=5))
    newer = world.check_in(label_id)
    world.dispatcher.settle([newer])
    # gw2's login publishes what it captured: the older check-in, then the newest again.
    world.dispatcher.settle([via(old, "gw2")])
    world.dispatcher.settle([via(newer, "gw2")])
    assert _gateway_of(world, label_id) == "gw1"
    assert world.dispatcher.counts.moved == 0


async def test_a_label_carried_to_gw2_with_a_new_battery_gets_its_update_there(
    engine: Engine,
) -> None:
    """Carried into gw2's range and given a new battery on the way: its sequence count is
    kept, its clock restarts a day behind, so every check-in via gw2 is older than the
    claim held, as a replay's is. The controller asks it for a ping via gw2; its answer,
    to a sequence signed after, is the label's and moves it."""
    world, label_id = await two_gateway_world(engine)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    label = world.labels[label_id]
    label.set_battery_mv(3000)
    label.clock_offset_ms = -86_400_000
    through = await rounds(world, label_id, 10, reaches="gw2")
    assert world.panel_hash(label_id) == world.hash_of(label_id), (through, world.rows(label_id))
    assert _gateway_of(world, label_id) == "gw2"
    assert world.dispatcher.counts.moved == 1
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict
    assert security_events(world) == []
    # Its clock is set, via gw2: its check-ins are believed again.
    await rounds(world, label_id, 2, reaches="gw2")
    assert world.state(label_id).last_seen == world.clock.now


async def test_a_replayed_older_check_in_via_another_gateway_probes_there_once_and_moves_nothing(
    engine: Engine,
) -> None:
    """The probe a replay gets via gw2 is not answered (the label is in gw1's range):
    the label stays, its update goes via gw1, and replays within the hour ask no more."""
    world, label_id = await two_gateway_world(engine)
    old = world.check_in(label_id)
    world.dispatcher.settle([old])
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([world.check_in(label_id)])
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    # gw2's login replays it every round
    through = await rounds(world, label_id, 10, reaches="gw1", replayed=via(old, "gw2"))
    assert through.count("gw2") == 1, through  # one probe in the hour
    assert _gateway_of(world, label_id) == "gw1"
    assert world.dispatcher.counts.moved == 0
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_a_check_in_via_another_stores_gateway_is_a_security_event_not_a_move(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    add_gateway(world, "S02-gw1", store="S02")
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([via(world.check_in(label_id), "S02-gw1", store="S02")])
    assert _gateway_of(world, label_id) == "gw1"
    assert security_events(world) == [("answer via another store", label_id)]


async def test_a_check_in_via_a_gateway_never_registered_moves_nothing(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([via(world.check_in(label_id), "gw9")])
    assert _gateway_of(world, label_id) == "gw1"


async def test_gw2s_provisioning_file_listing_the_label_moves_it(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    label_id = sorted(world.labels)[0]
    # gw2's provisioning file lists the label with its key: it moved into gw2's range.
    with world.sessions.begin() as session:
        added = register_provisioned_labels(
            session,
            [LabelProvision(label_id=label_id, model_id="2.9-bwr", key=world.keys[label_id])],
            store="S01",
            gateway="gw2",
            now=world.clock.now,
        )
    assert added == 0
    assert _gateway_of(world, label_id) == "gw2"
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert [downlink.gateway for downlink in world.gateway.take()] == ["gw2"]


async def test_a_ble_label_stays_on_the_gateway_it_is_bonded_to(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    add_gateway(world)
    label_id = sorted(world.labels)[0]
    with world.sessions.begin() as session:
        session.add(
            BleLabelInventoryRow(
                label_id=label_id,
                gateway="gw1",
                address="C0:00:00:00:00:01",
                device_address="C0:00:00:00:00:01",
                esl_id=1,
                esl_group=0,
                displays=[],
                image_slots=1,
                leds=[],
                associated_at=world.clock.now,
            )
        )
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([via(world.check_in(label_id), "gw2")])
    assert _gateway_of(world, label_id) == "gw1"
    # gw2's provisioning file listing it is refused, saying where it is bonded.
    provision = LabelProvision(label_id=label_id, model_id="2.9-bwr", key=world.keys[label_id])
    with (
        pytest.raises(ConflictError, match="bonded to gateway gw1"),
        world.sessions.begin() as session,
    ):
        register_provisioned_labels(
            session, [provision], store="S01", gateway="gw2", now=world.clock.now
        )
    assert _gateway_of(world, label_id) == "gw1"


async def test_a_probe_reads_as_one_via_its_gateway_and_counts_toward_no_giving_up(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    """Staff see the unanswered ping of a replay's probe as a probe via gw2, not as the
    label failing a ping via its own gateway; and keep-alive, which gives a silent label
    up after `pings_before_giving_up` unanswered pings, does not count it among them."""
    world, label_id = await two_gateway_world(engine)
    old = world.check_in(label_id)
    world.dispatcher.settle([old])
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([world.check_in(label_id)])  # last heard
    world.clock.advance(timedelta(seconds=10))
    world.dispatcher.settle([via(old, "gw2")])  # gw2's login replays it
    for _ in range(3):  # the probe goes out via gw2, unanswered: a replay's
        await world.send_due()
        world.clock.advance(timedelta(seconds=40))
    assert [downlink.gateway for downlink in world.gateway.take()] == ["gw2"]
    with world.sessions() as session:
        probe = session.scalars(select(LabelActionRow)).one()
        probe_id, asked = probe.id, probe.requested_at
    async with world.admin_api() as api:
        action = (await api.get(f"/api/v1/labels/{label_id}/actions/{probe_id}")).json()
    assert (action["action"], action["status"], action["via_gateway"]) == (
        "ping",
        "unanswered",
        "gw2",
    )
    with serve_console(world, engine, http_server) as url, signed_in(world, url, Role.ADMIN) as ui:
        assert (
            "ping (probe via gw2) by controller: unanswered"
            in ui.get(f"/ui/labels/{label_id}").text
        )
    # The label falls silent. Keep-alive's pings since it was last heard: all but the last
    # it asks before giving up, unanswered; the probe among them is none of those.
    silence = keep_in_sync_after(timedelta(minutes=30))
    with world.sessions.begin() as session:
        session.add_all(
            LabelActionRow(
                label_id=label_id,
                action=ActionKind.PING.value,
                status=ActionStatus.UNANSWERED.value,
                requested_by=CONTROLLER,
                requested_at=asked + timedelta(minutes=30 * (n + 1)),
            )
            for n in range(pings_before_giving_up(silence) - 1)
        )
    now = world.clock.now + timedelta(hours=3)
    with world.sessions.begin() as session:
        pinged = request_keepalive_pings(session, now=now, silence=silence)
    assert pinged == [label_id], "the probe counted as a keep-alive ping left unanswered"
