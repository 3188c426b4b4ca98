"""The controller's garbage-collector settings apply while it runs and are undone after."""

from __future__ import annotations

import gc

from esl.pipeline.heap import YOUNG_THRESHOLD, long_running_heap


def test_start_up_heap_is_frozen_and_young_threshold_raised_while_running() -> None:
    before = gc.get_threshold()
    with long_running_heap():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_nested_controllers_restore_the_settings_only_when_the_outermost_stops() -> None:
    before = gc.get_threshold()
    with long_running_heap():
        with long_running_heap():
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # the outer one still runs
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
