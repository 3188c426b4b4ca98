"""`--at T` says what the live audit said at T after the record itself changed what it
says a label shows: no word of the label's, but an operation.

- a refresh asked for: the record forgets what the label shows until it acknowledges its
  image sent again (the live audit `unconfirmed`);
- a panel swapped for another model (the provisioning file says so): what the record
  says the label shows was drawn on the old panel and is forgotten (`unconfirmed`) while
  the new panel's image is on its way;
- a BLE label associated anew (the inventory recorded): what it showed under its earlier
  association is forgotten (`unconfirmed`), its whole image sent;
- a BLE label unassociated without the device (forced): what it last reported stays, and
  the audit lists the price nobody maintains (`unbound_showing_price`);
- a label unbound: its identification screen planned and acknowledged;
- a label blanked while an update is open: its check-in shows nothing.

The real controller and dispatcher, firmware_sim labels through the in-memory gateway,
one test clock; SQLite and PostgreSQL. The live audit through GET /api/v1/audit at T and
at each minute after (frames to the label lost for the first minutes, then the label in
reach and put right), then each of those instants `?at=` a day later, compared.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from esl.pipeline import register_provisioned_labels
from esl.services.ble_inventory import unassociate_ble_label
from esl.services.labels import unbind_label
from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from tests.audit.test_past_audit_reads_the_panel_as_the_pipeline_took_it import SAME, _audit_items
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN, publish_prices


async def _refresh_asked(world: World, label_id: str) -> None:
    """A refresh asked for: taken up at the controller's next round."""
    world.ask_refresh(label_id)


async def _panel_swapped(world: World, label_id: str) -> None:
    """A 2.9" BW panel at the same address, with the same key, blank, and the
    provisioning file says so."""
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    swapped = dataclasses.replace(provision, model_id="2.9-bw", key=world.keys[label_id])
    (world.labels[label_id],) = build_labels([swapped], now=world.clock.now, images=ImageStore())
    with world.sessions.begin() as session:
        register_provisioned_labels(
            session, [swapped], store="S01", gateway="gw1", now=world.clock.now
        )


async def _associated_anew(world: World, label_id: str) -> None:
    """Its BLE association recorded (its first): the record forgets what it showed."""
    world.associated_anew(label_id, device="AA:BB:CC:00:00:01")


async def _unassociated_without_the_device(world: World, label_id: str) -> None:
    """Associated, then unassociated with --force: its binding ended, its key forgotten,
    the price it showed left on the shelf."""
    world.associated_anew(label_id, device="AA:BB:CC:00:00:01")
    await world.run_until(world.clock.now + timedelta(minutes=5))  # its image sent again
    assert world.state(label_id).displayed_hash == world.hash_of(label_id)
    world.clock.advance(timedelta(minutes=1))
    with world.sessions.begin() as session:
        unassociate_ble_label(
            session,
            principal=ADMIN,
            store="S01",
            label_id=label_id,
            now=world.clock.now,
            force=True,
        )


async def _unbound(world: World, label_id: str) -> None:
    """Unbound: its identification screen planned at the controller's next round."""
    with world.sessions.begin() as session:
        unbind_label(session, principal=ADMIN, label_id=label_id, now=world.clock.now)


async def _blanked_while_an_update_is_open(world: World, label_id: str) -> None:
    """2.99 sent and lost; then the label blanked keeping its count checks in."""
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert world.gateway.take(), "the frame of 2.99, lost"
    world.restore(label_id, (world.labels[label_id].snapshot(), ImageStore()))
    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([world.check_in(label_id)])


async def _blanked_while_a_timed_image_is_on_its_way(world: World, label_id: str) -> None:
    """2.49 from ten minutes ahead sent and lost (3.49 due now, confirmed); then the
    label blanked keeping its count checks in."""
    world.publish_flip_ahead("2.49", ahead=timedelta(minutes=10))
    world.controller.plan_due_work()
    await world.send_due()
    assert world.gateway.take(), "the timed frame, lost"
    world.restore(label_id, (world.labels[label_id].snapshot(), ImageStore()))
    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([world.check_in(label_id)])


async def _live_then_past(
    world: World, client: httpx.AsyncClient, label_id: str, *, lost: int, minutes: int
) -> list[tuple[datetime, dict[str, Any], dict[str, Any]]]:
    """The live audit of `label_id` now and at the end of each of the next `minutes` of
    the controller's rounds (frames to it lost in the first `lost`), then each of those
    instants audited `?at=` a day later: (instant, live, past)."""
    live = [(world.clock.now, (await _audit_items(client)).get(label_id))]
    for minute in range(minutes):
        out_of_reach = [label_id] if minute < lost else []
        await world.run_until(world.clock.now + timedelta(minutes=1), out_of_reach=out_of_reach)
        live.append((world.clock.now, (await _audit_items(client)).get(label_id)))
    world.clock.advance(timedelta(days=1))
    return [
        (at, then or {}, (await _audit_items(client, at)).get(label_id) or {}) for at, then in live
    ]


def _differing(found: list[tuple[datetime, dict[str, Any], dict[str, Any]]]) -> list[str]:
    """The instants whose past audit says other than the live audit said then (a label
    not listed: every field None)."""
    return [
        f"{at}: live {[live.get(key) for key in SAME]}, past {[past.get(key) for key in SAME]}"
        for at, live, past in found
        if any(past.get(key) != live.get(key) for key in SAME)
    ]


@pytest.mark.parametrize(
    ("scenario", "first_class", "last_class"),
    [
        pytest.param(_refresh_asked, "unconfirmed", "match", id="refresh"),
        pytest.param(_panel_swapped, "unconfirmed", "match", id="model-swap"),
        pytest.param(_associated_anew, "unconfirmed", "match", id="associated-anew"),
        pytest.param(
            _unassociated_without_the_device,
            "unbound_showing_price",
            "unbound_showing_price",
            id="forced-unassociation",
        ),
        pytest.param(_unbound, "unbound_showing_price", None, id="identification-screen"),
        pytest.param(_blanked_while_an_update_is_open, "unconfirmed", "match", id="blank"),
        pytest.param(
            _blanked_while_a_timed_image_is_on_its_way, "unconfirmed", "match", id="blank-timed"
        ),
    ],
)
async def test_the_past_audit_says_what_the_live_audit_said(
    engine: Engine,
    scenario: Callable[[World, str], Awaitable[None]],
    first_class: str,
    last_class: str | None,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    world.clock.advance(timedelta(minutes=1))
    await scenario(world, label_id)

    async with world.admin_api() as client:
        found = await _live_then_past(world, client, label_id, lost=2, minutes=6)
    classes = [live.get("class") for _, live, _ in found]
    assert classes[1] == first_class, classes
    assert classes[-1] == last_class, classes
    assert _differing(found) == []
