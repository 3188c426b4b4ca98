"""A synchronized label's answer to a command, as tests forge or script it.

The health readings are ordinary ones (fresh battery, good signal, room temperature):
the tests using this check what the controller does with the answer, not the readings.
"""

from __future__ import annotations

from datetime import datetime

from firmware_sim.label import FIRMWARE_VERSION
from gateways.protocol import (
    BasicStateFlag,
    FrameKind,
    LabelResponse,
    LabelState,
    ReasonCode,
)
from gateways.protocol.responses import NO_OPCODE

# A panel hash no real content has, for answers whose shown content does not matter.
SOME_SHOWN_HASH = bytes(range(1, 17))


def synchronized_answer(
    label_id: str,
    sequence: int,
    *,
    label_time: datetime,
    reason: ReasonCode = ReasonCode.SUCCESS,
    displayed_hash: bytes | None = SOME_SHOWN_HASH,
    opcode: int = NO_OPCODE,
    kind: FrameKind = FrameKind.RESPONSE,
) -> LabelResponse:
    return LabelResponse(
        label_id=label_id,
        sequence=sequence,
        reason=reason,
        state=LabelState.SYNCHRONIZED,
        flags=BasicStateFlag.SYNCHRONIZED,
        displayed_hash=displayed_hash,
        page=0,
        battery_mv=3000,
        rssi_dbm=-60,
        lqi=170,
        temperature_tenths_c=210,
        firmware=FIRMWARE_VERSION,
        label_time=label_time,
        opcode=opcode,
        kind=kind,
    )
