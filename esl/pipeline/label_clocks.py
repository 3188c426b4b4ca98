"""Label clocks: a label flips a timed image on its own clock, so the controller keeps it right.

Every fresh answer the controller believes carries the label's clock (`label_time`,
signed with its key): a check-in, and as much the acknowledgement of a frame (the timed
image's own), a ping's or a SetClock's answer. A label heard only through its answers (a
BLE label, a self-signing label behind `esl gateway`, `esl sim gateway` without
`--report-check-ins`) never checks in; judged on check-ins alone, its clock ten minutes
behind was never set, and it flipped a timed price ten minutes late while the audit
called it flipped (`tests/pipeline/test_wire_clock_behind_without_check_ins.py`).

One answer whose clock differs from its arrival by more than the tolerance (a clock that
drifted, a label whose clock restarted with a new battery) gets a signed SetClock, sent
as a label action (`esl.pipeline.label_actions`, kind `set_clock`, requested by
`controller`), at most one an hour per label; and the offset is kept
(`label_states.clock_offset_ms`, cleared by the next answer within the tolerance), so
the audit and the console judge a timed flip by the label's clock until it is set
(`esl.services.panel_image`). The tolerance is the setting `ESL_LABEL_CLOCK_TOLERANCE_S`;
0 leaves label clocks alone (simulated labels on an accelerated clock run ahead by
design): neither set nor judged, no offset kept.

Only a fresh answer counts: one older than a claim the controller holds (a replay), a
duplicate, or one delivered after a newer answer, sets nothing off: its clock is old by
its nature. An answer can arrive long after it was signed, so a clock behind its
arrival proves little by itself; a clock ahead of its arrival always proves the label
wrong. Behind is judged
- for the acknowledgement of a frame, against the frame's last send (the earliest the
  label can have signed an answer to that copy; an answer to an earlier copy arriving
  after a repeat may be found behind when it is not, a needless SetClock, never the
  reverse; against the first send, a frame repeated for minutes proved nothing and the
  label flipped late while the audit said `match`): a store gateway
  relays acknowledgements late by nature (an OpenEPaperLink tag's is signed by the
  gateway before the tag took the image, up to minutes; a gateway publishes what it
  queued while its broker was away), and before, such a tag was sent needless SetClocks
  (`tests/pipeline/test_relayed_answer_clocks.py`); and it holds for an answer delivered
  from a broker's backlog too, which proves a clock behind its frame's send all the same;
- for a check-in, against its arrival, unless the broker kept it for the controller while
  it was away (a restart) and delivered it as its session resumed (`Uplink.resumed`): it
  was sent an unknown while before it arrived (before, a restart sent a SetClock to every
  label that had checked in meanwhile);
- for a SetClock's acknowledgement (`sets_clock`), against its arrival, from a resumed
  session too: it carries the clock as the SetClock set it, to the instant the SetClock
  was signed, whenever the label took it. A SetClock a store gateway held for a label out
  of reach and delivered five minutes late sets the clock five minutes behind, and its
  answer, signed right then, reads the SetClock's own instant; the most the clock can be
  behind is its lag behind the arrival. Before, it counted as an action's answer (below):
  the record kept the clock right while it ran five minutes behind, and the label flipped a
  timed price five minutes late while the audit said `match`
  (`tests/pipeline/test_set_clock_delivered_late.py`);
- never for the answer to any other label action (a ping's, a flash's), whose frame's
  send is not kept: such an answer proves only a clock ahead, or right.
A label not proven off is left as it was; within one batch, an answer that proves nothing
of the clock does not undo what an earlier answer proved (a ping's answer, or an
acknowledgement its frame's send does not bound, after a check-in behind did).

The tolerance is wider than a store gateway's relay of an answer (it may batch them
for seconds) and narrower than `check_ins.FLIP_GRACE`, the lateness a timed flip is
allowed before the record calls the label wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.console_models import LabelActionRow
from esl.pipeline.action_kinds import ActionKind
from esl.pipeline.label_actions import request_own_actions
from gateways.protocol import LabelResponse, Opcode

__all__ = [
    "ASK_AGAIN_AFTER",
    "CLOCK_TOLERANCE",
    "clock_offsets",
    "request_clock_settings",
    "sets_clock",
]

CLOCK_TOLERANCE = timedelta(seconds=60)  # the setting ESL_LABEL_CLOCK_TOLERANCE_S
ASK_AGAIN_AFTER = timedelta(hours=1)
_MS = timedelta(milliseconds=1)


def clock_offsets(
    heard: Mapping[str, tuple[datetime, datetime, datetime | None]],
    *,
    late: Collection[str] = (),
    tolerance: timedelta = CLOCK_TOLERANCE,
) -> dict[str, int | None]:
    """What each label's fresh answer says of its clock: label -> its clock minus the
    controller's in ms when proven off by more than `tolerance`, None when within it;
    a label the answer proves nothing of is left out.

    `heard`: label -> (the `label_time` of its newest fresh believed answer, when that
    arrived, and the earliest instant it can have been signed when known: its frame's
    send). A label of `late` without that instant (a check-in from a broker's backlog, an
    action's answer) proves only a clock ahead. A clock proven behind is kept as its lag
    behind the answer's arrival, the most it can be: the audit then waits that long for a
    timed flip, erring towards "not flipped yet" until the SetClock is answered."""
    found: dict[str, int | None] = {}
    for label_id, (label_time, received_at, signed_after) in heard.items():
        offset = label_time - received_at
        if offset > tolerance:
            found[label_id] = offset // _MS
        elif -offset <= tolerance:
            found[label_id] = None
        elif signed_after is not None:
            if signed_after - label_time > tolerance:
                found[label_id] = offset // _MS
        elif label_id not in late:
            found[label_id] = offset // _MS
    return found


def sets_clock(response: LabelResponse) -> bool:
    """Whether `response` acknowledges a SetClock: the label set its clock to the instant
    the SetClock was signed when it took it, which may be long after (a store gateway
    holding it for a label out of reach), so its clock reads behind by as much, and its
    answer is judged against its arrival (`clock_offsets`), never as an action's answer
    that proves only a clock ahead."""
    return response.acked and response.opcode == Opcode.SET_CLOCK


def request_clock_settings(
    session: Session, offsets: Mapping[str, int | None], *, now: datetime
) -> list[str]:
    """Queue a SetClock for every label of `offsets` found off (`clock_offsets`), unless
    one was asked of it within `ASK_AGAIN_AFTER` (a clock that will not be set must not
    take a sequence number at every answer); their ids. One query for the batch."""
    off = sorted(label_id for label_id, offset in offsets.items() if offset is not None)
    if not off:
        return []
    asked = set(
        session.scalars(
            select(LabelActionRow.label_id).where(
                LabelActionRow.label_id.in_(off),
                LabelActionRow.action == ActionKind.SET_CLOCK.value,
                LabelActionRow.requested_at > now - ASK_AGAIN_AFTER,
            )
        )
    )
    wanted = [label_id for label_id in off if label_id not in asked]
    request_own_actions(session, wanted, ActionKind.SET_CLOCK, now=now)
    return wanted
