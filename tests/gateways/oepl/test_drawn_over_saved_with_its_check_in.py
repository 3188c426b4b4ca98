"""A label found drawn over is stored as showing nothing together with the check-in that
says so, or neither is.

The store gateway forgets what a drawn-over label shows and queues a check-in claiming no
image, so the controller sends the due one again. Before, these were two transactions of
the state file: a failure (or a power cut) between them left the label stored blank with
no check-in queued; a tag that then stays silent is never checked in for again (and the
blank label is never found drawn over again), so the controller kept believing the tag
showed its image. The failure here is SQLite's own: a trigger refuses the check-in's row.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from gateways.mqtt.endpoint import parse_broker_url
from gateways.oepl.radio import OeplRadio
from gateways.protocol import generate_label_key
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.oepl import price_planes, tag_mac
from tests.support.waiting import until

pytestmark = pytest.mark.integration


async def test_a_label_found_drawn_over_is_not_stored_blank_without_its_check_in(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gateways.store_gateway.process")
    mac = tag_mac(1)  # checks in at the emulated AP all the time, its update count 0
    path = tmp_path / "gw.sqlite"
    state = open_local_state(path)
    label = LabelRecord(mac, mac, "2.9-bwr", key=generate_label_key())
    state.add_labels([label])
    # Our delivery, as the gateway confirmed it: the tag's 5th update. The AP says 0: drawn
    # over (or its record lost), at the first health poll.
    shows = label.evolve(
        last_sequence=1,
        shown=price_planes(seed=3),
        shown_hash=b"\x03" * 16,
        radio_updates=5,
        radio_updated_s=int(time.time()) - 60,
    )
    state.save_label(shows)
    with sqlite3.connect(path) as failing:
        failing.execute(
            "CREATE TRIGGER check_in_not_written BEFORE INSERT ON check_ins "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    failing.close()

    process = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=parse_broker_url(mosquitto.url),
        radio=radio,
        state=state,
        health_every_s=0.1,
    )
    await process.start()
    try:
        await until(
            lambda: any("health poll failed" in r.getMessage() for r in caplog.records),
            what="a health poll that found the label drawn over and could not queue its check-in",
            timeout_s=30,
        )
    finally:
        await process.crash()
        state.close()

    reopened = open_local_state(path)
    stored = reopened.labels()[mac]
    waiting = reopened.check_ins()
    reopened.close()
    # Before: stored blank ("drawn over", no image), and no check-in to say so.
    assert (stored.shown, stored.shown_hash, waiting) == (shows.shown, shows.shown_hash, [])
