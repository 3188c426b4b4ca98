"""Content that draws differently is never taken for content already on the panel
(issue 13, observation 4).

In the demo a product's promotion was replaced by another promotion at the same price
with another end date: the price did not change, so no ledger entry was written, the
label was never planned and kept the old validity text ("do 08.12") while health said
up to date. Here the same happens on real parts (SQLite, paho, a real Mosquitto, a
simulated store gateway): every panel must end showing, pixel for pixel, the reference
render of what is due, and the controller's record must match it.
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

pytestmark = pytest.mark.integration

# Five simulated minutes: what `esl audit --fail-after 5m` allows a fresh demo.
CONVERGE_S = 5 * 60 / DAIRY_SPEED


@pytest.fixture
async def store(dairy_store: SharedClockStore) -> SharedClockStore:
    dairy_store.install(4, skus=DAIRY_SKUS)
    await dairy_store.start_gateway()
    await dairy_store.start_controller()
    return dairy_store


def _percent_off(promotion_id: str, *, until: str, priority: int) -> dict[str, object]:
    return {
        "action": "upsert_promotion",
        "promotion_id": promotion_id,
        "name": promotion_id,
        "kind": "percent_off",
        "percent": "15",
        "skus": ["MLK-1"],
        "channels": ["store"],
        "valid_until": until,
        "priority": priority,
    }


async def test_a_promotion_replaced_at_the_same_price_with_another_end_reaches_the_panel(
    store: SharedClockStore,
) -> None:
    now = store.clock()
    first_end = (now + timedelta(days=5)).replace(hour=23, minute=0, second=0, microsecond=0)
    publish(
        store.sessions,
        [_percent_off("AUTUMN", until=first_end.isoformat(), priority=0)],
        now=now,
    )
    await store.wait_showing_due(timeout_s=CONVERGE_S)
    milk = sorted(label for label, sku in store.bindings.items() if sku == "MLK-1")
    before = {label: store.labels[label].shown for label in milk}

    # Black Week: the same 15 %, so the same price, but running a week longer.
    second_end = first_end + timedelta(days=7)
    publish(
        store.sessions,
        [_percent_off("BLACK-WEEK", until=second_end.isoformat(), priority=10)],
        now=store.clock(),
    )
    await store.wait_showing_due(timeout_s=CONVERGE_S)
    # The due content really draws differently (the validity text), and the panel shows it.
    assert all(store.labels[label].shown != before[label] for label in milk)
    with store.sessions() as session:
        states = {row.label_id: row for row in session.scalars(select(LabelStateRow))}
    for label_id, label in store.labels.items():
        assert label.shown is not None
        shown = content_hash(label.shown).hex()
        assert states[label_id].confirmed_hash == shown
        assert states[label_id].desired_hash == shown
