"""In which order a store gateway hands a label the frames it holds for it.

Two things hold frames for a label: the simulated store gateway
(`firmware_sim.store_gateway`) and the store gateway process
(`gateways.store_gateway.process`). Both take the order from here, so the controller
cannot tell them apart (docs/protocol.md, docs/gateways.md):

- the frames with the same opcode form one group, which goes where its newest frame's
  sequence puts it: the groups in the order of each group's newest sequence, lowest
  first;
- within a group the newest goes first: the label takes it and refuses the older ones
  as stale without drawing each in turn (a backlog of images is one refresh);
- frames that tie keep the order they are given in (arrival).

A label takes only a sequence above the last it took, so every frame of another opcode
signed before a group's newest goes before that group: an image queued, then a staff
flash, then the image signed again runs flash, new image, old image (refused), not new
image first, which would have the label refuse the flash as stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

__all__ = ["HeldFrame", "delivery_order"]


class HeldFrame(Protocol):
    """What the order reads of a held frame: its cleartext sequence and opcode."""

    @property
    def sequence(self) -> int: ...

    @property
    def opcode(self) -> int: ...


_Frame = TypeVar("_Frame", bound=HeldFrame)


def delivery_order(frames: Iterable[_Frame]) -> list[_Frame]:
    """`frames` (one label's, in arrival order) in the order to hand them to the label."""
    held = list(frames)
    newest: dict[int, int] = {}
    for frame in held:
        newest[frame.opcode] = max(newest.get(frame.opcode, 0), frame.sequence)
    # sorted() is stable: ties stay in arrival order.
    return sorted(held, key=lambda frame: (newest[frame.opcode], -frame.sequence))
