"""A timed image's acknowledgement refused as older (the label's check-in signed after it
was heard first) and the label's next check-in, believed, delivered in one batch (a store
gateway's backlog relayed at once): the record forgets what the label shows at the end of
the batch, and the live audit says `unconfirmed`; the past audit of those minutes must
say what the live audit said, and never `match` on a shelf the live audit doubted.

Before, only the acknowledgement's own history row said the record forgot; the check-in
after it in the batch was kept as `reported`, so the past audit of any instant after it
read the check-in's 3.49. The promotion withdrawn meanwhile, the label out of reach and
flipped to -20 % by its own clock, that past audit said `match` ("shows 3.49, due 3.49")
while the live audit had said `unconfirmed` and the shelf showed 2.79. Real controller and
dispatcher, firmware_sim labels through the in-memory gateway (each word delivered when
and in the batch the test says), one test clock; SQLite and PostgreSQL. Each minute: the
simulated panel, the live audit through GET /api/v1/audit, and that minute audited `?at=`
a day later."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.pipeline.test_withdrawn_flip_audit import _flash, _withdraw_flash
from tests.support.pipeline import publish

# What the past audit must say as the live audit said it.
SAME = ("class", "shown_hash", "shown_price", "due_price", "shows_due")


@dataclass(frozen=True, slots=True)
class Minute:
    at: datetime
    panel_right: bool  # the simulated panel shows the image due
    live: dict[str, Any]


async def _backlog_with_a_late_acknowledgement(
    world: World, label_id: str, *, first_check_in_alone: bool
) -> datetime:
    """-20 % on MLK-1 from 20 minutes ahead: the label takes the timed frame and shows
    3.49 until then. Its acknowledgement is held at the gateway; the label checks in (the
    first check-in) and checks in again five seconds later (the next one); the backlog
    is relayed at once: the acknowledgement, refused as older than the first check-in,
    settles the frame, and the next check-in is believed. `first_check_in_alone`: the
    first check-in was relayed at once, in a batch of its own; else it leads the backlog.
    The start."""
    world.clock.advance(timedelta(seconds=30))  # the panel's refresh over
    starts = (world.clock.now + timedelta(minutes=20)).replace(microsecond=0)
    publish(world.sessions, [_flash(starts)], now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    acknowledgements = radio(world.gateway.take(), world.labels, now=world.clock.now)
    assert acknowledgements
    world.clock.advance(timedelta(seconds=10))
    backlog: list[Uplink] = [world.check_in(label_id)]
    if first_check_in_alone:
        world.dispatcher.settle(backlog)
        backlog = []
    world.clock.advance(timedelta(seconds=5))
    backlog += [replace(answer, received_at=world.clock.now) for answer in acknowledgements]
    backlog.append(world.check_in(label_id))
    world.dispatcher.settle(backlog)
    assert world.rows(label_id)[-1][1] == "acked"
    return starts


async def _audit(client: httpx.AsyncClient, label_id: str, at: datetime | None = None) -> Any:
    """`label_id`'s item of GET /api/v1/audit: live, or of the instant `at`."""
    query = "" if at is None else "&at=" + at.isoformat().replace("+00:00", "Z")
    response = await client.get(f"/api/v1/audit?store=S01{query}")
    assert response.status_code == 200, response.text
    (item,) = [item for item in response.json()["items"] if item["label_id"] == label_id]
    return item


async def _minutes(
    world: World,
    client: httpx.AsyncClient,
    label_id: str,
    *,
    until: datetime,
    out_of_reach: Collection[str] = (),
) -> list[Minute]:
    """The world running minute by minute until `until` (frames to `out_of_reach` lost):
    each minute, whether the panel shows the due image, and the live audit."""
    found = []
    while world.clock.now < until:
        await world.run_until(world.clock.now + timedelta(minutes=1), out_of_reach=out_of_reach)
        right = world.panel_hash(label_id) == world.hash_of(label_id)
        found.append(Minute(world.clock.now, right, await _audit(client, label_id)))
    return found


@pytest.mark.parametrize(
    "first_check_in_alone",
    [pytest.param(True, id="check-in-heard-first"), pytest.param(False, id="all-in-one-batch")],
)
async def test_the_past_audit_never_calls_right_what_the_live_audit_doubted(
    engine: Engine, first_check_in_alone: bool
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    starts = await _backlog_with_a_late_acknowledgement(
        world, label_id, first_check_in_alone=first_check_in_alone
    )

    async with world.admin_api() as client:
        # It shows 3.49 and may hold the flip: the record cannot say which it will show.
        first = Minute(
            world.clock.now,
            world.panel_hash(label_id) == world.hash_of(label_id),
            await _audit(client, label_id),
        )
        assert first.live["class"] == "unconfirmed", first.live
        # Out of reach from now on: the withdrawal's cancelling frame never gets there.
        minutes = [first]
        minutes += await _minutes(
            world, client, label_id, until=starts - timedelta(minutes=5), out_of_reach={label_id}
        )
        _withdraw_flash(world, starts)
        minutes += await _minutes(
            world, client, label_id, until=starts + timedelta(minutes=10), out_of_reach={label_id}
        )
        assert not minutes[-1].panel_right  # flipped to -20 % by its own clock
        # The case that matters: the flip on the panel while the live audit doubts it.
        assert any(not m.panel_right and m.live["class"] == "unconfirmed" for m in minutes)
        world.dispatcher.settle([world.check_in(label_id)])  # back in reach
        minutes += await _minutes(
            world, client, label_id, until=world.clock.now + timedelta(minutes=5)
        )
        assert minutes[-1].panel_right
        assert minutes[-1].live["class"] == "match"  # put right

        world.clock.advance(timedelta(days=1))
        past = [await _audit(client, label_id, minute.at) for minute in minutes]

    wrong = [
        f"{minute.at}: panel {'right' if minute.panel_right else 'wrong'}, "
        f"live {[minute.live[key] for key in SAME]}, past {[then[key] for key in SAME]}"
        for minute, then in zip(minutes, past, strict=True)
        if then["class"] in SHELF_RIGHT
        and (not minute.panel_right or minute.live["class"] not in SHELF_RIGHT)
    ]
    assert wrong == [], "the past audit called right a shelf the live audit doubted"
    # The live audit calls the shelf right only while the panel shows the due price.
    assert [m.at for m in minutes if m.live["class"] in SHELF_RIGHT and not m.panel_right] == []
    differing = [
        f"{minute.at}: live {[minute.live[key] for key in SAME]}, "
        f"past {[then[key] for key in SAME]}"
        for minute, then in zip(minutes, past, strict=True)
        if minute.live["class"] == "unconfirmed" and then["class"] != "unconfirmed"
    ]
    assert differing == [], "the past audit read a panel the live audit had forgotten"
