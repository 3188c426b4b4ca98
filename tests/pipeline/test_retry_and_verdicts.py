"""The retry policy and what each label answer means, without any I/O."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl.pipeline import ParkReason, RetryPolicy, Verdict, verdict_for
from esl.pipeline.verdicts import Parking
from gateways.protocol import (
    LabelResponse,
    ReasonCode,
    from_wire_ms,
)
from tests.support.label_answers import synchronized_answer

POLICY = RetryPolicy(
    base_delay=timedelta(seconds=5), max_delay=timedelta(minutes=10), jitter=0.2, max_attempts=5
)


def answer(reason: ReasonCode) -> LabelResponse:
    return synchronized_answer(
        "L1", 7, label_time=from_wire_ms(1_800_000_000_000), reason=reason, displayed_hash=None
    )


@settings(max_examples=100, deadline=None)
@given(attempts=st.integers(min_value=1, max_value=60), seed=st.integers(0, 2**32))
def test_backoff_doubles_within_its_jitter_and_never_exceeds_the_cap(
    attempts: int, seed: int
) -> None:
    delay = POLICY.delay_after(attempts, rng=random.Random(seed))
    doubled = POLICY.base_delay * 2 ** min(attempts - 1, 20)  # 2**20 x 5 s is past the cap
    nominal = min(doubled, POLICY.max_delay)
    assert nominal * 0.8 <= delay <= nominal * 1.2
    assert delay <= POLICY.max_delay * 1.2


def test_jitter_spreads_labels_that_failed_together() -> None:
    rng = random.Random(4)
    delays = {POLICY.delay_after(3, rng=rng) for _ in range(50)}
    assert len(delays) > 40


def test_a_busy_label_is_asked_again_no_sooner_than_a_panel_refresh() -> None:
    policy = RetryPolicy(base_delay=timedelta(seconds=1), busy_delay=timedelta(seconds=20))
    rng = random.Random(1)
    for attempts in range(1, 5):
        assert policy.delay_after(attempts, rng=rng, busy=True) >= timedelta(seconds=16)
        assert policy.delay_after(attempts, rng=rng) < timedelta(seconds=16)


def test_attempts_are_bounded() -> None:
    assert not POLICY.exhausted(4)
    assert POLICY.exhausted(5)
    with pytest.raises(ValueError, match="at least one attempt"):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("reason", "scheduled", "verdict", "parked_as"),
    [
        (ReasonCode.SUCCESS, False, Verdict.ACKED, None),
        (ReasonCode.UNKNOWN_BASE_IMAGE, False, Verdict.RESEND_FULL, None),
        (ReasonCode.CORRUPT_CHUNK, False, Verdict.RETRY, Parking(ParkReason.OFFLINE)),
        (ReasonCode.RETRY, False, Verdict.RETRY, Parking(ParkReason.BUSY)),
        (ReasonCode.QUEUE_FULL, False, Verdict.RETRY, Parking(ParkReason.BUSY)),
        (ReasonCode.INSUFFICIENT_BATTERY, False, Verdict.RETRY, Parking(ParkReason.FLAT_BATTERY)),
        (ReasonCode.INVALID_PARAMETERS, True, Verdict.SEND_AT_INSTANT, None),
        (ReasonCode.INVALID_IMAGE_INDEX, True, Verdict.SEND_AT_INSTANT, None),
        (
            ReasonCode.INVALID_PARAMETERS,
            False,
            Verdict.PARK,
            Parking(ParkReason.REJECTED, "INVALID_PARAMETERS"),
        ),
        (ReasonCode.WRONG_MODEL, False, Verdict.PARK, Parking(ParkReason.REJECTED, "WRONG_MODEL")),
        (ReasonCode.BAD_MAC, False, Verdict.TAMPERED, Parking(ParkReason.TAMPERED, "BAD_MAC")),
    ],
)
def test_each_answer_has_one_meaning(
    reason: ReasonCode, scheduled: bool, verdict: Verdict, parked_as: Parking | None
) -> None:
    assert verdict_for(answer(reason), scheduled=scheduled) == (verdict, parked_as)
