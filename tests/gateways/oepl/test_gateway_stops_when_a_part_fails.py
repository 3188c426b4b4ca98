"""A part of the store gateway process that fails stops the process, said at once.

The process runs its parts as tasks: receiving frames, sending to the controller, the
health polls, one worker per label. Before, one that raised died silently: nothing was
logged until the process was stopped (and not even then), and the gateway ran on, its
online status retained, while nothing more went up to the controller (or no frame was
carried out): a store gateway that looks alive and does nothing. Now the error is logged
with its traceback when it happens and ends `run` (so `esl gateway oepl` exits 1, and its
supervisor starts it again, from the state file). The failures here are SQLite's own: a
trigger refuses the state file's change, as a full disk would.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from esl.cli.failures import explain
from gateways.errors import StoreGatewayFailedError
from gateways.mqtt.endpoint import parse_broker_url
from gateways.oepl.radio import OeplRadio
from gateways.protocol import generate_label_key
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from gateways.store_gateway.reports import not_in_label_file_report
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.oepl import tag_mac

pytestmark = pytest.mark.integration

# Far longer than the failure takes; before, `run` waited for it (for good).
_FAILS_WITHIN_S = 20


def _refuse(path: Path, trigger: str) -> None:
    with sqlite3.connect(path) as failing:
        failing.execute(trigger)
    failing.close()


async def _run_until_it_fails(
    process: StoreGatewayProcess, caplog: pytest.LogCaptureFixture
) -> StoreGatewayFailedError:
    with pytest.raises(StoreGatewayFailedError) as raised:
        async with asyncio.timeout(_FAILS_WITHIN_S):
            await process.run(asyncio.Event())  # never told to stop
    failure = raised.value
    assert isinstance(failure.__cause__, sqlite3.IntegrityError)
    assert "disk full" in str(failure.__cause__)
    # Logged when it happened, with its traceback: the part's own error.
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert [r.exc_info[1] for r in logged if r.exc_info] == [failure.__cause__]
    # What `esl gateway oepl` prints as it exits 1: one line, the log has the rest.
    assert explain(failure) == [f"error: {failure.message}"]
    return failure


async def test_sending_to_the_controller_fails_the_gateway_stops_and_says_why(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gateways.store_gateway")
    path = tmp_path / "gw.sqlite"
    state = open_local_state(path)
    mac = tag_mac(1)
    state.add_labels([LabelRecord(mac, mac, "2.9-bwr", key=generate_label_key())])
    # Left unsent by the last run: it goes up, the broker acknowledges it, and the state
    # file cannot let it go (full).
    report = not_in_label_file_report("L-GONE", 7, now=datetime.now(UTC))
    state.queue_answer(report, label_id="L-GONE")
    _refuse(
        path,
        "CREATE TRIGGER outbox_full BEFORE DELETE ON outbox "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    process = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=parse_broker_url(mosquitto.url),
        radio=radio,
        state=state,
    )
    try:
        failure = await _run_until_it_fails(process, caplog)
    finally:
        state.close()

    assert failure.fields["part"] == "sending to the controller"
    reopened = open_local_state(path)
    kept = reopened.answers()
    reopened.close()
    # Not recorded as delivered: it goes again at the next start (the controller refuses
    # the copy of what it holds).
    assert [payload for _, payload in kept] == [report]


async def test_a_labels_worker_fails_the_gateway_stops_and_says_why(
    mosquitto: MosquittoProcess, radio: OeplRadio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gateways.store_gateway")
    path = tmp_path / "gw.sqlite"
    state = open_local_state(path)
    mac = tag_mac(1)
    state.add_labels([LabelRecord(mac, mac, "2.9-bwr", key=generate_label_key())])
    # Left in the inbox by the last run: its worker answers it (a refusal: it is no
    # frame), and the state file cannot take the frame out (full).
    state.enqueue(label_id=mac, sequence=1, opcode=-1, payload=b"not a frame")
    _refuse(
        path,
        "CREATE TRIGGER inbox_full BEFORE DELETE ON inbox "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    process = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=parse_broker_url(mosquitto.url),
        radio=radio,
        state=state,
    )
    try:
        failure = await _run_until_it_fails(process, caplog)
    finally:
        state.close()

    assert failure.fields["part"] == f"label {mac}'s frames"
    reopened = open_local_state(path)
    waiting, unsent = reopened.counts()
    reopened.close()
    # Carried out again at the next start, its answer not queued without it.
    assert (waiting, unsent) == (1, 0)
