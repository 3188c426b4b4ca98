"""The ids a poll found missing below its mark are looked for again, for a while, a few.

An id missing may be a transaction still to commit (looked for at every poll) or one
rolled back (never coming): it is given up once the pass covering its row has come
round, and a jump of the ids is that pass's too, not a list kept in memory.
"""

from __future__ import annotations

from datetime import timedelta

from esl.pipeline.id_watermark import MAX_GAPS, IdWatermark, ids_missing
from tests.support.clock import Clock

KEEP_FOR = timedelta(minutes=5)


def test_an_id_missing_is_looked_for_until_the_pass_covering_it_has_come_round() -> None:
    clock = Clock()
    mark = IdWatermark(keep_for=KEEP_FOR)
    mark.moved(10, found=[], missing=[], now=clock.now)
    mark.moved(14, found=[], missing=ids_missing(10, 14, {11, 14}), now=clock.now)
    assert (mark.seen, mark.waiting(clock.now)) == (14, [12, 13])

    clock.advance(KEEP_FOR)
    mark.moved(14, found=[12], missing=[], now=clock.now)  # 12 committed meanwhile
    assert mark.waiting(clock.now) == [13]

    clock.advance(timedelta(seconds=1))
    assert mark.waiting(clock.now) == []  # rolled back, or the pass's now


def test_nothing_is_missing_before_the_first_look() -> None:
    clock = Clock()
    mark = IdWatermark(keep_for=KEEP_FOR)
    mark.moved(14, found=[], missing=[3, 7], now=clock.now)  # the start-up covers them
    assert (mark.seen, mark.waiting(clock.now)) == (14, [])


def test_a_jump_of_the_ids_is_left_to_the_pass() -> None:
    clock = Clock()
    mark = IdWatermark(keep_for=KEEP_FOR)
    mark.moved(10, found=[], missing=[], now=clock.now)
    jump = 10 + MAX_GAPS + 2
    mark.moved(jump, found=[], missing=ids_missing(10, jump, {jump}), now=clock.now)
    assert (mark.seen, mark.waiting(clock.now), mark.room()) == (jump, [], MAX_GAPS)
