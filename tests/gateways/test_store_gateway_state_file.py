"""Label keys stay private: the store gateway's state file is its owner's alone, and no
record's text (a log line, a traceback) shows a key.

Found by review: `{store}-{gateway}.sqlite` was created with the process umask (0644
under the usual 022), so any local user could read the keys and sign for every label.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from gateways.protocol import LabelProvision
from gateways.store_gateway.local_state import LabelRecord, environmental
from gateways.store_gateway.process import open_local_state


def test_the_state_file_and_its_folder_are_private_whatever_the_umask(tmp_path: Path) -> None:
    key = bytes(range(32))
    path = tmp_path / "esl-gateway" / "S001-S001-ap1.sqlite"
    old = os.umask(0o022)
    try:
        state = open_local_state(path)
        state.add_labels(
            [
                LabelRecord(
                    label_id="0000021EDBA7B394",
                    address="0000021EDBA7B394",
                    model="2.9-bwr",
                    key=key,
                )
            ]
        )
        state.close()
    finally:
        os.umask(old)
    files = [path, *path.parent.glob(path.name + "-*")]  # the WAL beside it, if kept
    assert any(key in p.read_bytes() for p in files)  # the key is in them
    modes = {p.name: stat.filemode(p.stat().st_mode) for p in [path.parent, *files]}
    assert all(mode.endswith("------") for mode in modes.values()), modes


def test_a_label_key_is_never_in_a_records_text() -> None:
    # Reprs end up in log lines and tracebacks.
    key = bytes(range(32))
    record = LabelRecord(label_id="L-1", address="L-1", model="2.9-bwr", key=key)
    provision = LabelProvision(label_id="L-1", model_id="2.9-bwr", key=key)
    for text in (repr(record), repr(provision)):
        assert "L-1" in text
        assert repr(key) not in text
        assert key.hex() not in text


def test_a_state_file_from_before_the_update_count_opens_with_its_labels(
    tmp_path: Path,
) -> None:
    # Written before `radio_updates` (the tag's update count at our last confirmed
    # delivery, for the drawn-over check): the column is added, nothing is lost.
    path = tmp_path / "S001-S001-ap1.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE labels (label_id TEXT PRIMARY KEY, address TEXT NOT NULL, "
            "model TEXT NOT NULL, key BLOB, last_sequence INTEGER NOT NULL DEFAULT 0, "
            "last_mac BLOB NOT NULL DEFAULT x'', last_response BLOB NOT NULL DEFAULT x'', "
            "shown_hash BLOB, shown_black BLOB, shown_accent BLOB, "
            "clock_offset_ms INTEGER NOT NULL DEFAULT 0, battery_mv INTEGER NOT NULL DEFAULT 0, "
            "rssi_dbm INTEGER NOT NULL DEFAULT 0, lqi INTEGER NOT NULL DEFAULT 0, "
            "temperature_tenths_c INTEGER NOT NULL DEFAULT 0, "
            "last_seen_s REAL NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', "
            "radio_holds TEXT NOT NULL DEFAULT '')"
        )
        old.execute(
            "INSERT INTO labels (label_id, address, model, key, last_sequence, radio_holds) "
            "VALUES ('L-1', 'L-1', '2.9-bwr', ?, 7, 'abc')",
            (bytes(range(32)),),
        )
    old.close()

    state = open_local_state(path)
    label = state.labels()["L-1"]
    assert (label.last_sequence, label.radio_holds) == (7, "abc")
    assert (label.radio_updates, label.radio_updated_s) == (None, None)
    state.save_label(label.evolve(radio_updates=3, radio_updated_s=1_780_000_000))
    state.close()
    reopened = open_local_state(path).labels()["L-1"]
    assert (reopened.radio_updates, reopened.radio_updated_s) == (3, 1_780_000_000)


def test_a_state_file_with_the_update_count_but_not_its_time_keeps_the_count(
    tmp_path: Path,
) -> None:
    # Written by the release that kept `radio_updates` alone: `radio_updated_s` (the time
    # of that update) is added, the count of our last delivery stays.
    path = tmp_path / "S001-S001-ap1.sqlite"
    state = open_local_state(path)
    state.add_labels([LabelRecord(label_id="L-1", address="L-1", model="2.9-bwr", key=None)])
    state.save_label(state.labels()["L-1"].evolve(radio_holds="abc", radio_updates=4))
    state.close()
    with sqlite3.connect(path) as older:
        older.execute("ALTER TABLE labels DROP COLUMN radio_updated_s")
    older.close()

    label = open_local_state(path).labels()["L-1"]
    assert (label.radio_holds, label.radio_updates, label.radio_updated_s) == ("abc", 4, None)


def test_a_frame_settled_halfway_leaves_the_state_file_as_it_was(tmp_path: Path) -> None:
    # `settle` is one transaction: the label's new state, its answer queued, the frame
    # gone, or none of them. Before, the file's connection committed each statement on
    # its own (`with connection:` begins no transaction in autocommit mode): a failure
    # or a power cut between them left the label's new state and its answer queued with
    # the frame still in the inbox, to be carried out and answered again.
    path = tmp_path / "S001-S001-ap1.sqlite"
    state = open_local_state(path)
    label = LabelRecord(label_id="L-1", address="L-1", model="2.9-bwr", key=bytes(32))
    state.add_labels([label])
    state.queue_check_in("L-1", b"check-in signed before the answer")
    state.enqueue(label_id="L-1", sequence=1, opcode=0x10, payload=b"frame 1")
    (frame,) = state.queued("L-1")

    unstorable = object()  # the check-in made again fails to be written, last of all
    with pytest.raises(sqlite3.Error):
        state.settle(
            frame,
            label=label.evolve(last_sequence=1),
            answer=b"answer 1",
            check_in=unstorable,  # type: ignore[arg-type]
        )
    state.close()

    reopened = open_local_state(path)
    assert reopened.labels()["L-1"].last_sequence == 0
    assert reopened.answers() == []
    assert [queued.sequence for queued in reopened.queued("L-1")] == [1]
    assert reopened.check_ins() == [("L-1", b"check-in signed before the answer")]
    reopened.close()


def test_a_state_file_moved_away_while_open_is_the_moment_not_the_item(tmp_path: Path) -> None:
    """SQLite names most failures by an extended code (SQLITE_READONLY_DBMOVED here: the
    file was deleted or moved under the gateway). Such a failure is the state file's, not
    the frame's or the message's being stored: were it counted against the item, a good
    frame would be refused for good after three such starts."""
    path = tmp_path / "state.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    path.unlink()

    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("INSERT INTO t VALUES (1)")
    connection.close()
    wrapped = RuntimeError("storing the frame failed")
    wrapped.__cause__ = raised.value

    assert raised.value.sqlite_errorname == "SQLITE_READONLY_DBMOVED"
    assert environmental(raised.value)
    assert environmental(wrapped)
    assert not environmental(sqlite3.IntegrityError("UNIQUE constraint failed"))
