"""Simulated labels' persistent state: one SQLite file per gateway (stdlib sqlite3).

A real label keeps its image on the panel and its key and sequence counter in flash; a
restarted simulator must do the same, or a replayed frame would be accepted after a
restart. Images are stored once per content hash, zlib-compressed.

The file holds every label's key, so it is its owner's alone whatever the umask
(`gateways.protocol.key_files`), as the controller's database and the store gateway's
state file are.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from firmware_sim.hardware import LabelHardware, hardware_for
from firmware_sim.images import ImageStore
from firmware_sim.label import LabelSnapshot, SimulatedLabel
from gateways.protocol.key_files import keep_key_file_private
from rendering.display_models import get_display_model
from rendering.encoding import Planes

__all__ = ["LabelStateStore", "holds_label_state"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    label_id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    key BLOB,
    last_sequence INTEGER NOT NULL,
    last_mac BLOB NOT NULL,
    last_response BLOB NOT NULL,
    battery_nv INTEGER NOT NULL,
    shown_hash BLOB,
    shown_page INTEGER NOT NULL,
    page_hashes BLOB NOT NULL,
    scheduled_page INTEGER,
    scheduled_at_ms INTEGER NOT NULL,
    clock_offset_ms INTEGER NOT NULL,
    last_contact_ms INTEGER NOT NULL,
    busy_until_ms INTEGER NOT NULL,
    led_until_ms INTEGER NOT NULL,
    rssi_dbm INTEGER NOT NULL,
    temperature_tenths_c INTEGER NOT NULL,
    refreshes INTEGER NOT NULL,
    counter_key BLOB
);
CREATE TABLE IF NOT EXISTS images (
    hash BLOB PRIMARY KEY,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    has_accent INTEGER NOT NULL,
    planes BLOB NOT NULL
);
"""
_EMPTY_PAGE = bytes(16)


def holds_label_state(path: Path) -> bool:
    """Whether `path` is a simulated gateway's label state, looked at read-only: a state
    directory may hold other SQLite files (an OpenEPaperLink store gateway's own, in
    `esl demo --transport oepl`), which opening a LabelStateStore would alter."""
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            columns = {row[1] for row in db.execute("PRAGMA table_info(labels)")}
    except sqlite3.DatabaseError:  # not SQLite at all, or unreadable
        return False
    return {"labels", "images"} <= tables and {"last_sequence", "page_hashes"} <= columns


class LabelStateStore:
    """Save and load every label of one gateway."""

    def __init__(self, path: Path) -> None:
        keep_key_file_private(path)  # it holds every label's key
        self.path = path
        self._db = sqlite3.connect(path)
        # WAL: a committed save survives the process being killed (kill -9) without an
        # fsync per commit; the store gateway commits before each answer leaves.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(labels)")}
        if "counter_key" not in columns:  # a file written before the column existed
            self._db.execute("ALTER TABLE labels ADD COLUMN counter_key BLOB")
        self._saved_images: set[bytes] = {
            bytes(row[0]) for row in self._db.execute("SELECT hash FROM images")
        }

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LabelStateStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def save(self, labels: Iterable[SimulatedLabel], *, images: ImageStore) -> None:
        rows = []
        new_images: dict[bytes, Planes] = {}
        for label in labels:
            snapshot = label.snapshot()
            rows.append(_row(snapshot))
            for digest in (snapshot.shown_hash, *snapshot.page_hashes):
                if digest is None or digest in self._saved_images or digest in new_images:
                    continue
                planes = images.get(digest)
                if planes is not None:
                    new_images[digest] = planes
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?)",
                [
                    (d, p.width, p.height, int(p.has_accent), zlib.compress(b"".join(p.planes)))
                    for d, p in new_images.items()
                ],
            )
            self._db.executemany(
                f"INSERT OR REPLACE INTO labels VALUES ({', '.join('?' * 20)})", rows
            )
        self._saved_images.update(new_images)

    def load(self, *, images: ImageStore, now: datetime) -> list[SimulatedLabel]:
        """Every stored label, its images interned into `images`."""
        for digest, width, height, has_accent, packed in self._db.execute(
            "SELECT hash, width, height, has_accent, planes FROM images"
        ):
            raw = zlib.decompress(packed)
            size = ((width + 7) // 8) * height
            planes = Planes(
                width=width,
                height=height,
                black=raw[:size],
                accent=raw[size:] if has_accent else None,
            )
            images.intern(bytes(digest), planes)
        hardware: dict[str, LabelHardware] = {}
        labels = []
        for row in self._db.execute("SELECT * FROM labels ORDER BY label_id"):
            snapshot = _snapshot(row)
            if snapshot.model_id not in hardware:
                hardware[snapshot.model_id] = hardware_for(get_display_model(snapshot.model_id))
            labels.append(
                SimulatedLabel.restore(
                    snapshot, hardware=hardware[snapshot.model_id], images=images, now=now
                )
            )
        return labels

    def count(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM labels").fetchone()
        return int(count)


def _row(s: LabelSnapshot) -> tuple[object, ...]:
    return (
        s.label_id,
        s.model_id,
        s.key,
        s.last_sequence,
        s.last_mac,
        s.last_response,
        s.battery_nv,
        s.shown_hash,
        s.shown_page,
        b"".join(h or _EMPTY_PAGE for h in s.page_hashes),
        s.scheduled_page,
        s.scheduled_at_ms,
        s.clock_offset_ms,
        s.last_contact_ms,
        s.busy_until_ms,
        s.led_until_ms,
        s.rssi_dbm,
        s.temperature_tenths_c,
        s.refreshes,
        s.counter_key,
    )


def _snapshot(row: tuple[Any, ...]) -> LabelSnapshot:
    (
        label_id,
        model_id,
        key,
        last_sequence,
        last_mac,
        last_response,
        battery_nv,
        shown_hash,
        shown_page,
        page_hashes,
        scheduled_page,
        scheduled_at_ms,
        clock_offset_ms,
        last_contact_ms,
        busy_until_ms,
        led_until_ms,
        rssi_dbm,
        temperature,
        refreshes,
        counter_key,
    ) = row
    hashes = tuple(page_hashes[i : i + 16] for i in range(0, len(page_hashes), 16))
    return LabelSnapshot(
        label_id=str(label_id),
        model_id=str(model_id),
        key=None if key is None else bytes(key),
        last_sequence=int(last_sequence),
        last_mac=bytes(last_mac),
        last_response=bytes(last_response),
        battery_nv=int(battery_nv),
        shown_hash=None if shown_hash is None else bytes(shown_hash),
        shown_page=int(shown_page),
        page_hashes=tuple(None if h == _EMPTY_PAGE else h for h in hashes),
        scheduled_page=None if scheduled_page is None else int(scheduled_page),
        scheduled_at_ms=int(scheduled_at_ms),
        clock_offset_ms=int(clock_offset_ms),
        last_contact_ms=int(last_contact_ms),
        busy_until_ms=int(busy_until_ms),
        led_until_ms=int(led_until_ms),
        rssi_dbm=int(rssi_dbm),
        temperature_tenths_c=int(temperature),
        refreshes=int(refreshes),
        counter_key=None if counter_key is None else bytes(counter_key),
    )
