"""`--at T` after a timed flip the label made by itself, unheard since: the past audit
must say what the live audit said at T.

The live audit reads the flip from the label's state (`esl.services.panel_image`: a
timed image it holds whose instant has passed, no believed answer since): the panel
shows the promotion. The past audit reads only the kept words (`label_reads.past_seen`):
the acknowledgement of the timed frame, which names the image of before: `stale` on a
right shelf, and `match` on a shelf flipped to a withdrawn promotion (found by review).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from gateways.base import Uplink
from tests.audit.test_past_audit_reads_the_panel_as_the_pipeline_took_it import (
    _audit_items,
    _differing,
)
from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.pipeline.test_withdrawn_flip_audit import (
    _check_in_held_across_the_withdrawn_flip,
    _holding_the_flash,
    _withdraw_flash,
)


async def test_the_past_audit_of_an_instant_after_an_unheard_flip_says_what_the_live_audit_said(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    world.clock.advance(timedelta(seconds=30))
    flip = world.publish_flip_ahead("2.49", ahead=timedelta(minutes=10))
    await world.acknowledge_timed_image(label_id, flip)

    async with world.admin_api() as client:
        found = []
        for instant in (flip - timedelta(minutes=1), flip + timedelta(minutes=1)):
            world.clock.advance(instant - world.clock.now)
            assert world.panel_hash(label_id) == world.hash_of(label_id)  # the panel is right
            found.append((instant, (await _audit_items(client))[label_id]))
        world.clock.advance(timedelta(days=1))
        found = [(at, live, (await _audit_items(client, at))[label_id]) for at, live in found]
    # After the instant, unheard: counted flipped, not heard so (`unconfirmed`), by both.
    assert [live["class"] for _, live, _ in found] == ["match", "unconfirmed"]
    assert _differing(found) == []


async def test_the_past_audit_of_a_withdrawn_flip_the_label_made_is_not_match(
    engine: Engine,
) -> None:
    """-20 % timed from 20 minutes ahead, acknowledged, then withdrawn while the label is
    out of reach: at the start it flips to -20 % by itself, a price no longer due. The
    live audit says so (not `match`); the past audit of the same instants must too."""
    world = World.priced(engine, count=2)
    label_id, starts, flash = await _holding_the_flash(world)
    _withdraw_flash(world, starts)

    async with world.admin_api() as client:
        found = []
        for instant in (starts + timedelta(minutes=1), starts + timedelta(minutes=3)):
            await world.run_until(instant, out_of_reach={label_id})
            assert world.panel_hash(label_id) == flash != world.hash_of(label_id)
            found.append((instant, (await _audit_items(client))[label_id]))
        world.clock.advance(timedelta(days=1))
        found = [(at, live, (await _audit_items(client, at))[label_id]) for at, live in found]
    assert all(live["class"] not in SHELF_RIGHT for _, live, _ in found), found
    assert [past["class"] for _, _, past in found if past["class"] in SHELF_RIGHT] == []
    assert _differing(found) == []


async def test_a_withdrawn_flip_a_few_seconds_back_is_not_match(engine: Engine) -> None:
    """The same withdrawn flip, audited three seconds back (a caller whose clock runs
    behind ours): a past audit, which must say what the live audit says."""
    world = World.priced(engine, count=2)
    label_id, starts, flash = await _holding_the_flash(world)
    _withdraw_flash(world, starts)
    await world.run_until(starts + timedelta(minutes=1), out_of_reach={label_id})
    assert world.panel_hash(label_id) == flash != world.hash_of(label_id)
    at = world.clock.now + timedelta(seconds=1)
    world.clock.advance(timedelta(seconds=4))

    async with world.admin_api() as client:
        live = (await _audit_items(client))[label_id]
        past = (await _audit_items(client, at))[label_id]
    assert live["class"] not in SHELF_RIGHT, live
    assert _differing([(at, live, past)]) == []


async def test_a_word_after_the_instant_naming_the_image_before_leaves_the_flip_in_doubt(
    engine: Engine,
) -> None:
    """The label's check-in signed before the withdrawn flip, relayed after the instant
    (a gateway's backlog): it names the image before, while the panel flipped. The kept
    word does not carry the label's clock, so the past audit cannot tell it from a label
    that lost its flip: the flip may be on the panel, and it never says `match`."""
    world = World.priced(engine, count=2)
    label_id, _, flash, report = await _check_in_held_across_the_withdrawn_flip(world)
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])

    instants = []
    for _ in range(3):
        await world.run_until(world.clock.now + timedelta(minutes=1), out_of_reach={label_id})
        assert world.panel_hash(label_id) == flash != world.hash_of(label_id)
        instants.append(world.clock.now)
    world.clock.advance(timedelta(days=1))
    async with world.admin_api() as client:
        past = [(await _audit_items(client, at))[label_id] for at in instants]
    assert [p["class"] for p in past if p["class"] in SHELF_RIGHT] == [], past
    assert all("2.79" in p["reason"] and "the panel may show it" in p["reason"] for p in past), past
