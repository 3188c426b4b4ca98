"""The order in which both store gateways (the process and the simulated one) hand a label
its held frames: docs/protocol.md, "The order of a label's frames"."""

from __future__ import annotations

from dataclasses import dataclass

from gateways.protocol import Opcode
from gateways.protocol.delivery_order import delivery_order


@dataclass(frozen=True)
class _Held:
    sequence: int
    opcode: int
    copy: str = ""  # tells apart two frames with one sequence (a forged copy, say)


def _sequences(*held: _Held) -> list[int]:
    return [frame.sequence for frame in delivery_order(held)]


IMAGE, FLASH, PING = Opcode.IMAGE_UPDATE, Opcode.LED_CONTROL, Opcode.PING


def test_each_opcode_goes_where_its_newest_frame_puts_it_the_newest_first() -> None:
    # Images 5 and 7, a flash 6, a ping 8, a flash 9: the image group goes at 7, the
    # ping at 8, the flash group at 9; inside each the newest first.
    held = (_Held(5, IMAGE), _Held(6, FLASH), _Held(7, IMAGE), _Held(8, PING), _Held(9, FLASH))
    assert _sequences(*held) == [7, 5, 8, 9, 6]


def test_a_frame_of_another_opcode_signed_before_a_groups_newest_goes_before_it() -> None:
    # The hunter's case: the flash is taken, the newest image drawn, the older refused.
    assert _sequences(_Held(5, IMAGE), _Held(6, FLASH), _Held(7, IMAGE)) == [6, 7, 5]


def test_sequence_order_not_arrival_order_and_ties_stay_in_arrival_order() -> None:
    # A frame signed earlier that came later still goes first.
    assert _sequences(_Held(9, FLASH), _Held(4, IMAGE)) == [4, 9]
    first, copy = _Held(6, FLASH, "first"), _Held(6, FLASH, "copy")
    assert delivery_order([first, copy]) == [first, copy]
    assert delivery_order([copy, first]) == [copy, first]
