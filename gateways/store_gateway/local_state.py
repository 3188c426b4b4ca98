"""The store gateway's durable state: one SQLite file (WAL) per gateway.

- `labels`: per label its radio address, display model, key, the last sequence it took
  (with that frame's MAC and the signed answer, for radio duplicates), the image it
  shows (hash and planes, for deltas), its clock offset and the health last heard;
- `inbox`: frames taken from the broker and not yet answered, in arrival order;
- `outbox`: signed answers (and the gateway's own reports in place of one) not yet
  acknowledged by the broker, in their order, each with its label;
- `check_ins`: per label, its newest signed check-in not yet acknowledged by the broker
  (`queue_check_in`): a newer one replaces it in its place, so a broker outage or a slow
  link leaves one per label, not one per label per health poll; it goes with its label
  (taken out of the label file, or moved to another tag or model);
- `removed_labels`: per label taken out of the label file, only the last sequence it
  took (`forget_labels_except`): back in the file, it refuses the frames it took before;
- `frame_tries`: per frame (label, sequence and a digest of its bytes) the gateway began
  and did not settle, how many times it began it and the last failure noted
  (`count_try`, `tries`): a frame that makes the gateway fail every time is refused after
  a few tries, not tried at every restart for good; another frame under the same
  sequence is another frame, with tries of its own. The same count, `kind` 'frame',
  holds the failures of taking a frame in (`failed_on_frame`), and, `kind` 'uplink',
  those of recording one message up delivered (`failed_on_uplink`, `uplinks_failed`):
  an answer by its outbox row (`sequence` its id: a new row is a new message, the same
  bytes or not), a check-in by its label and bytes (`sequence` 0); its count goes with
  it when it leaves the state file (`delivered`). Its `refusals` count the failures of
  storing the gateway's report refusing a frame (`failed_on_report`): after a few, the
  frame leaves the inbox without it (`drop`). A failure of the state file as a whole
  (`environmental`: a full disk, an I/O error, a locked file) is never counted.

A frame leaves the inbox in the same transaction that stores its answer in the outbox and
the label's new state, so a restart (or a broker outage of any length) loses nothing and
answers nothing twice. A label's check-in waiting then is signed again in that same
transaction (`settle`): one signed before the answer and sent after it would read as
older than the answer at the controller.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from gateways.protocol.key_files import keep_key_file_private
from rendering.encoding import Planes

__all__ = [
    "FrameTries",
    "LabelRecord",
    "LocalState",
    "QueuedFrame",
    "TriedAs",
    "UplinkKey",
    "environmental",
    "payload_digest",
    "uplink_key",
]

# SQLite's errors that say the state file as a whole cannot be written now (no room, an
# I/O error, another holding it, no memory), whatever was being stored: the moment's,
# never the message's (`environmental`). Primary codes: SQLite reports extended ones
# (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED, SQLITE_BUSY_TIMEOUT, ...) in their low byte.
_ENVIRONMENTAL_CODES = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOMEM,
    }
)


def environmental(error: BaseException) -> bool:
    """Whether `error` (or an error it came from) is the state file failing as a whole
    (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, ... with any of their extended codes), not on
    the one row being stored: a good frame stored on a nearly full disk fails while the
    small row that would count it still fits, so such a failure must count against no
    frame and no message."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            code = getattr(seen, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _ENVIRONMENTAL_CODES:
                return True
        seen = seen.__cause__ or seen.__context__
    return False


_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    label_id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    model TEXT NOT NULL,
    key BLOB,
    last_sequence INTEGER NOT NULL DEFAULT 0,
    last_mac BLOB NOT NULL DEFAULT x'',
    last_response BLOB NOT NULL DEFAULT x'',
    shown_hash BLOB,
    shown_black BLOB,
    shown_accent BLOB,
    clock_offset_ms INTEGER NOT NULL DEFAULT 0,
    battery_mv INTEGER NOT NULL DEFAULT 0,
    rssi_dbm INTEGER NOT NULL DEFAULT 0,
    lqi INTEGER NOT NULL DEFAULT 0,
    temperature_tenths_c INTEGER NOT NULL DEFAULT 0,
    last_seen_s REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    radio_holds TEXT NOT NULL DEFAULT '',
    radio_updates INTEGER,
    radio_updated_s INTEGER
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    opcode INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_label ON inbox (label_id, id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload BLOB NOT NULL,
    label_id TEXT
);
CREATE TABLE IF NOT EXISTS check_ins (
    label_id TEXT PRIMARY KEY,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS removed_labels (
    label_id TEXT PRIMARY KEY,
    last_sequence INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS frame_tries (
    label_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    digest BLOB NOT NULL,
    tries INTEGER NOT NULL,
    last_failure TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'frame',
    refusals INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (label_id, sequence, digest)
);
"""

# Columns added to `labels` since the first release, as a state file written before them
# gets them (their defaults: nothing known yet).
_ADDED_LABEL_COLUMNS = {
    "radio_holds": "TEXT NOT NULL DEFAULT ''",
    "radio_updates": "INTEGER",
    "radio_updated_s": "INTEGER",
}
# The outbox's label (NULL in a row written before it was kept: such a row waits for
# nothing and holds up no check-in).
_ADDED_OUTBOX_COLUMNS = {"label_id": "TEXT"}
# What a try was of (`TriedAs`; every row written before it: a frame's), and the
# failures of storing a frame's refusal (none before they were counted).
_ADDED_TRIES_COLUMNS = {
    "kind": "TEXT NOT NULL DEFAULT 'frame'",
    "refusals": "INTEGER NOT NULL DEFAULT 0",
}


@dataclass(frozen=True, slots=True)
class LabelRecord:
    label_id: str
    address: str
    model: str
    key: bytes | None = field(repr=False)  # never in a log line or a traceback
    last_sequence: int = 0
    last_mac: bytes = b""
    last_response: bytes = b""
    shown_hash: bytes | None = None
    shown: Planes | None = None
    clock_offset_ms: int = 0
    battery_mv: int = 0
    rssi_dbm: int = 0
    lqi: int = 0
    temperature_tenths_c: int = 0
    last_seen_s: float = 0.0
    last_error: str = ""
    radio_holds: str = ""  # the radio's fingerprint of the image we confirmed
    # The radio's update count when we confirmed it, and the time of that update (the
    # radio's clock, seconds since the epoch); None: not known since.
    radio_updates: int | None = None
    radio_updated_s: int | None = None

    def evolve(self, **changes: object) -> LabelRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class QueuedFrame:
    id: int
    label_id: str
    sequence: int
    opcode: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class FrameTries:
    """How many times the gateway began a frame without settling it, and the last
    failure noted ('': none, the gateway stopped during each: killed, a power cut);
    `refusals`: how many times storing the report refusing it failed."""

    count: int = 0
    last_failure: str = ""
    refusals: int = 0


# What a message up's failures are counted under (`frame_tries`' label, sequence and
# digest): an answer's outbox row id, 0 for a check-in.
UplinkKey = tuple[str, int, bytes]


class TriedAs(StrEnum):
    """What the gateway was doing with a message when it failed (`frame_tries.kind`)."""

    FRAME = "frame"  # taking a frame in, or carrying it out: its label, sequence and bytes
    UPLINK = "uplink"  # recording a message up delivered: its outbox row, or a check-in


def _digest(frame: QueuedFrame) -> bytes:
    """What tells `frame` from another frame of its label under the same sequence (one
    signed again after the controller's database came back from a backup)."""
    return payload_digest(frame.payload)


def payload_digest(payload: bytes) -> bytes:
    """What a message's tries are kept under, with its label and sequence."""
    return hashlib.sha256(payload).digest()


def uplink_key(label_id: str | None, answer_id: int, payload: bytes) -> UplinkKey:
    """What a message up's failures are counted under: the outbox row `answer_id` of an
    answer (ids are never used again: the controller's frame sent again and answered
    with the same bytes is a new row, counted afresh), or, `answer_id` 0, `label_id`'s
    check-in `payload` (a newer check-in is another message)."""
    return label_id or "", answer_id, payload_digest(payload)


def _radio_address(address: str) -> str:
    """An address without its spelling: `00:00:02:58:00:00:00:ab` is `00000258000000AB`."""
    return address.replace(":", "").replace("-", "").upper()


class LocalState:
    def __init__(self, path: Path, *, widths: dict[str, tuple[int, int]]) -> None:
        """`widths`: width and height per display model id, to rebuild planes."""
        # It holds every label key of the store: the owner's alone, whatever the umask
        # (the systemd unit's StateDirectoryMode=0700 is not always there).
        keep_key_file_private(path)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(labels)")}
        for column, declaration in _ADDED_LABEL_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE labels ADD COLUMN {column} {declaration}")
        present = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        for column, declaration in _ADDED_OUTBOX_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE outbox ADD COLUMN {column} {declaration}")
        self._db.execute("CREATE INDEX IF NOT EXISTS outbox_by_label ON outbox (label_id)")
        present = {row[1] for row in self._db.execute("PRAGMA table_info(frame_tries)")}
        for column, declaration in _ADDED_TRIES_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE frame_tries ADD COLUMN {column} {declaration}")
        self._sizes = widths

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One SQLite transaction: all of it or none. The connection commits each statement
        on its own otherwise (`isolation_level=None`, where `with connection:` begins no
        transaction): a failure or a power cut between two left half of a change, and
        each row of an `executemany` cost its own sync to disk."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            # Also when COMMIT itself failed (a busy file): left open, the transaction
            # would refuse every later BEGIN until a restart. SQLite may have rolled
            # back already, and a second ROLLBACK would hide the error that did.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------ labels

    def add_labels(self, records: Iterable[LabelRecord]) -> int:
        """Register labels not yet known (a known label keeps its state); how many new.

        A known label stored with another spelling of its address (an OEPL tag's MAC in
        lowercase or with `:`, read as written before the gateway read addresses in one
        normal form) takes the record's: the health poll finds a label by its address as
        the radio lists it, and never found one spelled otherwise.

        A known label the record puts at another address (the file moved it to another
        tag: a broken tag replaced, two shelves' tags swapped) or gives another display
        model (its tag is another panel now, docs/gateways.md) takes that address and
        model, and what it shows is forgotten (`shown`, the radio's marks of our last
        delivery, the health heard from the old tag): the tag shows what it showed, not
        the label's image; its check-in still waiting says what the old tag shows, and is
        dropped. Before, the label kept its first address and model: its images went to
        the old tag and were signed as shown on the label's panel, or every image drawn
        for its new model was refused `WRONG_MODEL`. Key and sequence stay the label's."""
        added = 0
        with self._transaction():
            for record in records:
                row = self._db.execute(
                    "SELECT address, model FROM labels WHERE label_id = ?", (record.label_id,)
                ).fetchone()
                if row is None:
                    removed = self._db.execute(
                        "SELECT last_sequence FROM removed_labels WHERE label_id = ?",
                        (record.label_id,),
                    ).fetchone()
                    self._db.execute(
                        "INSERT INTO labels (label_id, address, model, key, last_sequence) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (
                            record.label_id,
                            record.address,
                            record.model,
                            record.key,
                            0 if removed is None else int(removed[0]),
                        ),
                    )
                    self._db.execute(
                        "DELETE FROM removed_labels WHERE label_id = ?", (record.label_id,)
                    )
                    added += 1
                    continue
                address, model = str(row[0]), str(row[1])
                if (address, model) == (record.address, record.model):
                    continue
                if _radio_address(address) == _radio_address(record.address) and (
                    model == record.model
                ):
                    self._db.execute(
                        "UPDATE labels SET address = ? WHERE label_id = ?",
                        (record.address, record.label_id),
                    )
                    continue
                self._db.execute(
                    "UPDATE labels SET address = ?, model = ?, shown_hash = NULL, "
                    "shown_black = NULL, shown_accent = NULL, radio_holds = '', "
                    "radio_updates = NULL, radio_updated_s = NULL, battery_mv = 0, "
                    "rssi_dbm = 0, lqi = 0, temperature_tenths_c = 0, last_seen_s = 0, "
                    "last_error = '' WHERE label_id = ?",
                    (record.address, record.model, record.label_id),
                )
                # It says what the old tag shows: the controller would believe it again.
                self._db.execute("DELETE FROM check_ins WHERE label_id = ?", (record.label_id,))
        return added

    def forget_labels_except(self, label_ids: Collection[str]) -> list[str]:
        """Forget every label not in `label_ids` (the gateway's label file): its address,
        model, key, what it shows, its health and its check-in still waiting (else sent
        for a label the gateway no longer stands in for, after every restart until the
        broker took it); return their ids, sorted. Only the last sequence each took is
        kept, apart (`removed_labels`): a label put back in the file later takes it
        again, so a frame it took before is still refused as a replay.
        Frames of theirs still in the inbox stay there, for the process to refuse
        (`refuse`). Their counts (`frame_tries`) go, but for those of messages still in
        the state file that the gateway failed on: an answer of theirs in the outbox
        (else one set aside would go up again, and fail the gateway again, after each
        change of the label file) and a frame whose refusal could not be stored.

        Before, a label taken out of the file (its tag off the shelf, or moved to another
        store) stayed in the state file for good, and the gateway kept delivering its
        frames and signing them as shown."""
        keep = set(label_ids)
        with self._transaction():
            rows = self._db.execute("SELECT label_id, last_sequence FROM labels").fetchall()
            gone = sorted((str(label_id), int(sequence)) for label_id, sequence in rows
                          if label_id not in keep)  # fmt: skip
            self._db.executemany(
                "INSERT INTO removed_labels (label_id, last_sequence) VALUES (?, ?) "
                "ON CONFLICT (label_id) DO UPDATE SET last_sequence = "
                "MAX(last_sequence, excluded.last_sequence)",
                gone,
            )
            for table in ("labels", "check_ins"):
                self._db.executemany(
                    f"DELETE FROM {table} WHERE label_id = ?", [(label_id,) for label_id, _ in gone]
                )
            self._db.executemany(
                "DELETE FROM frame_tries WHERE label_id = ? AND refusals = 0 AND NOT "
                "(kind = ? AND sequence > 0 AND sequence IN (SELECT id FROM outbox))",
                [(label_id, TriedAs.UPLINK) for label_id, _ in gone],
            )
        return [label_id for label_id, _ in gone]

    def labels(self) -> dict[str, LabelRecord]:
        rows = self._db.execute(
            "SELECT label_id, address, model, key, last_sequence, last_mac, last_response, "
            "shown_hash, shown_black, shown_accent, clock_offset_ms, battery_mv, rssi_dbm, "
            "lqi, temperature_tenths_c, last_seen_s, last_error, radio_holds, radio_updates, "
            "radio_updated_s FROM labels"
        ).fetchall()
        return {row[0]: self._record(row) for row in rows}

    def _record(self, row: tuple[object, ...]) -> LabelRecord:
        (label_id, address, model, key, sequence, mac, response, shown_hash, black, accent,
         offset, battery, rssi, lqi, temperature, seen, error, holds, updates,
         updated_s) = row  # fmt: skip
        shown = None
        if isinstance(black, bytes):
            width, height = self._sizes[str(model)]
            shown = Planes(
                width=width,
                height=height,
                black=black,
                accent=accent if isinstance(accent, bytes) else None,
            )
        return LabelRecord(
            label_id=str(label_id),
            address=str(address),
            model=str(model),
            key=key if isinstance(key, bytes) else None,
            last_sequence=int(str(sequence)),
            last_mac=bytes(mac) if isinstance(mac, bytes) else b"",
            last_response=bytes(response) if isinstance(response, bytes) else b"",
            shown_hash=shown_hash if isinstance(shown_hash, bytes) else None,
            shown=shown,
            clock_offset_ms=int(str(offset)),
            battery_mv=int(str(battery)),
            rssi_dbm=int(str(rssi)),
            lqi=int(str(lqi)),
            temperature_tenths_c=int(str(temperature)),
            last_seen_s=float(str(seen)),
            last_error=str(error),
            radio_holds=str(holds),
            radio_updates=None if updates is None else int(str(updates)),
            radio_updated_s=None if updated_s is None else int(str(updated_s)),
        )

    def _save_label(self, record: LabelRecord) -> None:
        shown = record.shown
        self._db.execute(
            "UPDATE labels SET key=?, last_sequence=?, last_mac=?, last_response=?, "
            "shown_hash=?, shown_black=?, shown_accent=?, clock_offset_ms=?, battery_mv=?, "
            "rssi_dbm=?, lqi=?, temperature_tenths_c=?, last_seen_s=?, last_error=?, "
            "radio_holds=?, radio_updates=?, radio_updated_s=? WHERE label_id=?",
            (
                record.key,
                record.last_sequence,
                record.last_mac,
                record.last_response,
                record.shown_hash,
                None if shown is None else shown.black,
                None if shown is None else shown.accent,
                record.clock_offset_ms,
                record.battery_mv,
                record.rssi_dbm,
                record.lqi,
                record.temperature_tenths_c,
                record.last_seen_s,
                record.last_error,
                record.radio_holds,
                record.radio_updates,
                record.radio_updated_s,
                record.label_id,
            ),
        )

    def save_label(self, record: LabelRecord, *, check_in: bytes | None = None) -> None:
        """Store the label's state, and queue its `check_in` (`queue_check_in`) in the same
        transaction: a label found blank or drawn over is stored so together with the
        check-in that tells the controller, or neither is. Stored blank without it (a
        power cut between two transactions), a tag that then stays silent would never
        tell the controller, which would keep believing the old image."""
        with self._transaction():
            self._save_label(record)
            if check_in is not None:
                self._queue_check_in(record.label_id, check_in)

    # ------------------------------------------------------------ frames and answers

    def enqueue(self, *, label_id: str, sequence: int, opcode: int, payload: bytes) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO inbox (label_id, sequence, opcode, payload) VALUES (?, ?, ?, ?)",
                (label_id, sequence, opcode, payload),
            )

    def queued(self, label_id: str) -> list[QueuedFrame]:
        rows = self._db.execute(
            "SELECT id, label_id, sequence, opcode, payload FROM inbox WHERE label_id=? "
            "ORDER BY id",
            (label_id,),
        ).fetchall()
        return [QueuedFrame(*row) for row in rows]

    def labels_with_frames(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT DISTINCT label_id FROM inbox")]

    def settle(
        self,
        frame: QueuedFrame,
        *,
        label: LabelRecord,
        answer: bytes | None,
        check_in: bytes | None = None,
        relayed: bool = False,
    ) -> None:
        """One transaction: the label's new state, its answer queued, the frame gone.

        A check-in of the label still waiting to go (`queue_check_in`) was signed before
        this answer: it becomes `check_in` (signed after the answer, from the label's
        state after the frame), or is dropped when `check_in` is None (a label left
        without a key checks in no more). Sent as it was, behind the answer, it would
        read as older than the answer at the controller, which then forgets what the
        label shows and sends its image again in full.

        The frame's tries end, and so do those of the label's frames it comes after:
        those under a sequence at or below the last one the label took, or, `relayed`
        (a label that checks and signs its frames itself, `relay`: the gateway never
        learns which sequence it took), at or below this frame's own."""
        with self._transaction():
            self._save_label(label)
            if answer is not None:
                self._queue(frame.label_id, answer)
                self._check_in_made_again(frame.label_id, check_in)
            self._db.execute("DELETE FROM inbox WHERE id=?", (frame.id,))
            # This frame's tries are over, and so are those of the frames before the last
            # one the label took (refused for failing the gateway: a copy sent now is
            # refused as stale), other frames under that same sequence included. The
            # label's sequence, not the frame's, where the gateway checks frames: a
            # forged frame naming a later one is refused and takes none. A relayed
            # label's stays 0, which would keep every row it has for good: there the
            # frame's sequence it is, as the controller signs its frames for a label in
            # order; a copy of an earlier one sent after is the label's to refuse.
            ended = max(label.last_sequence, frame.sequence if relayed else 0)
            self._db.execute(
                "DELETE FROM frame_tries WHERE label_id = ? AND kind = ? "
                "AND (sequence <= ? OR (sequence = ? AND digest = ?))",
                (frame.label_id, TriedAs.FRAME, ended, frame.sequence, _digest(frame)),
            )

    def refuse(self, frame: QueuedFrame, *, report: bytes) -> None:
        """One transaction: the gateway's `report` in place of an answer, the frame gone
        (a frame for a label this gateway no longer stands in for, or one it failed on
        every try). Its tries stay: a copy the controller sends again has had them."""
        with self._transaction():
            self._queue(frame.label_id, report)
            self._db.execute("DELETE FROM inbox WHERE id=?", (frame.id,))

    def tries(self, frame: QueuedFrame) -> FrameTries:
        """How many times `frame` (its label, sequence and bytes: a copy sent again is the
        same frame, another one under its sequence is not) was begun and not settled, and
        the last failure noted."""
        return self.frame_tries(
            label_id=frame.label_id, sequence=frame.sequence, payload=frame.payload
        )

    def frame_tries(self, *, label_id: str, sequence: int, payload: bytes) -> FrameTries:
        """`tries` of the frame `payload` for `label_id` under `sequence`, as it comes in."""
        row = self._db.execute(
            "SELECT tries, last_failure, refusals FROM frame_tries "
            "WHERE label_id = ? AND sequence = ? AND digest = ?",
            (label_id, sequence, payload_digest(payload)),
        ).fetchone()
        if row is None:
            return FrameTries()
        return FrameTries(int(row[0]), str(row[1]), int(row[2]))

    def failed_on_report(
        self, *, label_id: str, sequence: int, payload: bytes, failure: str
    ) -> None:
        """Storing the report refusing the frame `payload` (in the inbox, or a copy coming
        in) made the gateway fail (`failure`): counted apart from its tries
        (`FrameTries.refusals`), which may be over already."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO frame_tries "
                "(label_id, sequence, digest, tries, last_failure, kind, refusals) "
                "VALUES (?, ?, ?, 0, ?, ?, 1) ON CONFLICT (label_id, sequence, digest) "
                "DO UPDATE SET refusals = refusals + 1, last_failure = excluded.last_failure",
                (label_id, sequence, payload_digest(payload), failure, TriedAs.FRAME),
            )

    def drop(self, frame: QueuedFrame) -> None:
        """`frame` leaves the inbox with nothing in its place (its report could not be
        stored, `failed_on_report`). Its count stays: a copy sent again has had it."""
        with self._transaction():
            self._db.execute("DELETE FROM inbox WHERE id=?", (frame.id,))

    def failed_on_frame(
        self, *, label_id: str, sequence: int, payload: bytes, failure: str
    ) -> None:
        """Taking the frame `payload` in made the gateway fail (`failure`): one more of its
        tries, counted with those of carrying it out (`tries`)."""
        self._failed_on(TriedAs.FRAME, label_id, sequence, payload_digest(payload), failure)

    def failed_on_uplink(
        self, *, label_id: str | None, answer_id: int, payload: bytes, failure: str
    ) -> None:
        """Recording a message up delivered made the gateway fail (`failure`): one more
        try of it (`uplinks_failed`). The outbox row `answer_id` (an answer, or the
        gateway's report), or, `answer_id` 0, `label_id`'s check-in `payload`."""
        self._failed_on(TriedAs.UPLINK, *uplink_key(label_id, answer_id, payload), failure)

    def uplinks_failed(self, *, at_least: int) -> dict[UplinkKey, FrameTries]:
        """The messages up (`uplink_key`) the gateway failed on recording delivered
        `at_least` times, and their tries."""
        rows = self._db.execute(
            "SELECT label_id, sequence, digest, tries, last_failure FROM frame_tries "
            "WHERE kind = ? AND tries >= ?",
            (TriedAs.UPLINK, at_least),
        )
        return {
            (str(row[0]), int(row[1]), bytes(row[2])): FrameTries(int(row[3]), str(row[4]))
            for row in rows
        }

    def _failed_on(
        self, kind: TriedAs, label_id: str, sequence: int, digest: bytes, failure: str
    ) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO frame_tries (label_id, sequence, digest, tries, last_failure, kind) "
                "VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (label_id, sequence, digest) "
                "DO UPDATE SET tries = tries + 1, last_failure = excluded.last_failure",
                (label_id, sequence, digest, failure, kind),
            )

    def count_try(self, frame: QueuedFrame) -> None:
        """One more try of `frame`, committed before it begins: a try the gateway does
        not live through (killed, a power cut, stopped by the failure) counts too."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO frame_tries (label_id, sequence, digest, tries) "
                "VALUES (?, ?, ?, 1) "
                "ON CONFLICT (label_id, sequence, digest) DO UPDATE SET tries = tries + 1",
                (frame.label_id, frame.sequence, _digest(frame)),
            )

    def take_back_try(self, frame: QueuedFrame) -> None:
        """`frame`'s try was cut short by the gateway stopping (told to, or another part
        failed): not the frame's doing, so it does not count."""
        with self._transaction():
            self._db.execute(
                "UPDATE frame_tries SET tries = MAX(tries - 1, 0) "
                "WHERE label_id = ? AND sequence = ? AND digest = ?",
                (frame.label_id, frame.sequence, _digest(frame)),
            )

    def note_failure(self, frame: QueuedFrame, failure: str) -> None:
        """What made `frame`'s try fail, kept for the line that refuses it later."""
        with self._transaction():
            self._db.execute(
                "UPDATE frame_tries SET last_failure = ? "
                "WHERE label_id = ? AND sequence = ? AND digest = ?",
                (failure, frame.label_id, frame.sequence, _digest(frame)),
            )

    def queue_answer(self, answer: bytes, *, label_id: str) -> None:
        """Queue `label_id`'s answer, or the gateway's report on it, behind the others."""
        with self._transaction():
            self._queue(label_id, answer)

    def _queue(self, label_id: str, answer: bytes) -> None:
        self._db.execute("INSERT INTO outbox (payload, label_id) VALUES (?, ?)", (answer, label_id))

    def answers(self, limit: int = 100) -> list[tuple[int, bytes]]:
        rows = self._db.execute(
            "SELECT id, payload FROM outbox ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [(int(row[0]), bytes(row[1])) for row in rows]

    def next_answer(
        self, *, passed_over: Callable[[int, str | None], bool]
    ) -> tuple[int, str | None, bytes] | None:
        """The first answer in the outbox (id, its label, payload) that `passed_over`
        (given its id and label: None in a row written before the outbox kept them) does
        not pass over: one on its way already, or one of a label with another on its
        way (`gateways.store_gateway.uplinks`)."""
        rows = self._db.execute("SELECT id, label_id FROM outbox ORDER BY id")
        for answer_id, label_id in rows:
            if passed_over(int(answer_id), None if label_id is None else str(label_id)):
                continue
            (payload,) = self._db.execute(
                "SELECT payload FROM outbox WHERE id = ?", (answer_id,)
            ).fetchone()
            return int(answer_id), None if label_id is None else str(label_id), bytes(payload)
        return None

    def delivered(
        self, *, answers: Collection[int], check_ins: Collection[tuple[str, bytes]]
    ) -> None:
        """One transaction: these answers and check-ins (label, payload) reached the
        broker, and leave the state file; a newer check-in queued for the label meanwhile
        (it replaced the one on its way) still waits."""
        if not answers and not check_ins:
            return
        with self._transaction():
            self._db.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in answers])
            self._db.executemany(
                "DELETE FROM check_ins WHERE label_id = ? AND payload = ?", list(check_ins)
            )
            # Their failures counted go with them (`failed_on_uplink`).
            self._db.executemany(
                "DELETE FROM frame_tries WHERE kind = ? AND sequence = ? AND sequence > 0",
                [(TriedAs.UPLINK, i) for i in answers],
            )
            self._db.executemany(
                "DELETE FROM frame_tries WHERE kind = ? AND label_id = ? AND sequence = 0 "
                "AND digest = ?",
                [(TriedAs.UPLINK, label, payload_digest(p)) for label, p in check_ins],
            )

    # ------------------------------------------------------------ check-ins

    def queue_check_in(self, label_id: str, check_in: bytes) -> None:
        """`check_in` is the label's newest: it replaces one still waiting, in that one's
        place (a label checked in for at every poll is not sent to the back each time),
        or waits behind the others. Only the newest says anything the controller uses
        (what the label shows, its battery, that it was heard), and it says all of it."""
        with self._transaction():
            self._queue_check_in(label_id, check_in)

    def _queue_check_in(self, label_id: str, check_in: bytes) -> None:
        self._db.execute(
            "INSERT INTO check_ins (label_id, payload) VALUES (?, ?) "
            "ON CONFLICT (label_id) DO UPDATE SET payload = excluded.payload",
            (label_id, check_in),
        )
        self._forget_replaced_check_ins(label_id, check_in)

    def _forget_replaced_check_ins(self, label_id: str, check_in: bytes | None) -> None:
        """The failures counted on the label's check-ins other than `check_in`: they
        are no longer in the state file."""
        self._db.execute(
            "DELETE FROM frame_tries WHERE kind = ? AND label_id = ? AND sequence = 0 "
            "AND digest IS NOT ?",
            (TriedAs.UPLINK, label_id, None if check_in is None else payload_digest(check_in)),
        )

    def _check_in_made_again(self, label_id: str, check_in: bytes | None) -> None:
        if check_in is None:
            self._db.execute("DELETE FROM check_ins WHERE label_id = ?", (label_id,))
        else:
            self._db.execute(
                "UPDATE check_ins SET payload = ? WHERE label_id = ?", (check_in, label_id)
            )
        self._forget_replaced_check_ins(label_id, check_in)

    def check_in_waiting(self, label_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM check_ins WHERE label_id = ?", (label_id,))
        return row.fetchone() is not None

    def next_check_in(
        self, *, busy: Collection[str] = (), set_aside: Collection[int] = ()
    ) -> tuple[str, bytes] | None:
        """The check-in waiting longest whose label has no answer waiting (nor one on its
        way: it stays in the outbox until the broker has it) and is not `busy`: a label's
        check-in is signed after the answers queued for it, and goes after them. An
        answer `set_aside` (outbox ids: dropped, but its row would not leave) never goes,
        and holds up no check-in."""
        aside = ", ".join("?" * len(set_aside))
        rows = self._db.execute(
            "SELECT label_id FROM check_ins AS c WHERE NOT EXISTS "
            "(SELECT 1 FROM outbox AS o WHERE o.label_id = c.label_id "
            f"AND o.id NOT IN ({aside})) ORDER BY c.rowid",
            [int(i) for i in set_aside],
        )
        for (label_id,) in rows:
            if label_id in busy:
                continue
            (payload,) = self._db.execute(
                "SELECT payload FROM check_ins WHERE label_id = ?", (label_id,)
            ).fetchone()
            return str(label_id), bytes(payload)
        return None

    def check_ins(self) -> list[tuple[str, bytes]]:
        """Every check-in waiting (label, check-in), the one waiting longest first."""
        rows = self._db.execute("SELECT label_id, payload FROM check_ins ORDER BY rowid")
        return [(str(row[0]), bytes(row[1])) for row in rows]

    def counts(self) -> tuple[int, int]:
        """Frames waiting, answers waiting (check-ins aside: `check_ins`)."""
        (inbox,) = self._db.execute("SELECT COUNT(*) FROM inbox").fetchone()
        (outbox,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(inbox), int(outbox)
