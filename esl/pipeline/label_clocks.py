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
`controller`) at the next dispatch round, paced as `wait_before_next_set_clock` says;
and the offset is kept
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

Pacing. A clock found off is set again at once, unless a SetClock to the label is still
open (requested, or sent and not answered within the action's timeout): its answer may
yet set the clock. So a SetClock taken late is followed at once by another, which a
label back in reach takes on time, and its timed flips come on time. Before, the next
waited the hour after the late one, and a flip due meanwhile came as late as the
SetClock had (`tests/pipeline/test_set_clock_delivered_late.py`). Each SetClock takes a
sequence number and one taken late sets the clock behind again, so SetClocks following
each other closely are one run, and the wait after each grows: none after the first,
`FIRST_BACK_OFF` after the second, doubling up to `ASK_AGAIN_AFTER`. A label that keeps
taking them late, or never takes them (check-ins heard, nothing sent reaching it), is
asked less and less often, then hourly (`tests/pipeline/test_set_clock_back_off.py`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.console_models import LabelActionRow
from esl.pipeline.action_kinds import OPEN_STATUSES, ActionKind
from esl.pipeline.label_actions import request_own_actions
from gateways.protocol import LabelResponse, Opcode

__all__ = [
    "ASK_AGAIN_AFTER",
    "CLOCK_TOLERANCE",
    "FIRST_BACK_OFF",
    "clock_offsets",
    "request_clock_settings",
    "sets_clock",
    "wait_before_next_set_clock",
]

CLOCK_TOLERANCE = timedelta(seconds=60)  # the setting ESL_LABEL_CLOCK_TOLERANCE_S
# The wait after the second SetClock of a run; it doubles with each one after.
FIRST_BACK_OFF = timedelta(minutes=5)
# The longest wait between two SetClocks to a label (as before every one waited it): a
# label whose clock will not be set is asked hourly.
ASK_AGAIN_AFTER = timedelta(hours=1)
# SetClocks less than this apart are one run. Wider than the longest wait, so a label
# asked hourly stays in its run (asked hourly, not at once again); a label not asked for
# this long starts a new run, its first re-set prompt.
_ONE_RUN = 2 * ASK_AGAIN_AFTER
# The most SetClocks of a run that can change the wait: by then it is the hour.
_LONGEST_RUN = 2 + math.ceil(math.log2(ASK_AGAIN_AFTER / FIRST_BACK_OFF))
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


def wait_before_next_set_clock(asked: Sequence[datetime]) -> timedelta:
    """How long after the newest of a label's SetClocks (`asked`: when each was asked,
    newest first) the next may be asked: none after the first of a run (a SetClock
    taken late, a clock that jumped since it was set), so the label's timed flips come
    on time; then `FIRST_BACK_OFF`, doubling with each SetClock of the run, up to
    `ASK_AGAIN_AFTER`: one taken late sets the clock behind again, and one never taken
    would take a sequence number at every answer."""
    in_run = 1
    for later, earlier in pairwise(asked):
        if later - earlier >= _ONE_RUN:
            break
        in_run += 1
    if in_run == 1:
        return timedelta(0)
    back_off: timedelta = FIRST_BACK_OFF * 2 ** (in_run - 2)
    return min(back_off, ASK_AGAIN_AFTER)


def request_clock_settings(
    session: Session, offsets: Mapping[str, int | None], *, now: datetime
) -> list[str]:
    """Queue a SetClock for every label of `offsets` found off (`clock_offsets`), unless
    one to it is still open or the wait after its last is not over
    (`wait_before_next_set_clock`); their ids. One query for the batch.

    Called once the batch's action answers are recorded: a SetClock answered late in it
    is no longer open, and its label is asked again at once. An open one asked more than
    `ASK_AGAIN_AFTER` ago (requested, never taken up) no longer holds the label back."""
    off = sorted(label_id for label_id, offset in offsets.items() if offset is not None)
    if not off:
        return []
    asked: dict[str, list[datetime]] = {label_id: [] for label_id in off}
    still_open: set[str] = set()
    for label_id, requested_at, status in session.execute(
        select(LabelActionRow.label_id, LabelActionRow.requested_at, LabelActionRow.status)
        .where(
            LabelActionRow.label_id.in_(off),
            LabelActionRow.action == ActionKind.SET_CLOCK.value,
            # Far enough back for the longest run that counts, each SetClock of it within
            # `_ONE_RUN` of the next.
            LabelActionRow.requested_at > now - _ONE_RUN * _LONGEST_RUN,
        )
        .order_by(LabelActionRow.requested_at.desc(), LabelActionRow.id.desc())
    ):
        asked[label_id].append(requested_at)
        if status in OPEN_STATUSES and requested_at > now - ASK_AGAIN_AFTER:
            still_open.add(label_id)
    wanted = [
        label_id
        for label_id in off
        if label_id not in still_open
        and (
            not asked[label_id]
            or now - asked[label_id][0] >= wait_before_next_set_clock(asked[label_id])
        )
    ]
    request_own_actions(session, wanted, ActionKind.SET_CLOCK, now=now)
    return wanted
