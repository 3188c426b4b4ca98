"""Labels kept in sync: a label that hears nothing valid for an hour leaves sync, and an
hour later forgets its key (the ESL Service's timeouts; `firmware_sim.label`).

An MQTT store gateway answers each check-in, which keeps its labels in sync. A real BLE
access point keeps its labels in sync with periodic advertising (PAwR), which the links
this system drives (bleak, bumble, over GATT) do not offer; between price changes
nothing else reaches them. So every label the controller has not heard from for
`KEEP_IN_SYNC` gets a signed Ping from the controller (a label action, requested by
`controller`): a valid frame, which the label counts as contact, and its answer is heard
(battery, signal). A label silent because it is gone is asked again only after another
`KEEP_IN_SYNC`: its unanswered pings say so in its action history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow, LabelStateRow
from esl.delivery_states import OPEN_STATUSES
from esl.pipeline.label_actions import ActionKind, request_own_actions
from esl.pipeline.outbox_rows import OUTBOX

__all__ = ["KEEP_IN_SYNC", "request_keepalive_pings"]

# Well inside the hour a label stays in sync without a valid message.
KEEP_IN_SYNC = timedelta(minutes=45)
_AT_ONCE = 500  # pings requested per look: a store gateway's radio takes them in turn


def request_keepalive_pings(
    session: Session, *, now: datetime, stores: frozenset[str] | None = None
) -> list[str]:
    """Ask a Ping of every label on a gateway (of `stores`) last heard `KEEP_IN_SYNC`
    ago, with no frame on its way and no action asked of it since; their ids."""
    since = now - KEEP_IN_SYNC
    statement = (
        select(LabelRow.id)
        .join(LabelStateRow, LabelStateRow.label_id == LabelRow.id)
        .where(
            LabelRow.gateway.is_not(None),
            LabelStateRow.last_seen.is_not(None),
            LabelStateRow.last_seen < since,
            ~exists().where(
                OUTBOX.c.label_id == LabelRow.id,
                OUTBOX.c.status.in_(tuple(status.value for status in OPEN_STATUSES)),
            ),
            ~exists().where(
                and_(LabelActionRow.label_id == LabelRow.id, LabelActionRow.requested_at >= since)
            ),
        )
        .order_by(LabelStateRow.last_seen)
        .limit(_AT_ONCE)
    )
    if stores is not None:
        statement = statement.where(LabelRow.store.in_(stores))
    silent = list(session.scalars(statement))
    request_own_actions(session, silent, ActionKind.PING, now=now)
    return silent
