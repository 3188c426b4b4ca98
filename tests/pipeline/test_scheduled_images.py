"""A scheduled image travels in addition to the image of now, never instead of it
(issue 13, observation 3).

Labels bound while a publication effective within the controller's lead time was pending
got only the timed image: blank until the instant, while health said up to date. Here,
on real parts (SQLite, paho, a real Mosquitto, a simulated store gateway and labels on
one shared clock), every panel is compared with the reference render of what is due
before the instant and after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from esl.db.models import PlannedPublicationRow
from esl.services.health import label_health
from tests.pipeline.shared_clock_store import (
    DAIRY_SKUS,
    DAIRY_SPEED,
    SharedClockStore,
    publish,
)

pytestmark = pytest.mark.integration


def _promotion_at(shelf: SharedClockStore, instant: datetime) -> int:
    return publish(
        shelf.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "WEEKEND",
                "name": "Weekend",
                "kind": "percent_off",
                "percent": "20",
                "skus": list(DAIRY_SKUS),
                "channels": ["store"],
            }
        ],
        now=shelf.clock(),
        effective_at=instant,
    )


def _instant(shelf: SharedClockStore) -> datetime:
    return (shelf.clock() + timedelta(minutes=3)).replace(microsecond=0)


def _not_holding(shelf: SharedClockStore, instant: datetime) -> list[str]:
    instant_ms = int(instant.timestamp() * 1000)
    return sorted(
        label_id
        for label_id in shelf.bindings
        if shelf.labels[label_id].scheduled_page is None
        or shelf.labels[label_id].scheduled_at_ms != instant_ms
    )


async def _shows_now_and_holds_the_flip(shelf: SharedClockStore, instant: datetime) -> None:
    """Before `instant`: every bound label shows what is due now and holds the flip."""
    due_now = shelf.due_planes(shelf.clock())
    await shelf.wait_until(
        lambda: (
            not shelf.showing_other_than(due_now)
            and not _not_holding(shelf, instant)
            and shelf.open_rows() == 0
        ),
        timeout_s=(instant - shelf.clock()).total_seconds() / DAIRY_SPEED,
        what=lambda: (
            f"before the instant: {shelf.showing_other_than(due_now)} do not show the price "
            f"due now, {_not_holding(shelf, instant)} do not hold the flip, "
            f"{shelf.open_rows()} frames open"
        ),
    )
    assert shelf.clock() < instant
    with shelf.sessions() as session:
        health = label_health(session, now=shelf.clock())
    # Showing the price of now and holding the flip is what "scheduled" means to the one
    # classifier (esl/services/label_status.py): nothing open, a confirmed flip ahead.
    assert sum(h.scheduled for h in health) == len(shelf.bindings)
    assert sum(h.pending + h.failed + h.unplanned for h in health) == 0


async def test_labels_first_planned_for_a_change_ahead_show_the_price_of_now_until_it(
    dairy_store: SharedClockStore,
) -> None:
    dairy_store.install(6, skus=DAIRY_SKUS)
    instant = _instant(dairy_store)
    _promotion_at(dairy_store, instant)
    # The controller starts with the bindings and the publication ahead both new: the
    # labels are blank, and the publication is planned first.
    await dairy_store.start_gateway()
    await dairy_store.start_controller()
    await _shows_now_and_holds_the_flip(dairy_store, instant)
    await dairy_store.assert_shows_due_at(instant)


async def test_a_label_bound_after_a_change_ahead_was_planned_gets_it_too(
    dairy_store: SharedClockStore,
) -> None:
    label_ids = dairy_store.install(6, skus=None)
    dairy_store.bind({label_id: DAIRY_SKUS[i % 2] for i, label_id in enumerate(label_ids[:4])})
    await dairy_store.start_gateway()
    await dairy_store.start_controller()
    await dairy_store.wait_showing_due(timeout_s=60)
    instant = _instant(dairy_store)
    publication_id = _promotion_at(dairy_store, instant)

    def planned() -> bool:
        with dairy_store.sessions() as session:
            return session.get(PlannedPublicationRow, publication_id) is not None

    await dairy_store.wait_until(
        planned, timeout_s=10, what=lambda: "the publication was not planned"
    )
    dairy_store.bind({label_id: DAIRY_SKUS[i % 2] for i, label_id in enumerate(label_ids[4:])})
    await _shows_now_and_holds_the_flip(dairy_store, instant)
    await dairy_store.assert_shows_due_at(instant)
