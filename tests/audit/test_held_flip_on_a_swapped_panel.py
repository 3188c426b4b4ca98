"""A label holding a timed image (a promotion planned ahead, its flip acknowledged), and
before the instant an operation that makes the record forget what it shows:

- its panel swapped for another model: the new panel holds nothing, and shows what it
  is sent, blank until then. The audit says so: `unconfirmed` while its image is on its
  way, through the instant, never the old panel's flip as shown;
- a refresh asked for: nothing reaches the panel until its image of now (which cancels
  the flip, the timed image sent again behind it), so a label out of reach still flips
  at the instant, and the live audit reads the flip as shown, as the panel shows it.

The real controller and dispatcher, firmware_sim labels through the in-memory gateway,
one test clock; SQLite and PostgreSQL. Each minute: what the simulated panel shows, the
live audit through GET /api/v1/audit, and that instant `?at=` a day later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.audit.test_past_audit_after_the_record_changed_the_panel import (
    _panel_swapped,
    _refresh_asked,
)
from tests.audit.test_past_audit_reads_the_panel_as_the_pipeline_took_it import SAME, _audit_items
from tests.pipeline.small_world import SHELF_RIGHT, World


@pytest.mark.parametrize(
    ("operation", "past_agrees"),
    [
        pytest.param(_panel_swapped, True, id="model-swap"),
        # A flip between two reports is not in the history (docs/audit.md): the past
        # audit says `unconfirmed` where the live one reads the flip.
        pytest.param(_refresh_asked, False, id="refresh"),
    ],
)
async def test_the_audit_reads_the_held_flip_only_where_the_panel_holds_it(
    engine: Engine, operation: Callable[[World, str], Awaitable[None]], past_agrees: bool
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    flip = world.publish_flip_ahead("2.49", ahead=timedelta(minutes=4))
    await world.converge()  # 2.49 at `flip`, held by the old panel
    assert world.state(label_id).held_hash is not None
    world.clock.advance(timedelta(minutes=1))
    await operation(world, label_id)

    seen = []  # (instant, panel, due, live audit)
    async with world.admin_api() as client:
        for _ in range(8):
            # Frames to the new panel lost until a minute past the instant.
            lost = [label_id] if world.clock.now < flip + timedelta(minutes=1) else []
            await world.run_until(world.clock.now + timedelta(minutes=1), out_of_reach=lost)
            panel, due = world.panel_hash(label_id), world.hash_of(label_id)
            live = (await _audit_items(client)).get(label_id) or {}
            seen.append((world.clock.now, panel, due, live))
        world.clock.advance(timedelta(days=1))
        past = [(await _audit_items(client, at)).get(label_id) or {} for at, *_ in seen]

    # The live audit names the panel's image, or none (unknown); it calls the shelf
    # right only when the panel shows its due image.
    misread = [
        f"{at}: panel {str(panel)[:12]}, due {due[:12]}; audit {live.get('class')} "
        f"(shows {str(live.get('shown_hash'))[:12]} {live.get('shown_price')}, due "
        f"{live.get('due_price')})"
        for at, panel, due, live in seen
        if live.get("shown_hash") not in (None, panel)
        or (panel != due and live.get("class") in SHELF_RIGHT)
    ]
    assert misread == []
    differing = [
        f"{at}: live {[live.get(k) for k in SAME]}, past {[then.get(k) for k in SAME]}"
        for (at, *_, live), then in zip(seen, past, strict=True)
        if any(live.get(k) != then.get(k) for k in SAME)
    ]
    assert (differing == []) == past_agrees, differing
    classes = [live.get("class") for *_, live in seen]
    assert seen[0][3].get("class") == "unconfirmed", classes
    *_, (_, panel, due, live) = seen
    assert panel == due, classes  # 2.49, shown
    assert live.get("class") == "match", classes
