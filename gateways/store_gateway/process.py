"""`esl gateway ...`: the store gateway process, between the controller's broker and the
store's radios.

    broker .../down ──▶ inbox (SQLite) ──▶ one worker per label ──▶ radio
    broker .../up   ◀── outbox (SQLite) ◀── signed answer, after the radio confirmed
                    ◀── check-ins (SQLite, the newest per label) ◀── health poll

With a `LabelRadio` (OpenEPaperLink) the process verifies each frame and signs the answer
for the label (`label_stand_in`); with a `SelfSigningRadio` (Bluetooth ESL) the label
does both itself and the process relays its bytes (`relay`). Everything else (queue,
ordering, MQTT side, restarts) is the same for both.

It speaks the store-gateway contract of docs/protocol.md through
`gateways.mqtt.store_gateway.StoreGatewayClient` (its own login, persistent session,
retained online/offline status with a last will), so the controller cannot tell it from a
simulated gateway. Per label, frames are handled one at a time in the order of
`gateways.protocol.delivery_order`, the simulated gateway's: the frames with the same
opcode form a group, the groups go in the order of each group's newest sequence, and
within a group the newest goes first (the older ones are then refused as stale, not drawn
in turn). Every `health_every_s` it asks the radio what it heard and sends a signed
check-in for each label heard since (battery, signal, temperature; the controller records
when); a label the radio has not listed for `UNHEARD_POLLS` polls in a row is logged,
once, as getting neither. A label that signs for itself gets no check-ins from the
gateway: it reports its health in its own signed answers, and every `health_every_s` the
gateway tries again only the labels it could not reach, reporting each that answers
(`reports`). A label whose frame is still being carried out (an OEPL tag queued at its
AP's one radio, minutes behind a hundred others) is reported `WAITING` every
`health_every_s`, so the controller waits for its answer instead of sending the frame
again (`health_every_s` must be well under the controller's `ESL_RETRY_ACK_TIMEOUT_S`).
Neither these reports nor the check-ins hold up an answer: answers go first, one report
after each (the two kinds taking turns), the rest once no answer waits; a frame has at
most one `WAITING` report and a label at most one check-in waiting to go (a newer tick's
replaces it), however slow the broker link or long its outage. A check-in waits in the
state file (`LocalState.queue_check_in`) and goes after its label's answers signed
before it (the controller reads a label's words in their signed order). Up to
`uplinks_in_flight` messages are on their way to the broker at once, one per label, each
leaving the state file at its own acknowledgement (`uplinks`): one at a time, a 50 ms
link to the broker carried twenty a second.
The labels are those of the gateway's label file (`take_label_file`, at start): a frame
for any other (one taken out of the file, its tag off the shelf or in another store) is
refused with a final gateway report, `not in this gateway's label file`, and nothing is
driven or signed for it.
A part that fails (receiving, sending up, the health polls, a label's worker: the state
file cannot be written, say) is logged with its traceback at once and ends `run` with
`StoreGatewayFailedError`: run on without it, the gateway would look alive (online, its
status retained) and do nothing; stopped, its supervisor starts it again from the state
file. Each try of a frame is counted in the state file before it begins
(`LocalState.count_try`; one cut short by the gateway being stopped is taken back, one
it did not live through, killed or a power cut, stays counted), and a frame begun
`TRIES_PER_FRAME` times without being settled is not tried again: it is refused with a
final gateway report, `failed on this frame 3 times, gave up`, and so is any copy the
controller sends again (the same bytes: another frame signed under its sequence has tries
of its own), while the label's next frames go on. Before, a frame that made
its worker fail every time (a bug in answering that payload, a radio error nothing
expected) was tried at every start: a restart loop that stopped every label of the
store. The same count holds the failures of taking a frame in (`_receive`: storing it
raised; the controller sends it again): a copy that comes after `TRIES_PER_FRAME` of
them is refused at once with that report. A message up the gateway fails on is counted
and dropped in the same way (`uplinks`), and so is a frame whose refusing report cannot
be stored (`_refuse`, and a copy coming in: counted apart from its tries, it then leaves
the inbox, or is not taken in, without it). A failure of the state file as a whole
(`local_state.environmental`: a full disk, an I/O error) counts against no frame: a
frame coming in is not counted, and a try that failed so is taken back.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gateways.base import system_clock
from gateways.errors import StoreGatewayFailedError
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.store_gateway import StoreGatewayClient
from gateways.oepl.addresses import tag_address
from gateways.protocol import (
    FrameRejectedError,
    ProvisioningRejectedError,
    header_opcode,
    parse_provisioning,
    peek_header,
)
from gateways.protocol.delivery_order import delivery_order
from gateways.store_gateway.label_stand_in import (
    answer_frame,
    check_in_report,
    drawn_over,
    forgotten,
    heard_since,
    with_health,
)
from gateways.store_gateway.local_state import (
    FrameTries,
    LabelRecord,
    LocalState,
    QueuedFrame,
    environmental,
)
from gateways.store_gateway.radio import LabelHealth, LabelRadio, RadioError, SelfSigningRadio
from gateways.store_gateway.relay import relay_frame
from gateways.store_gateway.reports import (
    NOT_IN_LABEL_FILE,
    failed_every_try_report,
    not_in_label_file_report,
    reachable_report,
    waiting_report,
)
from gateways.store_gateway.uplinks import UPLINKS_IN_FLIGHT, Uplinks
from rendering.display_models import DISPLAY_MODELS, get_display_model

__all__ = [
    "TRIES_PER_FRAME",
    "UNHEARD_POLLS",
    "OpenedStoreGateway",
    "StoreGatewayProcess",
    "open_local_state",
    "open_store_gateway",
    "parse_gateway_provisioning",
    "read_gateway_provisioning",
    "take_label_file",
]

_log = logging.getLogger(__name__)

# Health polls in a row a label is not listed in before the gateway says so (once): one
# or two are a tag that has not joined yet, or the AP's listing of a moment.
UNHEARD_POLLS = 3
# Tries of one frame, each ended by the gateway failing (or dying), before it is refused:
# one failure may be the moment's (an AP restarting), three in a row are the frame's. A
# failure of the state file as a whole (a full disk) is no try (`environmental`).
TRIES_PER_FRAME = 3


def read_gateway_provisioning(path: Path) -> list[LabelRecord]:
    """The labels this gateway stands in for, from its provisioning file
    (`parse_gateway_provisioning`)."""
    return parse_gateway_provisioning(path.read_text(encoding="utf-8"))


def parse_gateway_provisioning(text: str) -> list[LabelRecord]:
    """The labels of a provisioning file's `text` (the format of docs/protocol.md plus each
    label's radio `address`; the label id when absent), every entry checked by the
    controller's own parser: `ProvisioningRejectedError` lists every problem, and no
    label is used. A file that is not JSON, lacks a field or holds a key that is no key
    is one refusal, not a KeyError at start-up.

    Each address is an OEPL tag's, read in its one normal form (`tag_address`: 16
    uppercase hex digits), as the AP lists it: the health poll finds a label by it, and
    one written in lowercase would be found never (no check-ins, never checked for being
    drawn over). An address that is no tag address, or the tag of an earlier label (two
    labels' prices on one tag, each recorded as shown), is refused."""
    provisioned = parse_provisioning(text)
    # parse_provisioning has read the same JSON: an object whose labels are objects.
    entries = json.loads(text)["labels"]
    records = []
    problems: list[dict[str, object]] = []
    labels_of_tag: dict[str, tuple[int, str]] = {}  # tag address -> (line, label id)
    for number, (provision, entry) in enumerate(zip(provisioned.labels, entries, strict=True), 1):
        field = "address" if entry.get("address") else "label_id"
        written = entry.get("address") or provision.label_id
        if not isinstance(written, str):
            problems.append(
                {"line": number, "field": field, "reason": "the address must be a string"}
            )
            continue
        try:
            address = tag_address(written)
        except ValueError as error:
            problems.append({"line": number, "field": field, "reason": f"{field}: {error}"})
            continue
        line, holder = labels_of_tag.setdefault(address, (number, provision.label_id))
        if line != number:
            problems.append(
                {
                    "line": number,
                    "field": field,
                    "reason": f"label {provision.label_id} is tag {address}, as label "
                    f"{holder} (label {line}) is: one tag shows one label",
                }
            )
            continue
        records.append(
            LabelRecord(
                label_id=provision.label_id,
                address=address,
                model=provision.model_id,
                key=provision.key,
            )
        )
    if problems:
        raise ProvisioningRejectedError(
            f"provisioning file rejected: {len(problems)} of {len(entries)} labels are invalid",
            problems=problems,
        )
    return records


def open_local_state(path: Path) -> LocalState:
    return LocalState(path, widths={m.id: (m.width, m.height) for m in DISPLAY_MODELS.values()})


def take_label_file(state: LocalState, labels: Sequence[LabelRecord]) -> int:
    """Make the gateway's state what its label file says, at start; how many labels are
    new. A new label is registered, a known one takes the file's address and model
    (`LocalState.add_labels`), and a label the file no longer lists (its tag taken off
    the shelf, or moved to another store) is forgotten (`LocalState.forget_labels_except`)
    and said so here, once: from then on the process refuses its frames with a gateway
    report, `not in this gateway's label file`, and drives and signs nothing for it."""
    added = state.add_labels(labels)
    for label_id in state.forget_labels_except([label.label_id for label in labels]):
        _log.warning(
            "label %s is no longer in the label file: forgotten (its key, address and "
            "state); its frames are refused (%s)",
            label_id,
            NOT_IN_LABEL_FILE,
        )
    return added


@dataclass(frozen=True, slots=True)
class OpenedStoreGateway:
    """A store gateway process ready to run (`open_store_gateway`): its state holds what
    the label file says, `added` of those labels new to it."""

    process: StoreGatewayProcess
    added: int


@asynccontextmanager
async def open_store_gateway(
    labels: Sequence[LabelRecord],
    radio: LabelRadio | SelfSigningRadio,
    *,
    store: str,
    gateway: str,
    endpoint: BrokerEndpoint,
    state_dir: Path,
    clock: Callable[[], datetime] = system_clock,
    health_every_s: float = 30.0,
    reconnect_delay_s: tuple[float, float] = (1, 30),
    uplinks_in_flight: int = UPLINKS_IN_FLIGHT,
) -> AsyncIterator[OpenedStoreGateway]:
    """What every `esl gateway` run does before it starts its process: open the gateway's
    state (STATE_DIR/STORE-GATEWAY.sqlite), make it what the label file's `labels` say
    (`take_label_file`) and put the process between the broker and `radio`. The process
    is not started (`StoreGatewayProcess.run` or `start`); on the way out the state and
    `radio` are closed."""
    try:
        state = open_local_state(state_dir / f"{store}-{gateway}.sqlite")
        try:
            added = take_label_file(state, labels)
            process = StoreGatewayProcess(
                store=store,
                gateway=gateway,
                endpoint=endpoint,
                radio=radio,
                state=state,
                clock=clock,
                health_every_s=health_every_s,
                reconnect_delay_s=reconnect_delay_s,
                uplinks_in_flight=uplinks_in_flight,
            )
            yield OpenedStoreGateway(process, added)
        finally:
            state.close()
    finally:
        await radio.close()


class StoreGatewayProcess:
    def __init__(
        self,
        *,
        store: str,
        gateway: str,
        endpoint: BrokerEndpoint,
        radio: LabelRadio | SelfSigningRadio,
        state: LocalState,
        clock: Callable[[], datetime] = system_clock,
        health_every_s: float = 30.0,
        report_check_ins: bool = True,
        reconnect_delay_s: tuple[float, float] = (1, 30),
        uplinks_in_flight: int = UPLINKS_IN_FLIGHT,
        tries_per_frame: int = TRIES_PER_FRAME,
    ) -> None:
        """`uplinks_in_flight`: messages on their way to the broker at once, unacknowledged
        (`gateways.store_gateway.uplinks`); 1 sends one at a time. `tries_per_frame`:
        tries of a frame that each ended with the gateway failing, before it is refused."""
        self.store = store
        self.gateway = gateway
        self.radio = radio
        self.state = state
        self._clock = clock
        self._health_every_s = health_every_s
        self._tries_per_frame = tries_per_frame
        self._report_check_ins = report_check_ins
        self._client = StoreGatewayClient(
            endpoint,
            store=store,
            gateway=gateway,
            clock=clock,
            reconnect_delay_s=reconnect_delay_s,
        )
        self._labels = state.labels()
        self._workers: dict[str, asyncio.Task[None]] = {}
        # The frame each label's worker is carrying out now (its sequence), for `WAITING`.
        self._carrying: dict[str, int] = {}
        # Answers, check-ins and WAITING reports to the controller, several at once.
        self._uplinks = Uplinks(
            state=state,
            client=self._client,
            carrying=self._carrying.get,
            in_flight=uplinks_in_flight,
            tries=tries_per_frame,
        )
        self._tasks: list[asyncio.Task[None]] = []
        # The first part that failed (`_ended`): `run` ends with it.
        self._failure: StoreGatewayFailedError | None = None
        self._failing = asyncio.Event()
        # Frames refused for labels not in this gateway's label file, and those labels
        # (each logged once per run).
        self.refused_unknown = 0
        self._unknown_labels: set[str] = set()
        # Per label, the health polls in a row whose answer did not list it (`_check_health`).
        self._unheard_polls: dict[str, int] = {}
        # Frames (label, sequence, digest) refused for failing every try, said once per run.
        self._given_up: set[tuple[str, int, bytes]] = set()
        # Copies of frames dropped without their report (`_drop_copy`), said once per run.
        self._copies_dropped: set[tuple[str, int]] = set()
        # Inbox rows refused that could not leave the inbox (`_refuse`), in this run.
        self._passed_over: set[int] = set()
        # Halted as by a power cut (`crash`): a try cut short is not taken back.
        self._crashing = False

    async def start(self) -> None:
        self._passed_over.clear()  # refused again now: it may leave the inbox this time
        await self._client.start()
        self._tasks = [
            self._part(self._receive(), "receiving frames"),
            self._part(self._uplinks.run(), "sending to the controller"),
            self._part(self._watch_health(), "the health polls"),
        ]
        for label_id in self.state.labels_with_frames():  # left over from the last run
            self._wake(label_id)
        self._uplinks.wake()

    async def stop(self) -> None:
        """Say offline, stop; a frame in the middle of its radio work is redone next start."""
        await self._halt()
        await self._client.stop()
        # What the broker acknowledged meanwhile leaves the state file: not sent again.
        self._uplinks.settle()

    async def crash(self) -> None:
        """Vanish as a power cut would (tests): no goodbye, the broker fires the will, and
        a frame's try cut short stays counted."""
        self._crashing = True
        await self._halt()
        await self._client.crash()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, or until a part fails: then stopped, and
        `StoreGatewayFailedError` says which (its cause the part's error)."""
        await self.start()
        try:
            await _first_set(stop, self._failing)
        except BaseException:
            await self.stop()
            raise
        if self._failure is None:
            await self.stop()
            return
        try:
            await self.stop()
        except Exception:
            # What stopping meets too (the same full disk, at the last `settle`) is
            # logged: `run` ends with the failure that stopped it.
            _log.exception("store gateway %s/%s: stopping failed too", self.store, self.gateway)
        raise self._failure

    def _part(self, work: Coroutine[None, None, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        task.add_done_callback(functools.partial(self._ended, name))
        return task

    def _ended(self, name: str, task: asyncio.Task[None]) -> None:
        """A part's task is done: one that raised is said now, with its traceback (the
        task holds its error unseen otherwise), and ends `run`."""
        if task.cancelled() or (error := task.exception()) is None:
            return
        _log.error(
            "store gateway %s/%s: %s failed; the gateway stops",
            self.store,
            self.gateway,
            name,
            exc_info=error,
        )
        if self._failure is None:
            self._failure = StoreGatewayFailedError(
                store=self.store,
                gateway=self.gateway,
                part=name,
                reason=f"{type(error).__name__}: {error}",
            )
            self._failure.__cause__ = error
            self._failing.set()

    async def _halt(self) -> None:
        tasks = [*self._tasks, *self._workers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._workers.clear()
        self._carrying.clear()
        self._uplinks.forget_waiting()

    # ------------------------------------------------------------ frames in

    async def _receive(self) -> None:
        async for payload in self._client.frames():
            try:
                header = peek_header(payload)
                opcode = header_opcode(payload, header)
            except FrameRejectedError as rejected:
                _log.warning("unreadable frame dropped: %s", rejected)
                continue
            label_id, sequence = header.label_id, header.sequence
            tries = self.state.frame_tries(label_id=label_id, sequence=sequence, payload=payload)
            if tries.count >= self._tries_per_frame and self._carrying.get(label_id) != sequence:
                # The gateway failed on it as often as it may (taking it in, or carrying
                # it out): refused at once, not taken in again. Unless its last try is
                # under way: that one may yet settle it (the worker refuses the copy).
                # Where storing that report failed as often, dropped without it.
                if tries.refusals >= self._tries_per_frame:
                    self._drop_copy(label_id, sequence, tries)
                    continue
                report = self._given_up_on(label_id, sequence, payload, tries)
                try:
                    self.state.queue_answer(report, label_id=label_id)
                except Exception as error:
                    if not environmental(error):
                        self._count_frame_failure(
                            label_id, sequence, payload, error, storing_report=True
                        )
                    raise
                self._uplinks.wake()
                continue
            try:
                self._take_in(payload, label_id, sequence, opcode)
            except Exception as error:
                # The process stops; the frame comes again (the controller's retries, a
                # check-in reviving its parked update): counted, it is refused after
                # `tries_per_frame` such failures, not taken in at every start for good.
                # Not so a failure of the state file as a whole: a nearly full disk
                # refuses a frame's image while the small row counting it still fits,
                # and would refuse good frames for good.
                if not environmental(error):
                    self._count_frame_failure(
                        label_id, sequence, payload, error, storing_report=False
                    )
                raise

    def _take_in(self, payload: bytes, label_id: str, sequence: int, opcode: int | None) -> None:
        """Queue the frame `payload` for its label's worker, or refuse it at once (a label
        not in the label file)."""
        if label_id not in self._labels:
            # Not in the label file (taken out of it, or never in it): nothing is driven
            # or signed for it, and the gateway says why in place of an answer.
            self._refuse_unknown(label_id, sequence)
            self.state.queue_answer(
                not_in_label_file_report(label_id, sequence, now=self._clock()),
                label_id=label_id,
            )
            self._uplinks.wake()
            return
        self.state.enqueue(
            label_id=label_id,
            sequence=sequence,
            opcode=-1 if opcode is None else opcode,
            payload=payload,
        )
        self._wake(label_id)

    def _count_frame_failure(
        self,
        label_id: str,
        sequence: int,
        payload: bytes,
        error: Exception,
        *,
        storing_report: bool,
    ) -> None:
        """Count `error` against the frame `payload`: a failure on taking it in (one of
        its tries), or, `storing_report`, on storing the report refusing it (one of its
        `FrameTries.refusals`)."""
        count = self.state.failed_on_report if storing_report else self.state.failed_on_frame
        try:
            count(
                label_id=label_id,
                sequence=sequence,
                payload=payload,
                failure=f"{type(error).__name__}: {error}",
            )
        except Exception:
            # The state file fails as a whole (a full disk), not on this frame: the
            # failure itself is what `run` ends with; this one is only logged.
            what = "refusal failure" if storing_report else "failure"
            _log.exception("label %s: frame %d's %s not counted", label_id, sequence, what)

    def _wake(self, label_id: str) -> None:
        worker = self._workers.get(label_id)
        if worker is None or worker.done():
            self._workers[label_id] = self._part(self._work(label_id), f"label {label_id}'s frames")

    def _refuse_unknown(self, label_id: str, sequence: int) -> None:
        self.refused_unknown += 1
        if label_id in self._unknown_labels:
            _log.debug("frame %d for label %s refused: %s", sequence, label_id, NOT_IN_LABEL_FILE)
            return
        self._unknown_labels.add(label_id)
        _log.info(
            "frame %d for label %s refused: %s (so are its next frames)",
            sequence,
            label_id,
            NOT_IN_LABEL_FILE,
        )

    async def _work(self, label_id: str) -> None:
        while frames := [f for f in self.state.queued(label_id) if f.id not in self._passed_over]:
            label = self._labels.get(label_id)
            if label is None:
                # Left in the inbox by the last run for a label the file no longer lists.
                for frame in frames:
                    self._refuse_unknown(label_id, frame.sequence)
                    report = not_in_label_file_report(label_id, frame.sequence, now=self._clock())
                    self._refuse(frame, report)
                self._uplinks.wake()
                continue
            # Asked again after each frame: one that came meanwhile may go before the rest.
            frame = delivery_order(frames)[0]
            tries = self.state.tries(frame)
            if tries.count >= self._tries_per_frame:
                self._give_up(frame, tries)
                continue
            self.state.count_try(frame)
            try:
                await self._carry_out(label, frame)
            except asyncio.CancelledError:
                self._take_back_try(frame)
                raise
            except Exception as error:
                if environmental(error):
                    # The state file failing as a whole (a full disk), not this frame:
                    # the gateway stops, and the try is not one of its tries.
                    self._take_back_try(frame)
                else:
                    self._note_failure(frame, error)
                raise

    async def _carry_out(self, label: LabelRecord, frame: QueuedFrame) -> None:
        """One try of `frame`: the radio's work, then its answer (or the gateway's word)
        and the label's new state settled in the state file."""
        label_id = label.label_id
        self._carrying[label_id] = frame.sequence
        if isinstance(self.radio, SelfSigningRadio):
            outcome = await relay_frame(label, frame.payload, radio=self.radio, now=self._clock())
        else:
            model = get_display_model(label.model)
            outcome = await answer_frame(
                label,
                frame.payload,
                radio=self.radio,
                model=(model.width, model.height, model.has_accent),
                now=self._clock(),
            )
        # Without a signed answer, the gateway's own report of why goes up instead.
        sent = outcome.answer if outcome.answer is not None else outcome.report
        self._carrying.pop(label_id, None)
        # Its answer (or the gateway's word) says more than "waiting" now.
        self._uplinks.forget_waiting(label_id)
        check_in = None
        if sent is not None and self.state.check_in_waiting(label_id):
            # Signed before this answer: made again after it, to go behind it
            # (`LocalState.settle`).
            check_in = check_in_report(outcome.label, now=self._clock())
        self.state.settle(
            frame,
            label=outcome.label,
            answer=sent,
            check_in=check_in,
            relayed=isinstance(self.radio, SelfSigningRadio),
        )
        self._labels[label_id] = outcome.label
        if sent is not None:
            self._uplinks.wake()

    def _give_up(self, frame: QueuedFrame, tries: FrameTries) -> None:
        """Refuse `frame`, begun `tries.count` times and never settled, with the
        gateway's final report (and a copy sent again as well, at once)."""
        report = self._given_up_on(frame.label_id, frame.sequence, frame.payload, tries)
        self._refuse(frame, report)
        self._uplinks.wake()

    def _refuse(self, frame: QueuedFrame, report: bytes) -> None:
        """`LocalState.refuse`: `report` queued, `frame` out of the inbox. Where that
        fails but the report alone is stored, the failure is the frame's (a bug in
        removing that one row): it is passed over until the next start, which refuses it
        again, instead of failing the gateway at every start for good (its tries cannot
        count this: they are over). Where the report cannot be stored either, the
        gateway stops, and but for a failure of the state file as a whole this counts
        (`FrameTries.refusals`): after `tries_per_frame` such failures the frame leaves
        the inbox without its report (`_drop`), instead of failing every start."""
        refusals = self.state.tries(frame).refusals
        if refusals >= self._tries_per_frame:
            self._drop(frame, refusals)
            return
        try:
            self.state.refuse(frame, report=report)
        except Exception as error:
            if environmental(error):
                raise  # the state file as a whole: the gateway stops, as for any part
            try:
                self.state.queue_answer(report, label_id=frame.label_id)
            except Exception as failure:
                if not environmental(failure):
                    self._count_frame_failure(
                        frame.label_id,
                        frame.sequence,
                        frame.payload,
                        failure,
                        storing_report=True,
                    )
                raise
            self._passed_over.add(frame.id)
            _log.error(
                "label %s: frame %d refused, but it cannot leave the state file's inbox "
                "(%s: %s): passed over until the next start, which refuses it again",
                frame.label_id,
                frame.sequence,
                type(error).__name__,
                error,
            )

    def _drop_copy(self, label_id: str, sequence: int, tries: FrameTries) -> None:
        """A copy of a frame refused, whose report the gateway failed on storing
        `tries.refusals` times, is not taken in: dropped, said once a run."""
        dropped = (label_id, sequence)
        if dropped in self._copies_dropped:
            _log.info("label %s: frame %d sent again, dropped again", label_id, sequence)
            return
        self._copies_dropped.add(dropped)
        _log.error(
            "label %s: frame %d dropped without the gateway's report refusing it: storing "
            "that report made the gateway fail %d times (the last failure: %s)",
            label_id,
            sequence,
            tries.refusals,
            tries.last_failure,
        )

    def _drop(self, frame: QueuedFrame, refusals: int) -> None:
        """`frame` leaves the inbox without the report refusing it, which the gateway
        failed on storing `refusals` times: the controller, without an answer, retries
        and parks the update as for any answer lost. Where it cannot leave the inbox
        either, it is passed over until the next start."""
        _log.error(
            "label %s: frame %d dropped without the gateway's report refusing it: storing "
            "that report made the gateway fail %d times (the last failure: %s)",
            frame.label_id,
            frame.sequence,
            refusals,
            self.state.tries(frame).last_failure,
        )
        try:
            self.state.drop(frame)
        except Exception as error:
            if environmental(error):
                raise
            self._passed_over.add(frame.id)
            _log.warning(
                "label %s: frame %d cannot leave the state file's inbox either: passed over "
                "until the next start",
                frame.label_id,
                frame.sequence,
                exc_info=True,
            )

    def _given_up_on(
        self, label_id: str, sequence: int, payload: bytes, tries: FrameTries
    ) -> bytes:
        """The gateway's final report refusing the frame `payload`, which made it fail
        `tries.count` times; said in the log (once a run, a copy sent again briefly)."""
        report = failed_every_try_report(label_id, sequence, tries=tries.count, now=self._clock())
        given_up = (label_id, sequence, hashlib.sha256(payload).digest())
        if given_up in self._given_up:
            _log.info(
                "label %s: frame %d sent again, refused again (the gateway failed on it)",
                label_id,
                sequence,
            )
            return report
        self._given_up.add(given_up)
        _log.error(
            "label %s: frame %d refused, not tried again: the gateway failed on it %d times "
            "(the last failure: %s); the label's next frames go on",
            label_id,
            sequence,
            tries.count,
            tries.last_failure or "not known, the gateway was killed or lost power during it",
        )
        return report

    def _take_back_try(self, frame: QueuedFrame) -> None:
        """`frame`'s try ended by no doing of its own (the gateway stopped, or the state
        file failed as a whole): it is not one of its tries. The row it rewrites is the
        one `count_try` just wrote, no larger: where that fit, this fits too, but for a
        disk filled up to its last page in between."""
        if self._crashing:
            return
        try:
            self.state.take_back_try(frame)
        except Exception:
            # Stopping goes on: the try stays counted, one of `tries_per_frame`.
            _log.exception(
                "label %s: frame %d's try not taken back", frame.label_id, frame.sequence
            )

    def _note_failure(self, frame: QueuedFrame, error: Exception) -> None:
        try:
            self.state.note_failure(frame, f"{type(error).__name__}: {error}")
        except Exception:
            # The failure itself is what `run` ends with; this one is only logged.
            _log.exception("label %s: frame %d's failure not noted", frame.label_id, frame.sequence)

    # ------------------------------------------------------------ health

    async def _watch_health(self) -> None:
        while True:
            await asyncio.sleep(self._health_every_s)
            try:
                if isinstance(self.radio, SelfSigningRadio):
                    await self._reach_again(self.radio)
                else:
                    self._report_waiting()
                    await self._check_health(self.radio)
            except Exception:
                # One poll that fails (what the radio heard made no sense, the state
                # file could not be written) must not end the check-ins and the
                # drawn-over checks of every label for good: the next poll tries again.
                _log.exception("health poll failed; the next in %s s", self._health_every_s)

    def _report_waiting(self) -> None:
        """Say of each frame still being carried out that its answer will come: an OEPL
        tag takes its image only at a check-in when the AP's one radio is free, and a
        hundred images at once keep the last waiting for minutes, longer than the
        controller waits for an answer. Sent again, the frame would only wait behind
        itself (its duplicate is answered as the first), spending an attempt each time
        until the update parked as offline while it was on its way."""
        now = self._clock()
        for label_id, sequence in list(self._carrying.items()):
            worker = self._workers.get(label_id)
            if worker is None or worker.done():
                continue
            # One report per frame waits to go: this tick's replaces one the broker link
            # has not taken yet, so a slow link does not pile them up.
            report = waiting_report(self._labels[label_id], sequence, now=now)
            self._uplinks.report_waiting(label_id, sequence, report)

    async def _check_health(self, radio: LabelRadio) -> None:
        """Send a check-in for each label heard since, and report each drawn over."""
        # A label whose frame was being carried out while the radio was asked, or which
        # one changed meanwhile, is left to the next poll: what the radio said may be from
        # before our delivery, and compared with the delivery it would look drawn over.
        before = {
            label_id: label
            for label_id, label in self._labels.items()
            if not (label_id in self._workers and not self._workers[label_id].done())
        }
        heard = await radio.health()
        now = self._clock()
        self._note_unheard(heard)
        for label_id, label in list(self._labels.items()):
            health = heard.get(label.address)
            busy = label_id in self._workers and not self._workers[label_id].done()
            if health is None or busy or before.get(label_id) is not label:
                continue
            if drawn_over(label, health):
                # Say what is true: we no longer know what it shows. The controller's
                # reconciliation then sends the due image again.
                _log.warning("label %s: drawn over behind the gateway", label_id)
                label = forgotten(label).evolve(last_error="drawn over")
            elif not heard_since(label, health):
                continue
            updated = with_health(label, health)
            report = check_in_report(updated, now=now) if self._report_check_ins else None
            # One transaction: a label stored blank (drawn over) without the check-in that
            # says so would never tell the controller if its tag then stays silent. The
            # check-in replaces one the broker link has not taken yet: only the newest
            # says anything, and a slow link or an outage does not pile them up.
            self.state.save_label(updated, check_in=report)
            self._labels[label_id] = updated
            if report is not None:
                self._uplinks.wake()

    def _note_unheard(self, heard: dict[str, LabelHealth]) -> None:
        """Say once of a label the radio has not listed for `UNHEARD_POLLS` polls in a row
        that it gets no check-ins and no drawn-over checks: its images may still reach it
        (an address the AP takes, a tag that joined another AP), so nothing else shows
        it. An empty answer (the radio unreadable, `OeplRadio.health`) is no listing."""
        if not heard:
            return
        for label_id, label in self._labels.items():
            if label.address in heard:
                if self._unheard_polls.pop(label_id, 0) >= UNHEARD_POLLS:
                    _log.info("label %s: the radio lists %s again", label_id, label.address)
                continue
            polls = self._unheard_polls[label_id] = self._unheard_polls.get(label_id, 0) + 1
            if polls == UNHEARD_POLLS:
                _log.warning(
                    "label %s: the radio has not listed its address %s for %d health polls; "
                    "no check-ins and no drawn-over checks for it until it does (a tag "
                    "gone, on another AP, or another address than the tag's)",
                    label_id,
                    label.address,
                    polls,
                )

    async def _reach_again(self, radio: SelfSigningRadio) -> None:
        """Try the labels the radio last failed to reach (only those: a connection costs
        a label's battery); report each one that answers, so the controller retries its
        parked update now instead of never (such labels send no check-ins). A label that
        carried out a frame it held on the way signed an answer for it, which goes up
        before the report, like any answer."""
        for label_id, label in list(self._labels.items()):
            busy = label_id in self._workers and not self._workers[label_id].done()
            if not label.last_error or busy:
                continue
            try:
                answer = await radio.reach(label_id)
            except RadioError:
                continue  # still out of reach: its last report stands
            now = self._clock()
            current = self._labels[label_id]
            if answer is not None:
                # The label carried out a frame it held (its link was lost after the last
                # chunk) and signed what it now shows: that goes up like any answer, or
                # the controller keeps recording the price before it.
                heard = max(current.last_seen_s, now.timestamp())
                current = current.evolve(last_seen_s=heard)
                self._labels[label_id] = current
                self.state.save_label(current)
                self.state.queue_answer(answer, label_id=label_id)
                self._uplinks.wake()
            if not current.last_error:
                continue  # a frame got through meanwhile and said so itself
            # Reported as well: an answer does not send the controller's parked update
            # again (one for a price corrected meanwhile, say); this report does.
            updated = current.evolve(last_error="")
            self._labels[label_id] = updated
            self.state.save_label(updated)
            self.state.queue_answer(reachable_report(updated, now=now), label_id=label_id)
            self._uplinks.wake()


async def _first_set(*events: asyncio.Event) -> None:
    """Wait until one of `events` is set."""
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
