"""One message that makes a part of the store gateway fail every time, outside a label's
frame, costs a bounded number of restarts and is then set aside; the store goes on.

A part that raises stops the gateway, and its supervisor starts it again from the state
file (`test_gateway_stops_when_a_part_fails.py`); a frame that fails its label's worker
every time is refused after three tries (`test_a_frame_the_gateway_fails_on_is_refused.py`).
Two other parts handle one stored or redelivered message at a time:

- sending to the controller: a message in the state file that the gateway fails on once
  the broker has it went up again at every start, and failed again: a restart loop for
  good (each start sent every answer behind it once more);
- receiving frames: a frame the gateway fails on as it takes it comes again as long as
  the controller sends it again (its retries, then every check-in of the label reviving
  the parked update): one restart each, for good.

Now each such failure is counted in the state file against that message (the same
count as a frame's tries), and after `TRIES_PER_FRAME` the message is set aside: an
answer is dropped and said so in the log; a frame is refused with the gateway's final
report. A failure not tied to one message stops the gateway as before and counts
against none: SQLite's own SQLITE_FULL (the state file let grow by no page, as on a disk
with no room left) counts against no frame, coming in or carried out; a state file
that lets no row go and takes no count either cannot count. An answer dropped is one
outbox row: the same bytes in a new row (the frame sent again, a radio duplicate) go up,
and a row set aside holds up none of its label's check-ins, and stays set aside once its
label leaves the label file. A frame whose refusing report cannot be stored leaves the
inbox without it after 3 such failures.

Real parts: Mosquitto, the store gateway process started again by a supervisor loop as
systemd does, the emulated AP and its tags. The failures are SQLite's own: a trigger
refuses one row, every time, as a bug in handling that one message would fail.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from esl.bench._delayed_link import DelayedLink
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.errors import StoreGatewayFailedError
from gateways.mqtt.endpoint import BrokerEndpoint, parse_broker_url
from gateways.oepl import AccessPointClient, AccessPointDriver
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FrameRejectedError,
    LabelFrame,
    ReportFlag,
    build_image_update,
    decode_gateway_report,
    encode_frame,
    generate_label_key,
    peek_header,
)
from gateways.store_gateway.label_stand_in import check_in_report
from gateways.store_gateway.local_state import LocalState
from gateways.store_gateway.process import TRIES_PER_FRAME, open_local_state, take_label_file
from gateways.store_gateway.reports import failed_every_try, not_in_label_file_report
from rendering.display_models import get_display_model
from rendering.encoding import Planes
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.oepl import image_frame, price_planes, tag_mac
from tests.support.oepl_chain import FAST_DRIVER
from tests.support.store_gateway import (
    ControllerSide,
    controller_side,
    signed_word,
    state_with_labels,
    store_gateway,
    with_no_room_left,
)
from tests.support.waiting import until

pytestmark = pytest.mark.integration

POISONED, OTHERS = tag_mac(1), [tag_mac(2), tag_mac(3)]
FAILURE = "cannot handle this message"
# Runs the supervisor allows before it gives up: far more than the bounded ones.
_RUNS_AT_MOST = 3 * TRIES_PER_FRAME


class Supervisor:
    """`esl gateway oepl` under its unit's `Restart=always`: the process opened on the
    same state file each time and run until told to stop; each failure noted. Its first
    `full_runs` runs on a disk with no room left (`with_no_room_left`); its broker link
    `endpoint` (the broker's own address unless given)."""

    def __init__(
        self,
        path: Path,
        served: ServedAccessPoint,
        broker: MosquittoProcess,
        *,
        full_runs: int = 0,
        endpoint: BrokerEndpoint | None = None,
    ) -> None:
        self.path = path
        self.served = served
        self.endpoint = endpoint or parse_broker_url(broker.url)
        self.full_runs = full_runs
        self.runs = 0
        self.failures: list[StoreGatewayFailedError] = []
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self.stop.is_set() and len(self.failures) < _RUNS_AT_MOST:
            state = open_local_state(self.path)
            self.runs += 1
            if self.runs <= self.full_runs:
                with_no_room_left(state)
            radio = OeplRadio(
                AccessPointDriver(AccessPointClient(self.served.url), timings=FAST_DRIVER)
            )
            process = store_gateway(state, radio, self.endpoint)
            try:
                await process.run(self.stop)
            except StoreGatewayFailedError as failure:
                self.failures.append(failure)
            finally:
                await radio.close()
                state.close()

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


async def _ran_once(path: Path, served: ServedAccessPoint, broker: MosquittoProcess) -> None:
    """The gateway started and stopped once: its session at the broker keeps what the
    controller sends from then on, while it is away too."""
    state = open_local_state(path)
    radio = OeplRadio(AccessPointDriver(AccessPointClient(served.url), timings=FAST_DRIVER))
    process = store_gateway(state, radio, parse_broker_url(broker.url))
    try:
        await process.start()
        await process.stop()
    finally:
        await radio.close()
        state.close()


def _report(payload: bytes) -> tuple[str, int, str, ReportFlag] | None:
    try:
        report = decode_gateway_report(payload)
    except FrameRejectedError:
        return None
    return report.label_id, report.sequence, report.detail, report.flags


def _answered(controller: ControllerSide, keys: dict[str, bytes], label_id: str, seq: int) -> bool:
    for payload in list(controller.heard):
        if peek_header(payload).label_id != label_id:
            continue
        word = signed_word(payload, keys)
        if word is not None and word.sequence == seq:
            return True
    return False


def _trigger(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as failing:
        failing.execute(sql)
    failing.close()


def _said(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("gateways.store_gateway")
        and record.levelno == logging.ERROR
        and not record.exc_info
        and all(word in record.getMessage() for word in words)
    ]


def _poison(path: Path, when: str) -> None:
    """A trigger refusing, with `FAILURE`, every write `when` says (`BEFORE DELETE ON
    outbox WHEN ...`): the gateway fails on that one message every time."""
    _trigger(path, f"CREATE TRIGGER poisoned {when} BEGIN SELECT RAISE(ABORT, '{FAILURE}'); END")


def _row_1_never_leaves(path: Path) -> None:
    _poison(path, "BEFORE DELETE ON outbox WHEN OLD.id = 1")


async def _ran_on(
    tmp_path: Path, keys: dict[str, bytes], served: ServedAccessPoint, broker: MosquittoProcess
) -> Path:
    """A state file listing the labels of `keys`, the gateway run once on it: its path."""
    path = tmp_path / "gw.sqlite"
    state_with_labels(path, keys).close()
    await _ran_once(path, served, broker)
    return path


def _left_in_the_inbox(path: Path, label_id: str, key: bytes) -> None:
    """Frame 5 of `label_id` (drawing `price_planes(seed=50)`), as the last run left it in
    the inbox."""
    state = open_local_state(path)
    state.enqueue(
        label_id=label_id,
        sequence=5,
        opcode=-1,
        payload=image_frame(label_id, 5, key=key, seed=50),
    )
    state.close()


@asynccontextmanager
async def _supervised(
    path: Path, served: ServedAccessPoint, broker: MosquittoProcess, **options: Any
) -> AsyncIterator[Supervisor]:
    """A `Supervisor` (with `options`) for the block, closed at its end."""
    supervisor = Supervisor(path, served, broker, **options)
    try:
        yield supervisor
    finally:
        await supervisor.close()


@contextmanager
def _reopened(path: Path) -> Iterator[LocalState]:
    """The state file as the last run left it."""
    state = open_local_state(path)
    try:
        yield state
    finally:
        state.close()


def _refusals(
    controller: ControllerSide, label_id: str, sequence: int
) -> list[tuple[str, int, str, ReportFlag]]:
    """The gateway's reports on frame `sequence` of `label_id` the controller heard."""
    reports = (_report(payload) for payload in list(controller.heard))
    return [r for r in reports if r is not None and r[:2] == (label_id, sequence)]


def _all_answered(
    controller: ControllerSide, keys: dict[str, bytes], macs: list[str], seq: int = 1
) -> bool:
    return all(_answered(controller, keys, mac, seq) for mac in macs)


async def _send_first_frames(
    controller: ControllerSide, keys: dict[str, bytes], macs: list[str]
) -> None:
    """Frame 1 to each label of `macs`, the n-th drawing `price_planes(seed=n)`."""
    for number, mac in enumerate(macs, 1):
        await controller.send(mac, image_frame(mac, 1, key=keys[mac], seed=number))


async def _said_or_stopped(
    caplog: pytest.LogCaptureFixture,
    supervisor: Supervisor,
    *words: str,
    what: str,
    timeout_s: float,
) -> None:
    """Until the gateway said `words` (`_said`), or the supervisor gave up."""
    await until(
        lambda: bool(_said(caplog, *words)) or supervisor.task.done(),
        what=what,
        timeout_s=timeout_s,
    )


def _failed_each_run_in(supervisor: Supervisor, part: str, *, runs: int, cause: str) -> None:
    """The supervisor's `runs` runs each failed in `part`, on `cause`."""
    assert len(supervisor.failures) == runs, supervisor.failures
    assert {f.fields["part"] for f in supervisor.failures} == {part}
    assert all(cause in str(f.__cause__) for f in supervisor.failures)


async def test_a_message_up_the_gateway_fails_on_every_time_is_dropped_and_the_store_goes_on(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "gw.sqlite"
    keys = {mac: generate_label_key() for mac in [POISONED, *OTHERS]}
    state = state_with_labels(path, keys)
    # Left in the state file by the last run: it goes up at the start, the broker takes
    # it, and the gateway fails as it records it delivered, every time.
    poison = not_in_label_file_report("L-GONE", 7, now=datetime.now(UTC))
    state.queue_answer(poison, label_id="L-GONE")
    state.close()
    _poison(path, f"BEFORE DELETE ON outbox WHEN OLD.payload = x'{poison.hex()}'")

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto) as supervisor,
    ):
        await _said_or_stopped(
            caplog,
            supervisor,
            "L-GONE",
            "dropped",
            what="the message the gateway fails on dropped",
            timeout_s=90,
        )
        _failed_each_run_in(
            supervisor, "sending to the controller", runs=TRIES_PER_FRAME, cause=FAILURE
        )
        # It went up at each of the runs it failed (the controller refuses the copies).
        await until(
            lambda: controller.heard.count(poison) == TRIES_PER_FRAME,
            what="the message heard once a failed run",
            timeout_s=30,
        )
        [said] = _said(caplog, "L-GONE", "dropped")
        assert FAILURE in said

        # The store's labels get their frames, and no more restarts.
        await _send_first_frames(controller, keys, [POISONED, *OTHERS])
        await until(
            lambda: _all_answered(controller, keys, [POISONED, *OTHERS]),
            what="every label's frame answered",
            timeout_s=60,
        )
        for number, mac in enumerate([POISONED, *OTHERS], 1):
            assert served_ap.ap.tags[mac].shown_planes() == price_planes(seed=number)
        assert len(supervisor.failures) == TRIES_PER_FRAME
        assert not supervisor.task.done()
        assert controller.heard.count(poison) == TRIES_PER_FRAME


async def test_a_frame_the_gateway_fails_on_as_it_takes_it_is_refused_and_the_store_goes_on(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    keys = {mac: generate_label_key() for mac in [POISONED, *OTHERS]}
    path = await _ran_on(tmp_path, keys, served_ap, mosquitto)
    # The state file refuses to take this one frame into the inbox, every time.
    _poison(path, f"BEFORE INSERT ON inbox WHEN NEW.label_id = '{POISONED}' AND NEW.sequence = 5")
    poison = image_frame(POISONED, 5, key=keys[POISONED], seed=50)

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto) as supervisor,
    ):
        # The controller sends it, and again when no answer comes (its retries, a
        # check-in reviving the parked update): each copy one more failure.
        for sent in range(1, TRIES_PER_FRAME + 2):
            await controller.send(POISONED, poison)
            await until(
                lambda sent=sent: (
                    len(supervisor.failures) >= sent or bool(_refusals(controller, POISONED, 5))
                ),
                what=f"copy {sent} of the frame failed on or refused",
                timeout_s=60,
            )
            if _refusals(controller, POISONED, 5):
                break
        _failed_each_run_in(supervisor, "receiving frames", runs=TRIES_PER_FRAME, cause=FAILURE)
        [(_, _, detail, flags)] = _refusals(controller, POISONED, 5)
        assert detail == failed_every_try(TRIES_PER_FRAME)
        assert ReportFlag.FINAL in flags
        [said] = _said(caplog, POISONED, "frame 5", "refused")
        assert FAILURE in said

        # Sent again, refused again at once; the store's labels get their frames.
        await controller.send(POISONED, poison)
        await _send_first_frames(controller, keys, OTHERS)
        await controller.send(POISONED, image_frame(POISONED, 6, key=keys[POISONED], seed=6))
        await until(
            lambda: (
                _all_answered(controller, keys, OTHERS)
                and _answered(controller, keys, POISONED, 6)
                and len(_refusals(controller, POISONED, 5)) == 2
            ),
            what="every label's frame answered, the copy refused",
            timeout_s=60,
        )
        assert served_ap.ap.tags[POISONED].shown_planes() == price_planes(seed=6)
        assert len(supervisor.failures) == TRIES_PER_FRAME
        assert not supervisor.task.done()


async def test_a_state_file_failing_as_a_whole_stops_the_gateway_at_every_start_and_drops_nothing(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Not one message's doing: the state file lets no row go and takes no count either,
    # as a state file failing as a whole would (triggers: whatever the error, the count
    # cannot be written). Every start fails, as before; no message is dropped for it.
    caplog.set_level(logging.INFO)
    path = tmp_path / "gw.sqlite"
    state = state_with_labels(path, {POISONED: generate_label_key()})
    kept = not_in_label_file_report("L-GONE", 7, now=datetime.now(UTC))
    state.queue_answer(kept, label_id="L-GONE")
    state.close()
    _trigger(
        path,
        "CREATE TRIGGER outbox_full BEFORE DELETE ON outbox "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    _trigger(
        path,
        "CREATE TRIGGER tries_full BEFORE INSERT ON frame_tries "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )

    async with controller_side(mosquitto) as controller:
        async with _supervised(path, served_ap, mosquitto) as supervisor:
            await asyncio.wait_for(asyncio.shield(supervisor.task), 60)
        assert len(supervisor.failures) == _RUNS_AT_MOST > TRIES_PER_FRAME
        assert {f.fields["part"] for f in supervisor.failures} == {"sending to the controller"}
        # It went up at every start (the broker had it each time).
        await until(
            lambda: controller.heard.count(kept) == _RUNS_AT_MOST,
            what="the message heard once a start",
            timeout_s=30,
        )
    assert not _said(caplog, "dropped")
    with _reopened(path) as reopened:
        assert [payload for _, payload in reopened.answers()] == [kept]


async def test_a_frame_whose_refusal_the_gateway_fails_on_is_passed_over_and_the_store_goes_on(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The state file refuses to let this one frame leave the inbox, every time: carrying
    # it out fails (3 tries), and so does refusing it. Before, the refusal failed at
    # every start after the third, for good (it was not counted).
    caplog.set_level(logging.INFO)
    keys = {mac: generate_label_key() for mac in [POISONED, *OTHERS]}
    path = await _ran_on(tmp_path, keys, served_ap, mosquitto)
    _left_in_the_inbox(path, POISONED, keys[POISONED])
    _poison(path, f"BEFORE DELETE ON inbox WHEN OLD.label_id = '{POISONED}' AND OLD.sequence = 5")

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto) as supervisor,
    ):
        await until(
            lambda: bool(_refusals(controller, POISONED, 5)) or supervisor.task.done(),
            what="the frame refused",
            timeout_s=90,
        )
        assert len(supervisor.failures) == TRIES_PER_FRAME, supervisor.failures
        [(_, _, detail, flags)] = _refusals(controller, POISONED, 5)
        assert detail == failed_every_try(TRIES_PER_FRAME)
        assert ReportFlag.FINAL in flags

        # The label's next frame and the store's other labels' go on.
        await _send_first_frames(controller, keys, OTHERS)
        await controller.send(POISONED, image_frame(POISONED, 6, key=keys[POISONED], seed=6))
        await until(
            lambda: (
                _all_answered(controller, keys, OTHERS) and _answered(controller, keys, POISONED, 6)
            ),
            what="every label's frame answered",
            timeout_s=60,
        )
        assert served_ap.ap.tags[POISONED].shown_planes() == price_planes(seed=6)
        assert len(supervisor.failures) == TRIES_PER_FRAME
        assert not supervisor.task.done()


def test_a_state_file_from_before_the_kind_of_a_try_keeps_its_frames_tries(
    tmp_path: Path,
) -> None:
    # frame_tries as the release before wrote it: without `kind`, every row a frame's.
    path, mac = tmp_path / "gw.sqlite", tag_mac(1)
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE frame_tries (label_id TEXT NOT NULL, sequence INTEGER NOT NULL, "
            "digest BLOB NOT NULL, tries INTEGER NOT NULL, last_failure TEXT NOT NULL "
            "DEFAULT '', PRIMARY KEY (label_id, sequence, digest))"
        )
    old.close()
    state = state_with_labels(path, {mac: generate_label_key()})
    try:
        state.enqueue(label_id=mac, sequence=5, opcode=-1, payload=b"frame 5")
        [frame] = state.queued(mac)
        state.count_try(frame)
        state.failed_on_frame(label_id=mac, sequence=5, payload=b"frame 5", failure="taken in")
        answer = b"answer 5"
        for _ in range(TRIES_PER_FRAME):
            state.failed_on_uplink(label_id=mac, answer_id=1, payload=answer, failure="recorded")
        tries = state.tries(frame)
        assert (tries.count, tries.last_failure) == (2, "taken in")
        [(_, up)] = state.uplinks_failed(at_least=TRIES_PER_FRAME).items()
        assert (up.count, up.last_failure) == (TRIES_PER_FRAME, "recorded")
        # The label taking a later frame ends its frames' tries, not its messages' up.
        state.enqueue(label_id=mac, sequence=6, opcode=-1, payload=b"frame 6")
        newer = state.queued(mac)[1]
        label = state.labels()[mac].evolve(last_sequence=6)
        state.settle(newer, label=label, answer=b"answer 6")
        assert state.tries(frame).count == 0
        assert len(state.uplinks_failed(at_least=TRIES_PER_FRAME)) == 1
    finally:
        state.close()


def _noise_frame(label_id: str, sequence: int, *, key: bytes) -> tuple[bytes, Planes]:
    """A frame drawing noise on a 2.9" BWR tag, and its planes: compressed, its image
    still needs more than a page of the state file, as a real label's full image may."""
    model = get_display_model("2.9-bwr")
    pixels = np.random.default_rng(sequence).integers(0, 3, size=(model.height, model.width))
    planes = Planes(
        width=model.width,
        height=model.height,
        black=np.packbits(pixels == 1, axis=1).tobytes(),
        accent=np.packbits(pixels == 2, axis=1).tobytes(),
    )
    update = build_image_update(planes, model_id="2.9-bwr")
    return encode_frame(LabelFrame(label_id, sequence, update), key=key), planes


_NO_ROOM = "database or disk is full"  # SQLite's SQLITE_FULL


async def test_a_frame_coming_in_on_a_full_disk_is_taken_in_once_there_is_room_never_refused(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The disk has room for the small row that would count the frame, not for the
    # frame's image: the state file's failure, not the frame's. Before, each copy was
    # counted, and after three the good frame was refused for good.
    caplog.set_level(logging.INFO)
    keys = {POISONED: generate_label_key()}
    path = await _ran_on(tmp_path, keys, served_ap, mosquitto)
    frame, planes = _noise_frame(POISONED, 5, key=keys[POISONED])
    full_runs = TRIES_PER_FRAME + 1

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto, full_runs=full_runs) as supervisor,
    ):
        # The controller sends it again while no answer comes; the disk has room
        # again from the run after the last full one.
        for sent in range(1, full_runs + 2):
            await controller.send(POISONED, frame)
            await until(
                lambda sent=sent: (
                    len(supervisor.failures) >= sent
                    or bool(_refusals(controller, POISONED, 5))
                    or _answered(controller, keys, POISONED, 5)
                ),
                what=f"copy {sent} of the frame failed on, refused or answered",
                timeout_s=60,
            )
            if _refusals(controller, POISONED, 5) or _answered(controller, keys, POISONED, 5):
                break
        assert not _refusals(controller, POISONED, 5)
        assert _answered(controller, keys, POISONED, 5)
        _failed_each_run_in(supervisor, "receiving frames", runs=full_runs, cause=_NO_ROOM)
        assert served_ap.ap.tags[POISONED].shown_planes() == planes
        assert not _said(caplog, "refused")


async def test_a_frame_carried_out_on_a_full_disk_is_answered_once_there_is_room_never_refused(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Its try is counted (a small row), the tag drawn, and storing what the label shows
    # finds no room: the try is taken back. Before, three such tries refused it.
    caplog.set_level(logging.INFO)
    path = tmp_path / "gw.sqlite"
    keys = {POISONED: generate_label_key()}
    state_with_labels(path, keys).close()
    _left_in_the_inbox(path, POISONED, keys[POISONED])
    full_runs = TRIES_PER_FRAME + 1

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto, full_runs=full_runs) as supervisor,
    ):
        await until(
            lambda: (
                bool(_refusals(controller, POISONED, 5))
                or _answered(controller, keys, POISONED, 5)
                or supervisor.task.done()
            ),
            what="the frame answered or refused",
            timeout_s=90,
        )
        assert not _refusals(controller, POISONED, 5)
        assert _answered(controller, keys, POISONED, 5)
        part = f"label {POISONED}'s frames"
        _failed_each_run_in(supervisor, part, runs=full_runs, cause=_NO_ROOM)
        assert served_ap.ap.tags[POISONED].shown_planes() == price_planes(seed=50)


async def _first_answer_dropped(
    controller: ControllerSide,
    supervisor: Supervisor,
    caplog: pytest.LogCaptureFixture,
    keys: dict[str, bytes],
    frame: bytes,
) -> bytes:
    """The controller sends `frame`; its answer, the state file's outbox row 1, will not
    leave it, and is dropped after `TRIES_PER_FRAME` runs: that answer."""
    await controller.send(POISONED, frame)
    await _said_or_stopped(
        caplog,
        supervisor,
        POISONED,
        "dropped",
        what="the answer the gateway fails on dropped",
        timeout_s=90,
    )
    assert len(supervisor.failures) == TRIES_PER_FRAME, supervisor.failures
    answers = [p for p in list(controller.heard) if signed_word(p, keys) is not None]
    assert answers == [answers[0]] * TRIES_PER_FRAME
    return answers[0]


async def _whose_first_answer_never_leaves(
    tmp_path: Path, served: ServedAccessPoint, broker: MosquittoProcess
) -> tuple[Path, dict[str, bytes], bytes]:
    """The state file (the gateway run once on it) of one label, `POISONED`, whose first
    answer, outbox row 1, will not leave it; its keys; the frame that label gets: frame 5
    drawing `price_planes(seed=5)`."""
    keys = {POISONED: generate_label_key()}
    path = await _ran_on(tmp_path, keys, served, broker)
    _row_1_never_leaves(path)
    return path, keys, image_frame(POISONED, 5, key=keys[POISONED], seed=5)


async def test_an_answer_dropped_does_not_drop_the_same_answer_to_the_frame_sent_again(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Sent again, the frame is a radio duplicate: answered with the same bytes, in a new
    # outbox row. Before, the drop held for those bytes, and that answer never went.
    caplog.set_level(logging.INFO)
    path, keys, frame = await _whose_first_answer_never_leaves(tmp_path, served_ap, mosquitto)

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto) as supervisor,
    ):
        answer = await _first_answer_dropped(controller, supervisor, caplog, keys, frame)
        await controller.send(POISONED, frame)
        await until(
            lambda: controller.heard.count(answer) == TRIES_PER_FRAME + 1,
            what="the answer to the copy heard",
            timeout_s=30,
        )
        assert len(supervisor.failures) == TRIES_PER_FRAME
        assert len(_said(caplog, POISONED, "dropped")) == 1
    with _reopened(path) as reopened:
        # Only the row set aside stays; its count with it, no other.
        assert [answer_id for answer_id, _ in reopened.answers()] == [1]
        assert [key[1] for key in reopened.uplinks_failed(at_least=1)] == [1]


async def test_an_answer_set_aside_holds_up_none_of_its_labels_check_ins(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Dropped, its row would not leave the outbox: before, a label's check-in waited for
    # its answers in the outbox to go, and this one never went (drawn over, blank after
    # a reboot: never told).
    caplog.set_level(logging.INFO)
    path, keys, frame = await _whose_first_answer_never_leaves(tmp_path, served_ap, mosquitto)

    async with controller_side(mosquitto) as controller:
        async with _supervised(path, served_ap, mosquitto) as supervisor:
            await _first_answer_dropped(controller, supervisor, caplog, keys, frame)
        state = open_local_state(path)  # left by the last run: the label found drawn over
        check_in = check_in_report(state.labels()[POISONED], now=datetime.now(UTC))
        assert check_in is not None
        state.queue_check_in(POISONED, check_in)
        state.close()
        async with _supervised(path, served_ap, mosquitto) as supervisor:
            await until(
                lambda: check_in in controller.heard,
                what="the label's check-in heard",
                timeout_s=30,
            )
            assert not supervisor.failures
    with _reopened(path) as reopened:
        assert reopened.check_ins() == []


async def test_the_good_messages_of_a_batch_holding_the_one_failed_on_go_up_and_are_never_dropped(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The broker's acknowledgements come back in bursts (a slow link, the poison amid
    # many), so the poison is recorded delivered in one batch with good answers. Only
    # the one that fails alone is counted: the others leave the state file, and are
    # never dropped.
    caplog.set_level(logging.INFO)
    path = tmp_path / "gw.sqlite"
    state = state_with_labels(path, {POISONED: generate_label_key()})
    now = datetime.now(UTC)
    poison = not_in_label_file_report("L-GONE", 7, now=now)
    good = [not_in_label_file_report(f"L-GOOD-{n}", 7, now=now) for n in range(40)]
    for n, report in enumerate(good):
        if n == 10:
            state.queue_answer(poison, label_id="L-GONE")
        state.queue_answer(report, label_id=f"L-GOOD-{n}")
    state.close()
    _poison(path, f"BEFORE DELETE ON outbox WHEN OLD.payload = x'{poison.hex()}'")

    async with controller_side(mosquitto) as controller:
        with DelayedLink(mosquitto.host, mosquitto.port, to_server_s=0, to_client_s=0.3) as link:
            endpoint = BrokerEndpoint(link.host, link.port)
            async with _supervised(path, served_ap, mosquitto, endpoint=endpoint) as supervisor:
                await _said_or_stopped(
                    caplog,
                    supervisor,
                    "L-GONE",
                    "dropped",
                    what="the message the gateway fails on dropped",
                    timeout_s=90,
                )
                assert len(supervisor.failures) == TRIES_PER_FRAME, supervisor.failures
                await until(
                    lambda: all(report in controller.heard for report in good),
                    what="every good message heard",
                    timeout_s=30,
                )
    batches = [
        record.args[0]
        for record in caplog.records
        if record.getMessage().startswith("recording ") and isinstance(record.args, tuple)
    ]
    assert any(int(str(size)) > 1 for size in batches), batches  # a batch, not one alone
    assert not _said(caplog, "L-GOOD")
    with _reopened(path) as reopened:
        assert [payload for _, payload in reopened.answers()] == [poison]  # set aside
        [(label_id, _, _)] = reopened.uplinks_failed(at_least=1)
        assert label_id == "L-GONE"


@pytest.mark.parametrize("in_label_file", [False, True], ids=["label-gone", "tries-over"])
async def test_a_frame_whose_report_the_gateway_fails_on_is_dropped_and_the_store_goes_on(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    in_label_file: bool,
) -> None:
    # A frame left in the inbox is refused (its label taken out of the label file, or
    # its 3 tries failed); the state file refuses to store that report, or any answer of
    # the label, every time. Before, refusing it failed at every start, uncounted: a
    # restart loop that held the whole store for good.
    caplog.set_level(logging.INFO)
    gone = tag_mac(4)
    keys = {mac: generate_label_key() for mac in [*OTHERS, gone]}
    listed = keys if in_label_file else {mac: keys[mac] for mac in OTHERS}
    path = await _ran_on(tmp_path, listed, served_ap, mosquitto)
    _left_in_the_inbox(path, gone, keys[gone])
    _poison(path, f"BEFORE INSERT ON outbox WHEN NEW.label_id = '{gone}'")

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto) as supervisor,
    ):
        await _said_or_stopped(
            caplog, supervisor, gone, "frame 5 dropped", what="the frame dropped", timeout_s=90
        )
        # Its tries first where it had them, then the refusals: 3 each.
        restarts = TRIES_PER_FRAME * (2 if in_label_file else 1)
        assert len(supervisor.failures) == restarts, supervisor.failures
        [line] = _said(caplog, gone, "frame 5 dropped")
        assert FAILURE in line

        # The store's labels go on, and the dropped frame costs no more restarts.
        await _send_first_frames(controller, keys, OTHERS)
        await until(
            lambda: _all_answered(controller, keys, OTHERS),
            what="every label's frame answered",
            timeout_s=60,
        )
        assert len(supervisor.failures) == restarts
        assert not supervisor.task.done()
    assert not _refusals(controller, gone, 5)
    with _reopened(path) as reopened:
        assert reopened.queued(gone) == []


async def test_an_answer_set_aside_stays_set_aside_once_its_label_leaves_the_label_file(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Taking the label out of the label file forgot its counts, not its outbox rows:
    # before, its answer set aside went up again and cost 3 more restarts after each
    # change of the label file.
    caplog.set_level(logging.INFO)
    path, keys, frame = await _whose_first_answer_never_leaves(tmp_path, served_ap, mosquitto)

    async with controller_side(mosquitto) as controller:
        async with _supervised(path, served_ap, mosquitto) as supervisor:
            answer = await _first_answer_dropped(controller, supervisor, caplog, keys, frame)
        state = open_local_state(path)
        take_label_file(state, [])  # the label's tag taken off the shelf
        state.close()
        async with _supervised(path, served_ap, mosquitto) as supervisor:
            await until(
                lambda: len(_said(caplog, POISONED, "dropped")) == 2 or supervisor.task.done(),
                what="the answer set aside again",
                timeout_s=60,
            )
            assert not supervisor.failures
            assert controller.heard.count(answer) == TRIES_PER_FRAME
    with _reopened(path) as reopened:
        assert [answer_id for answer_id, _ in reopened.answers()] == [1]
        assert [key[1] for key in reopened.uplinks_failed(at_least=TRIES_PER_FRAME)] == [1]


async def test_a_copy_of_a_refused_frame_whose_report_the_gateway_fails_on_is_dropped(
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A frame the gateway failed on 3 times comes again (the controller's retries, a copy
    # left retained on `.../down`), and the report refusing it cannot be stored. Before,
    # each copy stopped the gateway, uncounted, for as long as copies came.
    caplog.set_level(logging.INFO)
    path = tmp_path / "gw.sqlite"
    keys = {mac: generate_label_key() for mac in [POISONED, *OTHERS]}
    state = state_with_labels(path, keys)
    frame = image_frame(POISONED, 5, key=keys[POISONED], seed=5)
    for _ in range(TRIES_PER_FRAME):  # as 3 failed tries of it left the state file
        state.failed_on_frame(label_id=POISONED, sequence=5, payload=frame, failure=FAILURE)
    state.close()
    await _ran_once(path, served_ap, mosquitto)
    _poison(path, f"BEFORE INSERT ON outbox WHEN NEW.label_id = '{POISONED}'")

    async with (
        controller_side(mosquitto) as controller,
        _supervised(path, served_ap, mosquitto) as supervisor,
    ):
        for copy in range(1, TRIES_PER_FRAME + 1):
            await controller.send(POISONED, frame)
            await until(
                lambda copy=copy: len(supervisor.failures) == copy or supervisor.task.done(),
                what=f"copy {copy} failed on",
                timeout_s=30,
            )
        await controller.send(POISONED, frame)
        await _said_or_stopped(
            caplog,
            supervisor,
            POISONED,
            "frame 5 dropped",
            what="the last copy dropped",
            timeout_s=30,
        )
        await _send_first_frames(controller, keys, OTHERS)
        await until(
            lambda: _all_answered(controller, keys, OTHERS),
            what="every label's frame answered",
            timeout_s=60,
        )
        assert len(supervisor.failures) == TRIES_PER_FRAME, supervisor.failures
        assert not supervisor.task.done()
