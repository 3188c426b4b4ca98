"""The acceptance rule for label answers (`esl.pipeline.answer_acceptance`) and what the
dispatcher does with replayed, duplicated, reordered, forged and tampered traffic, on the
dispatcher's own code, simulated labels and one clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.cli import app as cli_app
from esl.db.models import LabelAcknowledgementRow, OutboxRow, SecurityEventRow
from esl.pipeline.answer_acceptance import Claim, Refusal, counter_went_back, judge_answer
from esl.pipeline.label_states import LabelState
from esl.services.keys import Role, create_key
from esl.settings import Settings
from gateways.base import Downlink, Uplink
from gateways.protocol import (
    FrameKind,
    LabelResponse,
    ReasonCode,
    encode_response,
)
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.support.label_answers import synchronized_answer
from tests.support.pipeline import publish_prices

AT = datetime(2027, 1, 5, 8, 0, tzinfo=UTC)


def answer(
    sequence: int, *, at: datetime = AT, kind: FrameKind = FrameKind.RESPONSE
) -> LabelResponse:
    return synchronized_answer("S01-gw1-00001", sequence, label_time=at, kind=kind)


def refusal(sequence: int, reason: ReasonCode) -> LabelResponse:
    return replace(answer(sequence, at=AT + timedelta(minutes=5)), reason=reason)


@pytest.mark.parametrize(
    ("held", "response", "signed", "expected"),
    [
        (Claim(0, None), answer(1), True, None),  # the first claim
        (Claim(4, AT), answer(5), True, None),  # newer sequence
        (Claim(5, AT), answer(4, at=AT + timedelta(hours=1)), True, Refusal.OLDER),  # replay
        (Claim(5, AT), answer(5), True, Refusal.DUPLICATE),  # the very same answer again
        (Claim(5, AT), answer(5, at=AT - timedelta(seconds=1)), True, Refusal.OLDER),
        (Claim(5, AT), answer(6), False, Refusal.UNSIGNED_SEQUENCE),  # no frame of ours
        # A check-in after a timed flip: same sequence, later label clock.
        (
            Claim(5, AT),
            answer(5, at=AT + timedelta(minutes=1), kind=FrameKind.CHECK_IN),
            False,
            None,
        ),
        (Claim(5, AT), answer(9, kind=FrameKind.CHECK_IN), False, Refusal.UNSIGNED_SEQUENCE),
        # Answers to frames the label did not take name the frame's sequence, not the
        # label's: a stale frame's answer (seq 3) describes the panel after seq 5.
        (Claim(2, AT), refusal(3, ReasonCode.STALE_SEQUENCE), True, Refusal.NOT_TAKEN),
        (Claim(2, AT), refusal(9, ReasonCode.BAD_MAC), True, Refusal.NOT_TAKEN),
        (Claim(2, AT), refusal(3, ReasonCode.RETRY), True, Refusal.NOT_TAKEN),
        (Claim(2, AT), refusal(3, ReasonCode.WRONG_MODEL), True, None),  # taken, refused
    ],
)
def test_a_claim_is_believed_only_when_newer_than_every_claim_held(
    held: Claim, response: LabelResponse, signed: bool, expected: Refusal | None
) -> None:
    assert judge_answer(held, response, answers_signed_frame=signed, last_signed=8) == expected


_MINUTE = timedelta(minutes=1)
_AHEAD = AT + timedelta(seconds=40)


@pytest.mark.parametrize(
    ("latest", "offset", "seen", "signed", "now", "went_back"),
    [
        # A label reset to factory answering a replayed old frame at once: its count went
        # back.
        (AT, None, AT, AT + 5 * _MINUTE, AT + 5 * _MINUTE, True),
        # So too on a clock known to run 10 minutes ahead, answering now by it.
        (AT, 10 * _MINUTE, AT, AT + 15 * _MINUTE, AT + 5 * _MINUTE, True),
        # A capture signed 40 s ahead by an OpenEPaperLink stand-in gateway whose host NTP
        # then stepped back (no SetClock, no offset known), replayed once the host's clock
        # reads that again: later than the claim held since, signed "now" and after the
        # last report arrived, but no later than a clock reading heard before.
        (_AHEAD, None, AT, _AHEAD, _AHEAD, False),
        # A reset label's answer relayed 4 minutes late (a store gateway that kept it
        # while its broker link was down): how long ago it was signed proves nothing.
        (AT, None, AT, AT + _MINUTE, AT + 5 * _MINUTE, True),
        # One signed ahead of the label's known clock, beyond SIGNED_NOW: no reading the
        # label took.
        (AT, None, AT, AT + 8 * _MINUTE, AT + 5 * _MINUTE, False),
        (AT, 10 * _MINUTE, AT, AT + 18 * _MINUTE, AT + 5 * _MINUTE, False),
        # One signed after every reading heard but before the last report taken arrived:
        # a reset label's answer behind a word it signed before the reset, held at the
        # gateway and relayed just ahead. When a word arrived bounds nothing; when it
        # was signed (the reading heard) does.
        (AT, None, AT + 2 * _MINUTE, AT + _MINUTE, AT + 2 * _MINUTE, True),
    ],
)
def test_only_an_older_answer_signed_after_every_reading_heard_not_ahead_is_a_count_gone_back(
    latest: datetime,
    offset: timedelta | None,
    seen: datetime,
    signed: datetime,
    now: datetime,
    went_back: bool,
) -> None:
    state = LabelState(
        label_id="S01-gw1-00001",
        claim_sequence=5,
        claim_label_time=AT,
        latest_label_time=latest,
        last_seen=seen,
        clock_offset_ms=None if offset is None else offset // timedelta(milliseconds=1),
    )
    assert counter_went_back(state, answer(3, at=signed), now=now) is went_back


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def delivered(world: World) -> list[Uplink]:
    """Send what is due and let each frame reach its label; the answers (not settled)."""
    await world.send_due()
    return radio(world.gateway.take(), world.labels, now=world.clock.now)


def history(world: World, label_id: str) -> list[tuple[int, str | None]]:
    query = (
        select(LabelAcknowledgementRow.sequence, LabelAcknowledgementRow.displayed_hash)
        .where(LabelAcknowledgementRow.label_id == label_id)
        .order_by(LabelAcknowledgementRow.id)
    )
    with world.sessions() as session:
        return list(session.execute(query).all())


def security_events(world: World) -> list[tuple[str, str | None, int | None]]:
    query = select(
        SecurityEventRow.kind, SecurityEventRow.label_id, SecurityEventRow.sequence
    ).order_by(SecurityEventRow.id)
    with world.sessions() as session:
        return list(session.execute(query).all())


async def test_replayed_duplicated_and_reordered_answers_are_never_applied(world: World) -> None:
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    first = await delivered(world)  # the label now shows A
    hash_a = world.hash_of(label_id)
    world.dispatcher.settle(first)

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    second = await delivered(world)  # the label now shows B
    hash_b = world.hash_of(label_id)
    # Reordered: the answer to the newer frame arrives first.
    world.clock.advance(timedelta(seconds=5))
    world.dispatcher.settle(second)
    world.dispatcher.settle(first)  # late copy of the older answer: reordered
    world.dispatcher.settle(second)  # duplicate
    world.clock.advance(timedelta(minutes=30))
    world.dispatcher.settle([replace(first[0], received_at=world.clock.now)])  # replay
    state = world.state(label_id)
    assert state.displayed_hash == state.confirmed_hash == hash_b
    assert world.dispatcher.counts.refused_answers == {"OLDER": 2, "DUPLICATE": 1}
    assert history(world, label_id) == [(1, hash_a), (2, hash_b)]
    assert world.labels[label_id].shown_hash is not None
    assert world.labels[label_id].shown_hash.hex() == hash_b

    # The price comes back: the label gets a frame, since the record says it shows B.
    publish_prices(world.sessions, PRICES_A, now=world.clock.now)
    world.controller.plan_due_work()
    world.dispatcher.settle(await delivered(world))
    assert world.labels[label_id].shown_hash.hex() == world.hash_of(label_id) == hash_a
    assert world.state(label_id).displayed_hash == hash_a


async def test_a_forged_answer_is_a_security_event_and_changes_nothing(world: World) -> None:
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    (frame,) = world.gateway.take()
    forged = encode_response(replace(answer(1), label_id=label_id), key=bytes(32))
    world.dispatcher.settle([Uplink("S01", "gw1", forged, world.clock.now)])
    assert world.dispatcher.verifier.counts.forged == 1
    assert world.rows(label_id) == [(1, "sent")]
    assert world.state(label_id).displayed_hash is None
    assert security_events(world) == [("forged answer", label_id, None)]
    assert frame.label_id == label_id


def altered(downlink: Downlink) -> Downlink:
    """The frame as a tampering relay passes it on: one MAC byte changed."""
    payload = downlink.payload
    return replace(downlink, payload=payload[:-1] + bytes([payload[-1] ^ 0x01]))


async def test_a_tampered_frame_is_resigned_and_sent_again_then_lands(world: World) -> None:
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    (frame,) = world.gateway.take()
    refusal = radio([altered(frame)], world.labels, now=world.clock.now)
    world.dispatcher.settle(refusal)
    assert world.rows(label_id) == [(1, "superseded"), (2, "pending")]
    assert security_events(world) == [("tampered frame", label_id, 1)]
    world.dispatcher.settle(await delivered(world))
    assert world.rows(label_id) == [(1, "superseded"), (2, "acked")]
    assert world.labels[label_id].shown_hash is not None
    assert world.labels[label_id].shown_hash.hex() == world.hash_of(label_id)
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)


async def test_a_frame_tampered_with_on_every_attempt_is_parked_as_tampered_in_transit(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    for _ in range(world.dispatcher.policy.max_attempts):
        await world.send_due()
        sent = world.gateway.take()
        assert len(sent) == 1
        world.dispatcher.settle(radio([altered(sent[0])], world.labels, now=world.clock.now))
    rows = world.rows(label_id)
    assert [status for _, status in rows] == ["superseded"] * 4 + ["parked"]
    with world.sessions() as session:
        reason = session.execute(
            select(OutboxRow.parked_reason, OutboxRow.parked_detail).where(
                OutboxRow.status == "parked"
            )
        ).one()
        # Every attempt's tampering counted, in one row (coalesced per label and kind).
        rows, events = session.execute(
            select(func.count(), func.sum(1 + SecurityEventRow.repeats))
        ).one()
    assert tuple(reason) == ("tampered in transit", "BAD_MAC")
    assert (rows, events) == (1, world.dispatcher.policy.max_attempts)
    assert world.labels[label_id].shown is None  # nothing altered was ever shown


async def test_tampering_shows_in_the_health_api_and_the_cli(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    (frame,) = world.gateway.take()
    world.dispatcher.settle(radio([altered(frame)], world.labels, now=world.clock.now))
    world.dispatcher.settle(await delivered(world))  # the resent frame lands
    with world.sessions.begin() as session:
        _, auditor = create_key(session, name="a", role=Role.AUDITOR, store=None, now=T0)
        _, other_store = create_key(session, name="s", role=Role.STORE, store="S02", now=T0)
    app = create_app(Settings(currency="PLN"), engine=engine, clock=world.clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://esl"
    ) as client:
        found = await client.get("/api/v1/health/security", headers={"X-API-Key": auditor})
        assert found.status_code == 200
        body = found.json()
        assert body["stores"] == [
            {
                "store": "S01",
                "events": 1,
                "kinds": {"tampered frame": 1},
                "last_at": body["stores"][0]["last_at"],
            }
        ]
        (event,) = body["events"]
        assert (event["label_id"], event["sequence"], event["gateway"]) == (label_id, 1, "gw1")
        assert event["detail"] == "BAD_MAC for a frame the controller signed"
        # A store key sees only its own store's events.
        theirs = await client.get("/api/v1/health/security", headers={"X-API-Key": other_store})
        assert theirs.json()["events"] == []
        # ... and asking for another store's events is refused, not answered with its own.
        asked = await client.get(
            "/api/v1/health/security", params={"store": "S01"}, headers={"X-API-Key": other_store}
        )
        assert asked.status_code == 403, asked.text

    monkeypatch.setenv("ESL_DATABASE_URL", str(engine.url))
    result = CliRunner().invoke(cli_app, ["health"])
    assert result.exit_code == 0, result.output
    assert "store S01: 1 security event(s) in the last 24 h (1 x tampered frame)" in result.output
