"""The retry policy and what each label answer means, without any I/O."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl.pipeline import ParkReason, RetryPolicy, Verdict, verdict_for
from esl.pipeline.verdicts import Parking
from gateways.protocol import (
    BasicStateFlag,
    LabelResponse,
    ReasonCode,
    from_wire_ms,
)
from tests.support.label_answers import synchronized_answer

POLICY = RetryPolicy(
    base_delay=timedelta(seconds=5), max_delay=timedelta(minutes=10), jitter=0.2, max_attempts=5
)


CONTENT = bytes(range(1, 17))  # the content of the update answered
OTHER = bytes(range(2, 18))


def answer(reason: ReasonCode, *, shown: bytes | None = CONTENT) -> LabelResponse:
    return synchronized_answer(
        "L1", 7, label_time=from_wire_ms(1_800_000_000_000), reason=reason, displayed_hash=shown
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
    assert verdict_for(answer(reason), content_hash=CONTENT.hex(), scheduled=scheduled) == (
        verdict,
        parked_as,
    )


@pytest.mark.parametrize(
    ("shown", "pending", "scheduled", "verdict"),
    [
        (CONTENT, False, False, Verdict.ACKED),
        (OTHER, False, False, Verdict.ANOTHER_FRAME),
        (None, False, False, Verdict.ANOTHER_FRAME),
        # A timed image is stored: the panel shows the image before it until the instant.
        (OTHER, True, True, Verdict.ACKED),
        (None, True, True, Verdict.ACKED),
        (CONTENT, False, True, Verdict.ACKED),  # its instant had passed: shown at once
        (OTHER, False, True, Verdict.ANOTHER_FRAME),
        # A flip pending says nothing of an update to show at once.
        (OTHER, True, False, Verdict.ANOTHER_FRAME),
    ],
)
def test_an_acknowledgement_counts_only_when_it_shows_what_the_update_leaves(
    shown: bytes | None, pending: bool, scheduled: bool, verdict: Verdict
) -> None:
    """Matched by (label, sequence), an acknowledgement whose panel the update cannot have
    left answers another frame signed with that number (one the record lost)."""
    ack = answer(ReasonCode.SUCCESS, shown=shown)
    if pending:
        ack = dataclasses.replace(ack, flags=ack.flags | BasicStateFlag.PENDING_DISPLAY_UPDATE)
    assert verdict_for(ack, content_hash=CONTENT.hex(), scheduled=scheduled) == (verdict, None)
