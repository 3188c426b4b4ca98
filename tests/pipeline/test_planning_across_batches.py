"""A promotion on products whose labels fall across several planning batches reaches every
label at its instant (issue 13, observation 7).

The planner works in batches of 500 labels and reads each batch's price history; a
product whose labels fall into two batches had its history read twice into one ledger,
which refused the second copy (`LedgerOrderError`) and stopped the controller, at every
restart. Here one store of 600 labels is bound alternately to two products and a -20 %
promotion on both is published, now and twenty minutes ahead; every panel is compared with
the reference render of what is due, and with what the controller recorded.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from esl.db.models import LabelStateRow
from rendering.encoding import content_hash
from tests.pipeline.shared_clock_store import (
    DAIRY_SKUS,
    DAIRY_SPEED,
    SharedClockStore,
    publish,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LABELS = 600


@pytest.fixture
async def store(dairy_store: SharedClockStore) -> SharedClockStore:
    dairy_store.install(LABELS, skus=DAIRY_SKUS)
    await dairy_store.start_gateway()
    await dairy_store.start_controller()
    # Generous: at ten times real speed a loaded runner makes simulated answers late, so
    # frames time out and are sent again; the first 600 images can take minutes there.
    await dairy_store.wait_showing_due(at=dairy_store.clock(), timeout_s=360)
    return dairy_store


def _promotion() -> list[dict[str, object]]:
    return [
        {
            "action": "upsert_promotion",
            "promotion_id": "MINUS-20",
            "name": "-20%",
            "kind": "percent_off",
            "percent": "20",
            "skus": list(DAIRY_SKUS),
            "channels": ["store"],
        }
    ]


async def _wait_recorded_equals_shown(shelf: SharedClockStore) -> None:
    # Generous: the labels check in on the fast shared clock, so a controller starved of CPU
    # (other processes on the two cores) drops uplinks over its bound and converges only at
    # later check-ins; the wait ends as soon as the record and the panels agree.
    await shelf.wait_until(
        lambda: not _recorded_other_than_shown(shelf),
        timeout_s=120,
        what=lambda: f"recorded != shown for {len(_recorded_other_than_shown(shelf))} labels",
    )


def _recorded_other_than_shown(shelf: SharedClockStore) -> list[str]:
    """Labels whose recorded content (confirmed and displayed) is not what their panel shows."""
    with shelf.sessions() as session:
        states = {
            row.label_id: (row.confirmed_hash, row.displayed_hash, row.desired_hash)
            for row in session.scalars(select(LabelStateRow))
        }
    wrong = []
    for label_id, label in shelf.labels.items():
        assert label.shown is not None
        shown = content_hash(label.shown).hex()
        if states.get(label_id) != (shown, shown, shown):
            wrong.append(label_id)
    return wrong


async def test_an_immediate_promotion_reaches_labels_in_every_batch(
    store: SharedClockStore,
) -> None:
    publish(store.sessions, _promotion(), now=store.clock())
    await store.wait_showing_due(at=store.clock(), timeout_s=360)
    await _wait_recorded_equals_shown(store)


async def test_a_promotion_two_minutes_ahead_flips_every_label_at_its_instant(
    store: SharedClockStore,
) -> None:
    before = store.due_planes(store.clock())
    # Far enough ahead that 600 timed images arrive before it even on a loaded machine;
    # the clock jumps to the instant once they have.
    instant = (store.clock() + timedelta(minutes=20)).replace(microsecond=0)
    publish(store.sessions, _promotion(), now=store.clock(), effective_at=instant)
    instant_ms = int(instant.timestamp() * 1000)

    def holding_the_flip() -> list[str]:
        return sorted(
            label_id
            for label_id, label in store.labels.items()
            if label.scheduled_page is None or label.scheduled_at_ms != instant_ms
        )

    # Before the instant every label holds the timed image and still shows the old price.
    await store.wait_until(
        lambda: not holding_the_flip() and store.open_rows() == 0,
        timeout_s=(instant - store.clock()).total_seconds() / DAIRY_SPEED,
        what=lambda: f"{len(holding_the_flip())} labels do not hold the flip at the instant",
    )
    assert store.clock() < instant
    assert store.showing_other_than(before) == []

    store.jump_to(instant + timedelta(seconds=1))
    after = store.due_planes(instant)
    assert after != before
    for label in store.labels.values():
        label.state(now=store.clock())  # the label's own timer fires when it is next asked
    assert store.showing_other_than(after) == []
    # The labels' next check-ins tell the controller what they show now.
    await _wait_recorded_equals_shown(store)
