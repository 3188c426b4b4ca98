"""Shelf truth under an adversarial network: a property test (issue 13, "Done when").

Hypothesis draws a schedule of events and plays it against the real controller
(`UpdateController`, its planner and dispatcher, on SQLite) and real simulated labels
(`firmware_sim`, behind a `StoreGatewaySim`) speaking the signed protocol, all on one test
clock, with the network between them held by an attacker (`adversarial_network.py`):

- time passes (the controller plans, dispatches, times out and retries; the store
  gateway's radio delivers frames to the labels and their check-ins and answers go up);
- frames and answers are delivered in any order, dropped, duplicated, or held back;
- genuine frames and answers captured earlier are replayed; forged frames (a copy of a
  genuine one, same label and sequence, altered body) and forged answers are injected;
- prices change, now or a few minutes ahead, and promotions start or are replaced;
- a label is reset (blank, sequence counter back to 0) or restored from an older backup
  (an older image and an older sequence counter);
- the controller restarts: a new `UpdateController` on the same database, whatever it
  held in memory lost.

Then the faults stop, time runs past every scheduled instant, the retries and a
reconciliation pass, and the network delivers everything. After that, for every label:
the controller's record (`label_states.confirmed_hash`) == the hash of the image on the
simulated panel == the hash of a fresh render of what is due now (the quote service and
the renderer); and every image the panel ever showed (its whole history, each refresh and
timed flip) was the render of content due for that label's product at some instant of a
publication (so of a price published for it).

The world, the events and the schedules are in `adversarial_shelf.py`.
Examples: `ESL_PROPERTY_EXAMPLES` (default 25), derandomized so CI replays the same
schedules; `ESL_PROPERTY_SEED=<n>` explores other schedules from that seed. See
docs/pipeline.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from sqlalchemy import Engine

from tests.pipeline.adversarial_shelf import (
    Event,
    Shelf,
    note_schedule,
    play_on_a_copy,
    property_test,
    schedules,
    write_template_database,
)


@pytest.fixture(scope="module")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template_database(tmp_path_factory.mktemp("shelf-truth") / "template.sqlite")


@property_test
@given(schedule=schedules())
def test_after_any_interleaving_every_label_shows_what_is_recorded_and_due(
    template_database: Path, schedule: list[Event]
) -> None:
    note_schedule(schedule)

    async def play(engine: Engine) -> None:
        shelf = Shelf(engine)
        await shelf.round()
        for event in schedule:
            await shelf.play(event)
        await shelf.quiesce()
        untruths = shelf.untruths()
        assert not untruths, "\n".join(
            [*untruths, f"open: {shelf.describe()}", f"publications refused: {shelf.refused}"]
        )

    play_on_a_copy(template_database, play)
