"""`--at T` says what the live audit said at T, for a label whose word the pipeline did
not take as its panel, or took as unknown.

The past audit read each label's panel from its last kept check-in or acknowledgement
naming an image, whether or not the pipeline had taken it. So:

- a timed image's acknowledgement relayed behind the check-in after it (refused as
  older: the check-in is the label's newest word) was read as the panel: the past
  audit said `stale` ("shows 2.49, due 3.49", the promotion ahead) where the live audit
  said `match` and the panel showed 3.49 (since, the record forgets the panel at such an
  acknowledgement, and both say `unconfirmed`);
- a label reset to factory whose blank check-in is older than its last word (its count
  back at 0, its clock restarted behind): the record forgets what it shows, but the
  check-in was not kept, so the past audit said `match` on the 3.49 reported before, on a
  blank shelf the live audit called `unconfirmed`;
- a label restored from a backup (its count back, its clock on): its check-in of the old
  3.49, weighed as older, makes the record forget what it shows; the past audit read the
  3.49 the live audit had not believed (`stale`, live `unconfirmed`);
- a label blanked (a reset keeping its count): its believed check-in names no image, so
  the past audit skipped it and said `match` on the 3.49 before, on a blank shelf;
- a label ahead of a restored database refuses its keep-alive ping as stale: the record
  forgets what it shows, but the refusal was not kept, and the past audit said `match`
  on the restored record's price while the shelf showed the price the restore lost.

Each kept word now says what the record made of its panel
(`esl.delivery_states.RecordedPanel`), and the past audit reads that. The real controller
and dispatcher, firmware_sim labels through the in-memory gateway (each word delivered
when and in the order the test says), one test clock; SQLite and PostgreSQL. The live
audit through GET /api/v1/audit at T and at each minute after while the controller puts
the label right, then each of those instants `?at=` a day later, compared.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from firmware_sim.images import ImageStore
from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.pipeline.test_record_behind_the_label import _back_up, _restore
from tests.pipeline.test_reset_label_given_an_old_frame import reset_to_factory
from tests.support.pipeline import publish_prices

# What the past audit must say as the live audit said it.
SAME = ("class", "shown_hash", "shown_price", "due_price", "shows_due")


async def _timed_image_acknowledged_behind_its_check_in(world: World, label_id: str) -> None:
    """2.49 from ten minutes ahead: the label takes the timed frame and shows 3.49 until
    then; its acknowledgement is held at the gateway and relayed after its next check-in,
    which the controller took: refused as older, it settles the frame."""
    world.clock.advance(timedelta(seconds=30))  # the panel's refresh over
    world.publish_flip_ahead("2.49", ahead=timedelta(minutes=10))
    await world.acknowledged_behind_its_check_in(label_id)


async def _reset_to_factory_behind_its_last_check_in(world: World, label_id: str) -> None:
    """Reset to factory (blank, count 0, its clock an hour behind): its check-in is older
    than its last one by count and clock, so nothing of it is believed, not even that it
    was heard; the record forgets what it shows."""
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([world.check_in(label_id)])
    world.clock.advance(timedelta(minutes=1))
    reset_to_factory(world, label_id)
    world.labels[label_id].clock_offset_ms = -3_600_000
    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([world.check_in(label_id)])


async def _restored_from_a_backup(world: World, label_id: str) -> None:
    """A backup taken at 3.49 (sequence 1); 3.19 since (sequence 2); then the backup
    restored, its clock running on: its check-in of 3.49 is older by count."""
    backup = world.back_up(label_id)
    publish_prices(world.sessions, {"MLK-1": "3.19"}, now=world.clock.now)
    await world.converge()
    world.restore(label_id, backup)
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(label_id)])


async def _blanked_keeping_its_count(world: World, label_id: str) -> None:
    """Its panel and stored images lost, its count kept: its believed check-in names no
    image, and the record takes that (nothing shown, nothing confirmed)."""
    world.restore(label_id, (world.labels[label_id].snapshot(), ImageStore()))
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(label_id)])


async def _audit_items(
    client: httpx.AsyncClient, at: datetime | None = None
) -> dict[str, dict[str, Any]]:
    query = "" if at is None else "&at=" + at.isoformat().replace("+00:00", "Z")
    response = await client.get(f"/api/v1/audit?store=S01{query}")
    assert response.status_code == 200, response.text
    return {item["label_id"]: item for item in response.json()["items"]}


async def _live_then_past(
    world: World, client: httpx.AsyncClient, label_id: str, *, minutes: int
) -> list[tuple[datetime, dict[str, Any], dict[str, Any]]]:
    """The live audit of `label_id` now and at the end of each of the next `minutes` of the
    controller's rounds (the label put right, heard again), then each of those instants
    audited `?at=` a day later: (instant, live, past)."""
    live = [(world.clock.now, (await _audit_items(client))[label_id])]
    for _ in range(minutes):
        await world.run_until(world.clock.now + timedelta(minutes=1))
        live.append((world.clock.now, (await _audit_items(client))[label_id]))
    world.clock.advance(timedelta(days=1))
    return [(at, then, (await _audit_items(client, at))[label_id]) for at, then in live]


def _differing(found: list[tuple[datetime, dict[str, Any], dict[str, Any]]]) -> list[str]:
    """The instants whose past audit says other than the live audit said then."""
    return [
        f"{at}: live {[live[key] for key in SAME]}, past {[past[key] for key in SAME]}"
        for at, live, past in found
        if any(past[key] != live[key] for key in SAME)
    ]


@pytest.mark.parametrize(
    ("scenario", "live_class", "panel_right"),
    [
        # Refused as older, the acknowledgement cannot say whether the label still holds
        # the flip: the record forgets the panel (tests/pipeline/
        # test_refused_acknowledgement_of_a_timed_frame.py), though it shows 3.49.
        pytest.param(
            _timed_image_acknowledged_behind_its_check_in, "unconfirmed", True, id="timed-ack"
        ),
        pytest.param(_reset_to_factory_behind_its_last_check_in, "unconfirmed", False, id="reset"),
        pytest.param(_restored_from_a_backup, "unconfirmed", False, id="restored"),
        pytest.param(_blanked_keeping_its_count, "unconfirmed", False, id="blanked"),
    ],
)
async def test_the_past_audit_says_what_the_live_audit_said(
    engine: Engine,
    scenario: Callable[[World, str], Awaitable[None]],
    live_class: str,
    panel_right: bool,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    await scenario(world, label_id)
    assert (world.panel_hash(label_id) == world.hash_of(label_id)) is panel_right

    async with world.admin_api() as client:
        found = await _live_then_past(world, client, label_id, minutes=3)
    _, live, _ = found[0]
    assert live["class"] == live_class, live
    # The live audit calls the shelf right only while the panel shows the due price.
    assert panel_right or live["class"] not in SHELF_RIGHT
    assert _differing(found) == []


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the backup: a file copy
async def test_a_keep_alive_ping_refused_as_stale_after_a_database_restore(
    engine: Engine, tmp_path: Path
) -> None:
    """The database restored from last night's backup, which lost the day's changes the
    shelf took (3.19, 2.79, then 2.99 shown): the label's keep-alive ping, signed with a
    number it already passed, is refused as stale, and the record forgets what it shows
    (the live audit `unconfirmed`) until the due image is sent in full. Before, the
    refusal was not kept, and the past audit read the restored record's 3.49, due again:
    `match` while the shelf showed 2.99."""
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    _back_up(engine, tmp_path)
    for price in ("3.19", "2.79", "2.99"):
        world.clock.advance(timedelta(minutes=10))
        publish_prices(world.sessions, {"MLK-1": price}, now=world.clock.now)
        await world.converge()
    _restore(engine, world, tmp_path)

    async with world.admin_api() as client:
        found = await _live_then_past(world, client, label_id, minutes=5)
    assert [live["class"] for _, live, _ in found[:2]] == ["offline", "unconfirmed"]
    assert found[-1][1]["class"] == "match"  # put right
    assert _differing(found) == []
