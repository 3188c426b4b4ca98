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
from gateways.store_gateway.local_state import LabelRecord, LocalState
from gateways.store_gateway.process import open_local_state
from gateways.store_gateway.reports import not_in_label_file_report
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.oepl import tag_mac
from tests.support.store_gateway import store_gateway

pytestmark = pytest.mark.integration

# Far longer than the failure takes; before, `run` waited for it (for good).
_FAILS_WITHIN_S = 20
MAC = tag_mac(1)


def _state_file_full(path: Path, *, table: str) -> LocalState:
    """The state file of a gateway of one tag, whose `table` lets no row go: a trigger
    refuses it with SQLite's own error, as a full disk would (rows still come in)."""
    state = open_local_state(path)
    state.add_labels([LabelRecord(MAC, MAC, "2.9-bwr", key=generate_label_key())])
    with sqlite3.connect(path) as failing:
        failing.execute(
            f"CREATE TRIGGER {table}_full BEFORE DELETE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    failing.close()
    return state


async def _run_until_it_fails(
    state: LocalState,
    radio: OeplRadio,
    mosquitto: MosquittoProcess,
    caplog: pytest.LogCaptureFixture,
) -> StoreGatewayFailedError:
    """The gateway over `state` run as `esl gateway oepl` runs it, until it fails; the
    state closed."""
    caplog.set_level(logging.ERROR, logger="gateways.store_gateway")
    process = store_gateway(state, radio, parse_broker_url(mosquitto.url))
    try:
        with pytest.raises(StoreGatewayFailedError) as raised:
            async with asyncio.timeout(_FAILS_WITHIN_S):
                await process.run(asyncio.Event())  # never told to stop
    finally:
        state.close()
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
    path = tmp_path / "gw.sqlite"
    state = _state_file_full(path, table="outbox")
    # Left unsent by the last run: it goes up, the broker acknowledges it, and the state
    # file cannot let it go (full).
    report = not_in_label_file_report("L-GONE", 7, now=datetime.now(UTC))
    state.queue_answer(report, label_id="L-GONE")
    failure = await _run_until_it_fails(state, radio, mosquitto, caplog)

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
    path = tmp_path / "gw.sqlite"
    state = _state_file_full(path, table="inbox")
    # Left in the inbox by the last run: its worker answers it (a refusal: it is no
    # frame), and the state file cannot take the frame out (full).
    state.enqueue(label_id=MAC, sequence=1, opcode=-1, payload=b"not a frame")
    failure = await _run_until_it_fails(state, radio, mosquitto, caplog)

    assert failure.fields["part"] == f"label {MAC}'s frames"
    reopened = open_local_state(path)
    waiting, unsent = reopened.counts()
    reopened.close()
    # Carried out again at the next start, its answer not queued without it.
    assert (waiting, unsent) == (1, 0)
