"""What the store gateway sends up to the controller (`.../up`), in which order, and how
many at once.

Three kinds go up:

- answers: the state file's outbox (signed answers, and the gateway's reports in place
  of one), in their order;
- check-ins: the state file's, the newest per label, a label's only once no answer of
  its waits (`LocalState.next_check_in`);
- `WAITING` reports: in memory, the newest per frame being carried out (the next health
  tick says it again after a restart).

Answers go first, one report after each (when one waits to go), the rest of the reports
once no answer waits; the reports are the `WAITING` ones and the check-ins, taking turns
when both wait (`Uplinks._next`). So an answer waits behind a bounded number of reports,
and the reports still go while answers keep coming.

Up to `in_flight` of them are on their way at once, handed to the one MQTT connection in
that order without waiting for each one's acknowledgement (on a steady link the broker
takes them in that order; across a reconnection paho may send a new one before those it
sends again, so a label's order rests on its having one on its way at a time). One at
a time, the relay was one message per round trip to the broker: about 20 a second over a
50 ms link, fewer than a store of a thousand tags checking in every 40 s makes, and the
answers queued behind reached the controller after its answer timeout, which sent their
frames again. A row leaves the state file only once the broker
acknowledged it (`LocalState.delivered`): after a crash every one not acknowledged goes
again, and the controller refuses the copy of a word it already holds as a duplicate.

A label has one message on its way at a time: the next of its waits for that one's
acknowledgement. So the controller hears each label's words in their order, as one at a
time, even when the link drops and paho sends again what was on its way: a copy of a
check-in signed before an answer, arriving after that answer, would read as older than
it, and the controller would forget what the label shows and send its image again in
full. A row from a state file written before the outbox kept each answer's label goes
alone (it may be any label's).

A message the gateway fails on once the broker has it (recording it delivered raises:
a bug in handling that one row) stops the process, which starts again and sent it again
at every start, for good. Now such a failure is counted against the message in the state
file (`LocalState.failed_on_uplink`, the count of a frame's tries): an answer by its
outbox row (a frame sent again and answered with the same bytes is a new row, counted
afresh), a check-in by its label and bytes. One the gateway failed on `tries` times is
dropped at the next start, with an error line, instead of sent; where its row will not
leave the state file either, it is set aside: sent never, and holding up none of its
label's check-ins. Each message of the failed batch is recorded alone, and only one
that fails so is counted; the others leave the state file. A failure of the state file
as a whole (`environmental`: a full disk, an I/O error) counts against no message, and
stops the process as before.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from gateways.errors import GatewayError, PacketTooLargeError
from gateways.mqtt.store_gateway import StoreGatewayClient
from gateways.store_gateway.local_state import (
    FrameTries,
    LocalState,
    UplinkKey,
    environmental,
    uplink_key,
)

__all__ = ["TRIES_PER_UPLINK", "UPLINKS_IN_FLIGHT", "Uplinks"]

_log = logging.getLogger(__name__)

# Messages on their way to the broker at once, by default: 20 carry 400 a second over a
# 50 ms link, 100 over 200 ms; the connection's own bound (`max_in_flight`) is above it.
UPLINKS_IN_FLIGHT = 20
# Failures of the gateway on one message up before it is dropped (as a frame's tries).
TRIES_PER_UPLINK = 3


class _Kind(StrEnum):
    ANSWER = "answer"
    CHECK_IN = "check-in"
    WAITING = "waiting report"


@dataclass(frozen=True, slots=True, eq=False)
class _Uplink:
    kind: _Kind
    label_id: str | None  # None: an outbox row written before rows kept their label
    payload: bytes
    answer_id: int = 0  # its outbox row (an answer)

    @property
    def key(self) -> UplinkKey:
        """What its failures are counted under (`LocalState.failed_on_uplink`)."""
        return uplink_key(self.label_id, self.answer_id, self.payload)


class Uplinks:
    """The store gateway's messages to the controller (`run`), from `state` and the
    `WAITING` reports given (`report_waiting`), through `client`, up to `in_flight` at
    once. `carrying(label)`: the sequence of the frame the label's worker is carrying out
    now, None when none (a `WAITING` report on any other frame says nothing true)."""

    def __init__(
        self,
        *,
        state: LocalState,
        client: StoreGatewayClient,
        carrying: Callable[[str], int | None],
        in_flight: int = UPLINKS_IN_FLIGHT,
        retry_publish_s: float = 1.0,
        tries: int = TRIES_PER_UPLINK,
    ) -> None:
        if in_flight < 1:
            raise ValueError("at least one message must be able to go at once")
        self._state = state
        self._client = client
        self._carrying = carrying
        self._retry_publish_s = retry_publish_s
        self._free = asyncio.Semaphore(in_flight)
        self._wake = asyncio.Event()
        # Handed to the connection, not yet settled (`settle`).
        self._on_the_way: set[_Uplink] = set()
        # Acknowledged by the broker since the last `settle`.
        self._acknowledged: list[_Uplink] = []
        # Per label, the WAITING report on the frame it carries, not yet sent (sequence,
        # bytes): a newer tick's replaces it.
        self._waiting: dict[str, tuple[int, bytes]] = {}
        self._report_owed = False  # an answer went: a report may go next
        self._check_in_next = False  # a check-in goes before a WAITING report next
        self._tries = tries
        # Messages (`_Uplink.key`) the gateway failed on `tries` times, read at `run`:
        # dropped instead of sent. Those the state file would not let go are set aside
        # until the next start (answer rows, check-ins): sent never, and an answer so
        # holds up none of its label's check-ins.
        self._failed: dict[UplinkKey, FrameTries] = {}
        self._kept_answers: set[int] = set()
        self._kept_check_ins: set[UplinkKey] = set()
        # Messages counted as failed on in this run (once each).
        self._counted: set[UplinkKey] = set()

    def wake(self) -> None:
        """Something new waits to go (an answer, a check-in, a report)."""
        self._wake.set()

    def report_waiting(self, label_id: str, sequence: int, report: bytes) -> None:
        """The label's frame `sequence` is still carried out: `report` says so, in place of
        one not sent yet (a slow link does not pile them up)."""
        self._waiting[label_id] = (sequence, report)
        self._wake.set()

    def forget_waiting(self, label_id: str | None = None) -> None:
        """The label's frame is done (its answer says more than "waiting"); None: every
        label's (the process stops)."""
        if label_id is None:
            self._waiting.clear()
        else:
            self._waiting.pop(label_id, None)

    async def run(self) -> None:
        """Send what waits, for as long as the process runs."""
        self._failed = self._state.uplinks_failed(at_least=self._tries)
        self._kept_answers.clear()
        self._kept_check_ins.clear()
        self._counted.clear()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                # A slot first, then the choice: what came meanwhile (an answer) goes next.
                await self._free.acquire()
                self.settle()
                uplink = self._next()
                if uplink is None:
                    self._free.release()
                    break
                await self._send(uplink)

    # ------------------------------------------------------------ sending

    async def _send(self, uplink: _Uplink) -> None:
        self._on_the_way.add(uplink)
        try:
            # Waits for a slot of the connection's only; through a short outage paho
            # keeps it and sends it once the link is back.
            acknowledged = await self._client.hand_up(uplink.payload)
        except GatewayError as refused:
            self._free.release()
            if uplink.kind is _Kind.WAITING:
                # The next tick says it again; nothing is owed for this one.
                self._on_the_way.discard(uplink)
                _log.warning("%s not published: %s", uplink.kind, refused)
            elif isinstance(refused, PacketTooLargeError):
                # Refused again however often tried, holding up everything behind it:
                # dropped, as if sent (the controller sends its frame again; the tag
                # checks in again).
                _log.error("%s dropped: %s", uplink.kind, refused)
                self._acknowledged.append(uplink)
            else:
                # Kept in the state file, tried again.
                self._on_the_way.discard(uplink)
                _log.warning("%s not published yet: %s", uplink.kind, refused)
                await asyncio.sleep(self._retry_publish_s)
            return
        acknowledged.add_done_callback(functools.partial(self._settled, uplink))

    def _settled(self, uplink: _Uplink, acknowledged: asyncio.Future[None]) -> None:
        """The broker's PUBACK for `uplink`, or the error that ended the wait for it (the
        connection closed: it stays in the state file)."""
        self._free.release()
        refused = None if acknowledged.cancelled() else acknowledged.exception()
        if refused is None:
            self._acknowledged.append(uplink)
        else:
            # The connection closed (the process stops): it stays in the state file and
            # goes again at the next start.
            _log.info("%s not acknowledged: %s", uplink.kind, refused)
            self._on_the_way.discard(uplink)
        # Its label may send its next message now.
        self._wake.set()

    def settle(self) -> None:
        """One transaction for every acknowledgement since the last: their rows leave the
        state file, and their labels may send their next message. Before each choice,
        and at a stop (what the broker acknowledged then is not sent again)."""
        done, self._acknowledged = self._acknowledged, []
        if not done:
            return
        try:
            self._delivered(done)
        except Exception as error:
            self._count_failed(done, error)
            raise
        self._on_the_way.difference_update(done)

    def _delivered(self, done: list[_Uplink]) -> None:
        self._state.delivered(
            answers=[u.answer_id for u in done if u.kind is _Kind.ANSWER],
            check_ins=[(u.label_id, u.payload) for u in done if u.kind is _Kind.CHECK_IN
                       and u.label_id is not None],
        )  # fmt: skip

    def _count_failed(self, done: list[_Uplink], error: Exception) -> None:
        """Recording `done` delivered failed with `error` (the process stops): record each
        alone, and count a failure against each that fails alone. A failure of the state
        file as a whole (`environmental`: a full disk) is no message's and counts against
        none; so where the count cannot be written either."""
        if environmental(error):
            return
        _log.info(
            "recording %d messages delivered failed (%s): each is recorded alone",
            len(done),
            error,
        )
        for uplink in done:
            if uplink.kind is _Kind.WAITING:
                continue
            try:
                self._delivered([uplink])
            except Exception as alone:
                if environmental(alone):
                    return
                if uplink.key in self._counted:
                    continue
                try:
                    self._state.failed_on_uplink(
                        label_id=uplink.label_id,
                        answer_id=uplink.answer_id,
                        payload=uplink.payload,
                        failure=f"{type(alone).__name__}: {alone}",
                    )
                except Exception:
                    _log.warning("%s: its failure not counted", uplink.kind, exc_info=True)
                    return
                self._counted.add(uplink.key)
            else:
                self._on_the_way.discard(uplink)

    def _dropped(self, uplink: _Uplink) -> bool:
        """Whether `uplink` is one the gateway failed on `tries` times: then it leaves the
        state file (or is passed over until the next start) instead of going up."""
        tries = self._failed.get(uplink.key)
        if tries is None:
            return False
        _log.error(
            "label %s: %s dropped, not sent again: recording it delivered made the gateway "
            "fail %d times (the last failure: %s)",
            uplink.label_id,
            uplink.kind,
            tries.count,
            tries.last_failure,
        )
        try:
            self._delivered([uplink])
        except Exception:
            _log.warning(
                "label %s: %s not removed from the state file; set aside until the next start",
                uplink.label_id,
                uplink.kind,
                exc_info=True,
            )
            if uplink.kind is _Kind.ANSWER:
                self._kept_answers.add(uplink.answer_id)
            else:
                self._kept_check_ins.add(uplink.key)
        return True

    # ------------------------------------------------------------ choosing

    def _next(self) -> _Uplink | None:
        """What goes next (docstring of the module); None: nothing may go now."""
        if any(u.label_id is None for u in self._on_the_way):
            return None  # a row without its label goes alone
        busy = {u.label_id for u in self._on_the_way if u.label_id is not None}
        if self._report_owed:
            self._report_owed = False
            if (report := self._next_report(busy)) is not None:
                return report
        on_the_way = {u.answer_id for u in self._on_the_way if u.kind is _Kind.ANSWER}
        kept = self._kept_answers  # grows as `_dropped` passes one over

        def passed_over(answer_id: int, label_id: str | None) -> bool:
            return answer_id in on_the_way or answer_id in kept or label_id in busy

        while answer := self._state.next_answer(passed_over=passed_over):
            answer_id, label_id, payload = answer
            uplink = _Uplink(_Kind.ANSWER, label_id, payload, answer_id)
            if self._dropped(uplink):
                continue
            if label_id is None and self._on_the_way:
                return None  # it goes alone, once the others are acknowledged
            self._report_owed = True
            return uplink
        return self._next_report(busy)

    def _next_report(self, busy: set[str]) -> _Uplink | None:
        """A `WAITING` report or a check-in, the two taking turns when both wait: a store's
        tags checking in at every tick cannot keep the `WAITING` reports from going (the
        controller would send their frames again), nor a hundred frames carried the
        check-ins."""
        if self._check_in_next and (check_in := self._next_check_in(busy)) is not None:
            self._check_in_next = False
            return check_in
        if (report := self._next_waiting_report(busy)) is not None:
            self._check_in_next = True
            return report
        if (check_in := self._next_check_in(busy)) is not None:
            self._check_in_next = False
            return check_in
        return None

    def _next_check_in(self, busy: set[str]) -> _Uplink | None:
        """The check-in waiting longest (its label's answers gone first). Kept in the state
        file until the broker has it: it may say what the label shows (blank after a
        reboot, drawn over), and a restart must not lose that while the tag stays
        silent. One replaced while its older one is on its way goes after that one."""
        passed_over = set(busy)
        # Answers to be dropped (their rows gone by now, or set aside) hold up nothing.
        set_aside = self._kept_answers | {key[1] for key in self._failed if key[1] > 0}
        while waiting := self._state.next_check_in(busy=passed_over, set_aside=set_aside):
            label_id, check_in = waiting
            uplink = _Uplink(_Kind.CHECK_IN, label_id, check_in)
            if uplink.key in self._kept_check_ins or self._dropped(uplink):
                passed_over.add(label_id)  # a newer check-in of its goes, from the next choice
                continue
            return uplink
        return None

    def _next_waiting_report(self, busy: set[str]) -> _Uplink | None:
        """The oldest `WAITING` report still true, taken; one on a frame no longer carried
        out is dropped."""
        for label_id, (sequence, report) in list(self._waiting.items()):
            if self._carrying(label_id) != sequence:
                del self._waiting[label_id]
                continue
            if label_id in busy:
                continue
            del self._waiting[label_id]
            return _Uplink(_Kind.WAITING, label_id, report)
        return None
