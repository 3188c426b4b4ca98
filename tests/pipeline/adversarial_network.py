"""The network between the controller and a store gateway, as an attacker holds it.

Anyone holding a store gateway's MQTT credential sees every frame on the store's `down`
topic and every answer on its `up` topic, and can publish on both. This module plays
that network for property tests: the controller's side is a `Gateway` (an
`InMemoryGateway`, a new one at every controller restart, as a restarted controller
opens a new transport), the store's side is firmware_sim's `StoreGatewaySim` relaying to
simulated labels that speak the real signed protocol. Everything in between is held
here, and the test decides what becomes of it:

- delivered, in any order (so reordered and delayed), dropped, or duplicated;
- replayed: a genuine frame or answer captured earlier, published again later;
- forged: a copy of a genuine frame with the same label and sequence but a wrong MAC,
  published right behind the genuine one or instead of it (altered in transit); an
  answer claiming success that the attacker signed with a key of its own, or a genuine
  answer with a wrong MAC.

The attacker holds no label key: it can move, copy and alter bytes, never sign them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from firmware_sim.label import SimulatedLabel
from firmware_sim.store_gateway import StoreGatewaySim
from gateways.base import Downlink, Uplink
from gateways.protocol import (
    FrameRejectedError,
    ImageUpdate,
    encode_response,
    generate_label_key,
    header_opcode,
    peek_command,
    peek_header,
)
from tests.support.label_answers import synchronized_answer

__all__ = ["AdversarialNetwork", "Direction", "RecordingLabel", "altered"]


class Direction(StrEnum):
    DOWN = "down"  # frames, controller -> store gateway
    UP = "up"  # answers and check-ins, store gateway -> controller


class RecordingLabel(SimulatedLabel):
    """A simulated label that notes every image its panel starts showing (a refresh, or a
    timed flip), so a test can check every price a shelf ever showed, not only the last.

    The firmware is the real one: only `_refresh`, which every change of the panel goes
    through, also appends the new image's hash to `panel_history` (a list the test owns
    and hands to each incarnation of the same physical label)."""

    __slots__ = ("panel_history",)

    panel_history: list[bytes | None]

    def _refresh(self, page: int, start_ms: int) -> None:
        super()._refresh(page, start_ms)
        self.panel_history.append(self.shown_hash)


def altered(message: bytes) -> bytes:
    """`message` with a wrong MAC: its label, sequence and body read as the original's,
    but it no longer verifies (what anyone without the label's key can make of it)."""
    changed = bytearray(message)
    changed[-1] ^= 0x5A
    return bytes(changed)


@dataclass
class AdversarialNetwork:
    """Frames and answers in flight between one controller and one store gateway."""

    store_gateway: StoreGatewaySim
    frames: list[bytes] = field(default_factory=list)  # on the way down, in arrival order
    answers: list[bytes] = field(default_factory=list)  # on the way up
    captured_frames: list[bytes] = field(default_factory=list)  # every genuine frame seen
    captured_answers: list[bytes] = field(default_factory=list)  # every genuine answer seen
    forged_frames: int = 0
    forged_answers: int = 0
    replayed: int = 0

    @property
    def store(self) -> str:
        return self.store_gateway.store

    @property
    def gateway(self) -> str:
        return self.store_gateway.gateway

    def queue(self, direction: Direction) -> list[bytes]:
        return self.frames if direction is Direction.DOWN else self.answers

    def idle(self) -> bool:
        return not self.frames and not self.answers

    # ------------------------------------------------------------ what the parties do

    def carry(self, downlinks: list[Downlink]) -> None:
        """The controller published these frames on the store's `down` topic."""
        for downlink in downlinks:
            self.frames.append(downlink.payload)
            self.captured_frames.append(downlink.payload)

    def listen(self, *, now: datetime) -> None:
        """The store gateway's radio runs up to `now`; what the labels said goes `up`."""
        for answer in self.store_gateway.advance(now=now):
            self.answers.append(answer)
            self.captured_answers.append(answer)

    def deliver_frame(self, index: int, *, now: datetime) -> None:
        """The frame at `index` reaches the store gateway."""
        if self.frames:
            self.store_gateway.submit(self.frames.pop(index % len(self.frames)), now=now)

    def deliver_answer(self, index: int, *, now: datetime) -> Uplink | None:
        """The answer at `index` reaches the controller (stamped on arrival)."""
        if not self.answers:
            return None
        payload = self.answers.pop(index % len(self.answers))
        return Uplink(self.store, self.gateway, payload, now)

    # ------------------------------------------------------------ what the attacker does

    def drop(self, direction: Direction, index: int) -> None:
        queue = self.queue(direction)
        if queue:
            del queue[index % len(queue)]

    def duplicate(self, direction: Direction, index: int) -> None:
        """A copy of a message in flight arrives again, after everything now in flight."""
        queue = self.queue(direction)
        if queue:
            queue.append(queue[index % len(queue)])

    def replay(self, direction: Direction, index: int) -> None:
        """Publish again a genuine message captured at any earlier moment."""
        captured = self.captured_frames if direction is Direction.DOWN else self.captured_answers
        if captured:
            self.queue(direction).append(captured[index % len(captured)])
            self.replayed += 1

    def forge_frame(self, index: int, *, in_place: bool) -> None:
        """A forged copy of a genuine frame in flight (same label, same sequence, wrong
        MAC), published right behind it, or with `in_place` instead of it (altered in
        transit); of a frame already delivered when none is in flight."""
        if self.frames:
            position = index % len(self.frames)
            forged = altered(self.frames[position])
            if in_place:
                self.frames[position] = forged
            else:
                self.frames.insert(position + 1, forged)
        elif self.captured_frames:
            self.frames.append(altered(self.captured_frames[index % len(self.captured_frames)]))
        else:
            return
        self.forged_frames += 1

    def forge_answer(self, index: int, *, now: datetime, signed: bool) -> None:
        """A forged answer: with `signed`, a success claim for a captured frame (showing
        that frame's image), signed with a key the attacker made up; otherwise a captured
        genuine answer with a wrong MAC."""
        if signed:
            if not self.captured_frames:
                return
            claim = _success_claim(self.captured_frames[index % len(self.captured_frames)], now)
            if claim is None:
                return
            self.answers.append(claim)
        elif self.captured_answers:
            self.answers.append(altered(self.captured_answers[index % len(self.captured_answers)]))
        else:
            return
        self.forged_answers += 1


def _success_claim(frame: bytes, now: datetime) -> bytes | None:
    """ "I show the image of `frame`": the answer an attacker would like the controller to
    believe, signed with a key that is not the label's."""
    try:
        header = peek_header(frame)
        command = peek_command(frame)
        opcode = header_opcode(frame, header)
    except FrameRejectedError:
        return None
    if opcode is None:
        return None
    shown = command.content_hash if isinstance(command, ImageUpdate) else None
    response = synchronized_answer(
        header.label_id, header.sequence, label_time=now, displayed_hash=shown, opcode=opcode
    )
    return encode_response(response, key=generate_label_key())
