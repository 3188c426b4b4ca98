"""The store gateway keeps one check-in per label waiting to go, the newest, in its state
file, and never lets a label's check-in reach the broker ahead of that label's answer
signed before it.

Before, every health poll queued a check-in per label heard in the outbox, in line with
the answers: a broker outage or a slow link grew the outbox by one per label per poll,
and the answers queued after them waited behind all of them
(`tests/gateways/oepl/test_check_ins_do_not_hold_up_answers.py`).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateways.protocol import FrameKind, LabelResponse, decode_response, generate_label_key
from gateways.store_gateway.label_stand_in import check_in_report
from gateways.store_gateway.local_state import LabelRecord, LocalState
from gateways.store_gateway.process import open_local_state

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = generate_label_key()
OTHER_KEY = generate_label_key()


def _label(label_id: str = "L-1", key: bytes = KEY, **changes: object) -> LabelRecord:
    label = LabelRecord(label_id=label_id, address=label_id, model="2.9-bwr", key=key)
    return label.evolve(**changes)


def _check_in(label: LabelRecord, at: datetime) -> bytes:
    report = check_in_report(label, now=at)
    assert report is not None
    return report


def _read(payload: bytes, key: bytes = KEY) -> LabelResponse:
    return decode_response(payload, key=key)


def _state(path: Path) -> LocalState:
    state = open_local_state(path)
    state.add_labels([_label(), _label("L-2", OTHER_KEY)])
    return state


def test_a_newer_check_in_replaces_the_waiting_one_in_its_place(tmp_path: Path) -> None:
    state = _state(tmp_path / "gw.sqlite")
    first = _check_in(_label(battery_mv=2_900), NOON)
    state.queue_check_in("L-1", first)
    state.queue_check_in("L-2", _check_in(_label("L-2", OTHER_KEY), NOON))
    newest = _check_in(_label(battery_mv=2_400), NOON + timedelta(seconds=30))
    state.queue_check_in("L-1", newest)

    # One per label, the newest, still first in line (a label heard at every poll is
    # not sent to the back each time, behind labels heard later).
    assert [label_id for label_id, _ in state.check_ins()] == ["L-1", "L-2"]
    assert state.next_check_in() == ("L-1", newest)
    assert _read(newest).battery_mv == 2_400
    assert state.counts() == (0, 0)  # no answer waits behind them

    # The older one reached the broker while the newer was queued (it was in flight):
    # the newer still waits.
    state.delivered(answers=(), check_ins=[("L-1", first)])
    assert state.next_check_in() == ("L-1", newest)
    state.delivered(answers=(), check_ins=[("L-1", newest)])
    assert [label_id for label_id, _ in state.check_ins()] == ["L-2"]
    state.close()


def test_a_waiting_check_in_outlives_a_restart(tmp_path: Path) -> None:
    # It may say what the panel shows (blank after a reboot, drawn over): a tag that
    # then stays silent checks in no more, so only this one tells the controller.
    path = tmp_path / "gw.sqlite"
    state = _state(path)
    check_in = _check_in(_label(shown_hash=None), NOON)
    state.queue_check_in("L-1", check_in)
    state.close()

    reopened = open_local_state(path)
    assert reopened.next_check_in() == ("L-1", check_in)
    reopened.close()


def test_a_check_in_signed_before_an_answer_is_signed_again_after_it(tmp_path: Path) -> None:
    state = _state(tmp_path / "gw.sqlite")
    label = _label(last_sequence=4, shown_hash=b"\x01" * 16)
    state.save_label(label)
    before = _check_in(label, NOON)
    state.queue_check_in("L-1", before)
    other = _check_in(_label("L-2", OTHER_KEY), NOON)
    state.queue_check_in("L-2", other)
    state.enqueue(label_id="L-1", sequence=5, opcode=0x10, payload=b"frame 5")
    (frame,) = state.queued("L-1")
    answered = label.evolve(last_sequence=5, shown_hash=b"\x02" * 16)
    answer = b"the signed answer to frame 5"
    after = _check_in(answered, NOON + timedelta(seconds=1))

    assert state.check_in_waiting("L-1")
    state.settle(frame, label=answered, answer=answer, check_in=after)

    # The answer goes first; the label's check-in waits for it, and is the one signed
    # after it: sent after the answer, the one before would read as older, and the
    # controller would forget what the label shows and send its image again in full.
    assert [payload for _, payload in state.answers()] == [answer]
    assert state.next_check_in() == ("L-2", other)
    assert state.check_ins() == [("L-1", after), ("L-2", other)]
    assert (_read(after).sequence, _read(after).displayed_hash) == (5, b"\x02" * 16)
    state.delivered(answers=[answer_id for answer_id, _ in state.answers()], check_ins=())
    assert state.next_check_in() == ("L-1", after)
    state.close()


def test_a_label_left_without_a_key_drops_its_waiting_check_in(tmp_path: Path) -> None:
    # Unassociated: its check-in from before says nothing the controller still uses,
    # and sent after the answer it would read as older.
    state = _state(tmp_path / "gw.sqlite")
    state.queue_check_in("L-1", _check_in(_label(), NOON))
    state.enqueue(label_id="L-1", sequence=1, opcode=0x30, payload=b"unassociate")
    (frame,) = state.queued("L-1")
    state.settle(frame, label=_label(key=None, last_sequence=1), answer=b"ack", check_in=None)

    assert state.check_ins() == []
    assert [payload for _, payload in state.answers()] == [b"ack"]
    state.close()


def test_a_frame_answered_with_silence_leaves_the_waiting_check_in_as_it_is(
    tmp_path: Path,
) -> None:
    state = _state(tmp_path / "gw.sqlite")
    check_in = _check_in(_label(), NOON)
    state.queue_check_in("L-1", check_in)
    state.enqueue(label_id="L-1", sequence=1, opcode=0x10, payload=b"frame 1")
    (frame,) = state.queued("L-1")
    state.settle(frame, label=_label(), answer=None)

    assert state.next_check_in() == ("L-1", check_in)
    state.close()


def test_a_state_file_from_before_check_ins_were_kept_apart_keeps_its_outbox(
    tmp_path: Path,
) -> None:
    # Its outbox holds answers and check-ins in one line, without their label: they go
    # in their order, and hold up no check-in queued since.
    path = tmp_path / "gw.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB NOT NULL)"
        )
        old.executemany("INSERT INTO outbox (payload) VALUES (?)", [(b"answer",), (b"check",)])
    old.close()
    state = _state(path)
    assert [payload for _, payload in state.answers()] == [b"answer", b"check"]
    check_in = _check_in(_label(), NOON)
    state.queue_check_in("L-1", check_in)
    assert state.next_check_in() == ("L-1", check_in)
    assert _read(check_in).kind is FrameKind.CHECK_IN
    state.close()


def test_a_label_taken_out_of_the_label_file_has_no_check_in_left_to_go(tmp_path: Path) -> None:
    # Its check-in speaks for a label the gateway no longer stands in for (its tag off the
    # shelf, or in another store). Before, it stayed in the state file and went after
    # every restart until the broker took it.
    path = tmp_path / "gw.sqlite"
    state = _state(path)
    state.queue_check_in("L-1", _check_in(_label(), NOON))
    other = _check_in(_label("L-2", OTHER_KEY), NOON)
    state.queue_check_in("L-2", other)

    assert state.forget_labels_except(["L-2"]) == ["L-1"]

    assert not state.check_in_waiting("L-1")
    assert state.check_ins() == [("L-2", other)]
    state.close()
    reopened = open_local_state(path)
    assert reopened.check_ins() == [("L-2", other)]
    reopened.close()


def test_a_label_moved_to_another_tag_or_model_has_no_check_in_left_to_go(
    tmp_path: Path,
) -> None:
    # The waiting check-in says what the old tag shows and how it is: the label's state
    # forgets that at the move, and the check-in must not tell the controller otherwise.
    path = tmp_path / "gw.sqlite"
    state = _state(path)
    state.save_label(_label(last_sequence=3, shown_hash=b"\x01" * 16))
    state.queue_check_in("L-1", _check_in(state.labels()["L-1"], NOON))
    other = _check_in(_label("L-2", OTHER_KEY), NOON)
    state.queue_check_in("L-2", other)

    state.add_labels([_label(address="L-1-new-tag"), _label("L-2", OTHER_KEY, model="2.9-bw")])

    assert state.check_ins() == []
    state.close()
    reopened = open_local_state(path)
    assert reopened.check_ins() == []
    reopened.close()
