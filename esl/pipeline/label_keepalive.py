"""Labels kept in sync: a label that hears nothing valid for an hour leaves sync, and an
hour later forgets its key (the ESL Service's timeouts; `firmware_sim.label`).

An MQTT store gateway answers each check-in, which keeps its labels in sync. A real BLE
access point keeps its labels in sync with periodic advertising (PAwR), which the links
this system drives (bleak, bumble, over GATT) do not offer; between price changes
nothing else reaches them. So every label the controller has not heard from for
`keep_in_sync_after(offline_after)` gets a signed Ping from the controller (a label
action, requested by `controller`): a valid frame, which the label counts as contact, and
its answer is heard (battery, signal). That silence is inside the hour a label stays in
sync, and short enough that a label answering at once is heard again before health and
the audit call it offline (`ESL_LABEL_OFFLINE_AFTER_S`, 30 minutes: pinged after 27);
before, pings came after 45 minutes, and every BLE label was called offline for a quarter
of an hour in every 45. A longer offline bound spends less of the radio's time on pings
(45 minutes at most). Valid only when signed above the last number the label took: after a
database restore the labels count further than the record, refuse the ping as stale,
and a refusal is no contact; settlement then signs the ping again above, and has the
label's due image sent again (docs/pipeline.md "Labels that count further than the
record"). A label silent because it is gone is asked again only after another such
silence, and after `pings_before_giving_up` pings unanswered since it was last heard from
(as many as span the two hours it keeps its key), not at all: by then it forgot its key,
a ping cannot reach it, and asking for ever only spends the radio's time. Its unanswered
pings say so in its action history; once it is heard from again (a check-in), it is kept
in sync again.

A label holding a timed flip whose instant passed `FLIP_CHECKED_AFTER` ago, not heard
since on its clock (`held_flips`), is pinged too, once per flip: the controller counts
the flip done, but a label whose battery sagged below a refresh skips it and keeps the
image before, which only its answer tells. Until it is heard the audit says
`unconfirmed`, not `match` on that count (`esl.services.panel_image`); without this ping
a label without check-ins (BLE) stayed so until its keep-alive, up to 27 minutes
(`tests/pipeline/test_timed_flip_a_label_cannot_draw_is_not_audited_as_drawn.py`). A
label that checks in is heard before then and is not pinged; a midnight's flips are
pinged `_AT_ONCE` a look, as silent labels are.

A frame on its way (pending, sent) is contact enough; a parked or held one is not: a
label whose update parked while it was out of reach is pinged like any silent label,
and its answer, heard, sends the parked frame again (`Settlement`'s unparking).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow, LabelStateRow
from esl.delivery_states import OutboxStatus
from esl.pipeline.action_kinds import ActionKind, ActionStatus
from esl.pipeline.label_actions import CONTROLLER, request_own_actions
from esl.pipeline.outbox_rows import OUTBOX
from esl.pipeline.stamps_ahead import STAMPED_AHEAD_BEYOND

__all__ = [
    "FLIP_CHECKED_AFTER",
    "KEEP_IN_SYNC",
    "keep_in_sync_after",
    "pings_before_giving_up",
    "request_keepalive_pings",
]

# The longest silence before a ping: well inside the hour a label stays in sync without
# a valid message.
KEEP_IN_SYNC = timedelta(minutes=45)
# The shortest: an offline bound of a few minutes would spend the radio on pings alone.
_SHORTEST_SILENCE = timedelta(minutes=5)
# From the ping's request to its answer heard: the next keep-alive look (every minute),
# the send in the store's window, the label's answer; a margin.
_ASKED_BEFORE_OFFLINE = timedelta(minutes=3)
_KEY_KEPT = timedelta(hours=2)  # unsynchronized an hour, then the key is deleted
_AT_ONCE = 500  # pings requested per look: a store gateway's radio takes them in turn
# From a held flip's instant to the ping asking whether the label drew it: a label that
# checks in (every minute or so) is heard by then, and is asked nothing.
FLIP_CHECKED_AFTER = timedelta(minutes=2)


def keep_in_sync_after(offline_after: timedelta) -> timedelta:
    """How long a label may be silent before it is pinged, with labels silent for
    `offline_after` called offline: early enough that its answer comes before that."""
    return max(_SHORTEST_SILENCE, min(KEEP_IN_SYNC, offline_after - _ASKED_BEFORE_OFFLINE))


def pings_before_giving_up(silence: timedelta) -> int:
    """Pings `silence` apart, unanswered, after which a label is asked no more: as many
    as span the two hours it keeps its key (3 at 45 minutes, 5 at 27)."""
    return math.ceil(_KEY_KEPT / silence)


# A frame with these reaches the label without a ping. Not parked (sent again only once
# the label is heard: a BLE label back in reach was never heard, and lost its key) nor
# held (it waits for its image of now, maybe parked).
_ON_ITS_WAY = (OutboxStatus.PENDING.value, OutboxStatus.SENT.value)


def request_keepalive_pings(
    session: Session,
    *,
    now: datetime,
    silence: timedelta,
    stores: frozenset[str] | None = None,
) -> list[str]:
    """Ask a Ping of every label on a gateway (of `stores`) last heard `silence` ago
    (`keep_in_sync_after`), with no frame on its way, no action asked of it since (one
    stamped later than `now`, on a host clock since set back, is not since) and
    fewer than `pings_before_giving_up(silence)` of these pings unanswered since it was
    last heard; and of every label not heard after a held flip (`_unheard_after_flips`);
    their ids."""
    since = now - silence
    unanswered_since_heard = (
        select(func.count())
        .select_from(LabelActionRow)
        .where(
            LabelActionRow.label_id == LabelRow.id,
            LabelActionRow.action == ActionKind.PING.value,
            LabelActionRow.requested_by == CONTROLLER,
            # Not a probe via another gateway (`label_moves.request_probes`): a replay's
            # goes unanswered by design, and is no ping of this silence.
            LabelActionRow.via_gateway.is_(None),
            LabelActionRow.status == ActionStatus.UNANSWERED.value,
            LabelActionRow.requested_at > LabelStateRow.last_seen,
        )
        .correlate(LabelRow, LabelStateRow)
        .scalar_subquery()
    )
    statement = (
        select(LabelRow.id)
        .join(LabelStateRow, LabelStateRow.label_id == LabelRow.id)
        .where(
            LabelRow.gateway.is_not(None),
            LabelRow.retired_at.is_(None),  # gone for good: nothing is sent to it
            LabelStateRow.last_seen.is_not(None),
            LabelStateRow.last_seen < since,
            _nothing_on_its_way(),
            _nothing_asked_since(since, now=now),
            unanswered_since_heard < pings_before_giving_up(silence),
        )
        .order_by(LabelStateRow.last_seen)
        .limit(_AT_ONCE)
    )
    if stores is not None:
        statement = statement.where(LabelRow.store.in_(stores))
    silent = list(session.scalars(statement))
    if len(silent) < _AT_ONCE:
        flipped = _unheard_after_flips(session, now=now, stores=stores, limit=_AT_ONCE)
        silent += [label_id for label_id in flipped if label_id not in set(silent)]
        del silent[_AT_ONCE:]
    request_own_actions(session, silent, ActionKind.PING, now=now)
    return silent


def _unheard_after_flips(
    session: Session, *, now: datetime, stores: frozenset[str] | None, limit: int
) -> list[str]:
    """The labels on a gateway (of `stores`) holding a timed flip whose instant passed
    `FLIP_CHECKED_AFTER` before `now`, with no frame on its way and no action asked of
    them since that instant: the oldest flips first, `limit` at most. The instant is the
    one the label holds (its clock's known offset is not applied: set within tolerance
    by SetClock; a ping answered before its clock reached the instant leaves the flip
    held, and the label to its keep-alive)."""
    statement = (
        select(LabelRow.id)
        .join(LabelStateRow, LabelStateRow.label_id == LabelRow.id)
        .where(
            LabelRow.gateway.is_not(None),
            LabelRow.retired_at.is_(None),
            LabelStateRow.held_display_at.is_not(None),
            LabelStateRow.held_display_at <= now - FLIP_CHECKED_AFTER,
            _nothing_on_its_way(),
            _nothing_asked_since(LabelStateRow.held_display_at, now=now),
        )
        .order_by(LabelStateRow.held_display_at)
        .limit(limit)
    )
    if stores is not None:
        statement = statement.where(LabelRow.store.in_(stores))
    return list(session.scalars(statement))


def _nothing_on_its_way() -> ColumnElement[bool]:
    """No frame of the label pending or sent: a frame on its way is contact enough."""
    return ~exists().where(OUTBOX.c.label_id == LabelRow.id, OUTBOX.c.status.in_(_ON_ITS_WAY))


def _nothing_asked_since(
    since: datetime | InstrumentedAttribute[datetime | None], *, now: datetime
) -> ColumnElement[bool]:
    """No action asked of the label since `since`; nor one asked while the host clock ran
    fast, since set back (`stamps_ahead`): it would hold pings off until real time passed
    its stamp, an hour and more."""
    return ~exists().where(
        and_(
            LabelActionRow.label_id == LabelRow.id,
            LabelActionRow.requested_at >= since,
            LabelActionRow.requested_at <= now + STAMPED_AHEAD_BEYOND,
        )
    )
