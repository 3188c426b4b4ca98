"""Which changes of a label's last update, as the radio marks it (count, time), the store
gateway takes for a label drawn over behind it, and that each of its own deliveries, a
restart of either side and an older state file cost at most one extra delivery.

Found by review: only a count that *rose* counted, so a tag deleted on the AP (its count
starting again from 0) and drawn over back up to the count of our delivery kept the
forged price (tests/gateways/oepl/test_drawn_over_after_tag_rejoined.py, through the AP).
"""

from __future__ import annotations

from gateways.store_gateway.label_stand_in import confirmed, drawn_over
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.radio import LabelHealth
from tests.support.oepl import price_planes

OURS = "d41d8cd98f00b204"
T = 1_780_000_000  # the AP's clock at our delivery


def _delivered(health: LabelHealth) -> LabelRecord:
    label = LabelRecord(label_id="L-1", address="L-1", model="2.9-bwr", key=None)
    return confirmed(label.evolve(shown=price_planes(seed=1)), health)


def _heard(updates: int, updated_s: int, *, holds: str = OURS) -> LabelHealth:
    return LabelHealth(holds=holds, updates=updates, updated_s=updated_s)


def test_the_update_of_our_delivery_is_not_drawn_over_however_often_it_is_heard() -> None:
    label = _delivered(_heard(5, T))
    assert not drawn_over(label, _heard(5, T))
    assert not drawn_over(label, _heard(5, T))


def test_another_update_is_drawn_over_whether_the_count_rose_fell_or_came_back() -> None:
    label = _delivered(_heard(5, T))
    assert drawn_over(label, _heard(6, T + 40))  # someone else's image, record put back
    assert drawn_over(label, _heard(5, T + 90))  # deleted, joined again, drawn over twice
    assert drawn_over(label, _heard(0, 0))  # forgotten by the AP and back, or AP restarted
    assert drawn_over(label, _heard(3, T - 600))  # the AP restarted with an older record


def test_once_drawn_over_a_label_is_not_again_until_a_delivery_of_ours_is_confirmed() -> None:
    label = _delivered(_heard(5, T))
    # As the health poll leaves it: nothing confirmed, nothing known to be shown.
    forgotten = label.evolve(
        shown=None, shown_hash=None, radio_holds="", radio_updates=None, radio_updated_s=None
    )
    assert not drawn_over(forgotten, _heard(0, 0))
    assert not drawn_over(forgotten, _heard(1, T + 60))
    # The due image again (or a Refresh Display): that update is the one compared now.
    again = _delivered(_heard(1, T + 60))
    assert not drawn_over(again, _heard(1, T + 60))


def test_a_state_file_without_the_time_compares_the_count_alone() -> None:
    # Kept by the release before the time was kept: a gateway upgraded in place does not
    # send every label its image again because the radio now says when.
    label = _delivered(_heard(5, T)).evolve(radio_updated_s=None)
    assert not drawn_over(label, _heard(5, T))
    assert drawn_over(label, _heard(4, T + 90))


def test_a_radio_that_keeps_no_update_count_is_compared_by_what_it_holds() -> None:
    label = _delivered(LabelHealth(holds=OURS))
    assert not drawn_over(label, LabelHealth(holds=OURS))
    assert drawn_over(label, LabelHealth(holds="another"))
