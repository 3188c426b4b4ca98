"""Review (failing): a timed frame the label took once its own clock had passed the
instant is on the panel at once, and the publication page calls it "flip not shown".

A label whose clock runs 50 s ahead (inside the 60 s tolerance: no SetClock, no offset
kept) is sent MLK-1's new price timed for 30 s later. On its clock the instant has
passed, so it draws the image at once and acknowledges it showing it; the record holds
no flip for it (`held_flips.note_answered_image`) and the console's label state and the
audit both say the new price is on the panel. The publication page
(`esl.ui.publication_reach._heard_showing`) looks for a word *arriving* at or after the
planned instant reporting the image; the acknowledgement arrived 30 s before it, so with
no later word (a BLE label heard again only at its keep-alive, 27 minutes on) the page
says the label is not on the shelf: "flip not shown: heard after the instant showing
another image", the opposite of what the label said.

Controller, dispatcher and simulated label over the real protocol, SQLite, one test
clock (tests/pipeline/small_world.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.services.health import label_condition
from esl.ui.publication_reach import publication_reach
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures
from tests.support.pipeline import publish_prices


async def test_a_flip_drawn_at_once_is_not_called_not_shown(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)
    (label_id,) = world.labels
    world.labels[label_id].clock_offset_ms = 50_000  # ahead, inside the tolerance
    flip = (world.clock.now + timedelta(seconds=30)).replace(microsecond=0)
    publication = publish_prices(
        world.sessions, {"MLK-1": "3.49"}, now=world.clock.now, effective_at=flip
    )
    state = await world.acknowledge_timed_image(label_id, flip)
    assert world.clock.now < flip
    # The label drew it at once and said so; the record holds no flip for it.
    assert state.held_hash is None
    assert state.displayed_hash == state.confirmed_hash == world.panel_hash(label_id)

    world.clock.advance(flip + timedelta(minutes=5) - world.clock.now)  # no word since
    assert world.panel_hash(label_id) == world.hash_of(label_id)  # 3.49 on the shelf
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match"
    with world.sessions() as session:
        condition = label_condition(session, label_id, now=world.clock.now)
        (reach,) = publication_reach(session, now=world.clock.now, publication_id=publication)
    assert condition.status.value == "up_to_date"
    assert reach.not_on_shelf == {}, (
        f"the publication page says {reach.not_on_shelf} of a label that acknowledged "
        "showing its image and shows it"
    )
