"""Label clocks: a label flips a timed image on its own clock, so the controller keeps it right.

Every verified check-in carries the label's clock (`label_time`, signed with its key).
One that differs from the check-in's arrival by more than the tolerance (a clock that
drifted, a label whose clock restarted with a new battery) gets a signed SetClock, sent
as a label action (`esl.pipeline.label_actions`, kind `set_clock`, requested by
`controller`), at most one an hour per label. The tolerance is the setting
`ESL_LABEL_CLOCK_TOLERANCE_S`; 0 leaves label clocks alone (simulated labels on an
accelerated clock run ahead by design). A check-in older than a claim the
controller holds (a replay) sets nothing off: its clock is old by its nature. Nor does a
clock behind in a check-in the broker kept for the controller while it was away (a
restart), delivered as its session resumed (`Uplink.resumed`): it was sent an unknown
while before it arrived, so only a clock ahead of its arrival is known wrong. Before, a
restart sent a SetClock to every label that had checked in meanwhile.

The tolerance is wider than a store gateway's relay of a check-in (it may batch them
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
from gateways.protocol import LabelResponse

__all__ = ["ASK_AGAIN_AFTER", "CLOCK_TOLERANCE", "request_clock_settings"]

CLOCK_TOLERANCE = timedelta(seconds=60)  # the setting ESL_LABEL_CLOCK_TOLERANCE_S
ASK_AGAIN_AFTER = timedelta(hours=1)


def request_clock_settings(
    session: Session,
    check_ins: Mapping[str, tuple[LabelResponse, datetime]],
    *,
    older: Collection[str],
    now: datetime,
    late: Collection[str] = (),
    tolerance: timedelta = CLOCK_TOLERANCE,
) -> list[str]:
    """Queue a SetClock for every label whose check-in's clock is off by more than
    `tolerance`, unless one was asked of it within `ASK_AGAIN_AFTER` (a clock that will
    not be set must not take a sequence number at every check-in); their ids. A check-in
    of `late` (delivered from a broker's backlog, sent an unknown while before it came)
    proves only a clock ahead: behind, the delay may be the backlog's."""
    off = sorted(
        label_id
        for label_id, (response, received_at) in check_ins.items()
        if label_id not in older
        and (
            response.label_time - received_at > tolerance
            or (label_id not in late and received_at - response.label_time > tolerance)
        )
    )
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
