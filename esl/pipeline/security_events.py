"""Security events: evidence that someone forged or altered what travels to or from labels.

Four things can only happen when a message was forged, changed or misrouted on its way:

- an uplink whose MAC does not verify with its label's key (`forged answer`): a rogue
  client on the broker, or a relay that damages what it carries;
- a label's signed refusal of a frame the controller itself signed, for a reason an
  unaltered frame can never earn (`tampered frame`): `BAD_MAC`, `WRONG_LABEL`,
  `MALFORMED_FRAME` or `UNSUPPORTED_VERSION`. The frame was altered, or displaced by a
  forged copy with the same label and sequence, between the controller and the label;
- a label counting further than every frame the record signed for it (`sequence ahead of
  record`): the database lost frames it signed (commits lost, a restore), or its key
  signed frames elsewhere;
- a label's genuine answer published on another store's `up` topic (`answer via another
  store`): that store's gateway login relays what it captured of this store's traffic.

Each is logged at warning level and written to `security_events` in the transaction that
handles it; `esl health` and `GET /api/v1/security/events` report them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import SecurityEventRow, core_table
from gateways.base import Uplink

__all__ = ["SecurityEvent", "SecurityEventKind", "record_security_events"]

_TABLE = core_table(SecurityEventRow)


class SecurityEventKind(StrEnum):
    FORGED_ANSWER = "forged answer"
    TAMPERED_FRAME = "tampered frame"
    # A label's check-in counts further than every frame the record signed for it: frames
    # signed with its key are missing from the database (commits lost, a restore) or were
    # signed elsewhere.
    SEQUENCE_AHEAD = "sequence ahead of record"
    # Signed by the label, but on the topic of a store it does not belong to: only that
    # store's gateway login (or the broker) can publish there.
    OTHER_STORE = "answer via another store"


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    at: datetime
    kind: SecurityEventKind
    store: str | None
    gateway: str | None
    label_id: str | None
    sequence: int | None
    detail: str

    @classmethod
    def on_uplink(
        cls,
        uplink: Uplink,
        kind: SecurityEventKind,
        *,
        label_id: str,
        sequence: int | None,
        detail: str,
        at: datetime,
    ) -> SecurityEvent:
        """An event heard on `uplink`: its store and gateway are where it came from."""
        return cls(at, kind, uplink.store, uplink.gateway, label_id, sequence, detail)


def record_security_events(session: Session, events: Iterable[SecurityEvent]) -> int:
    """Append `events` to `security_events`; how many were written."""
    rows = [
        {**asdict(event), "kind": event.kind.value, "detail": event.detail[:256]}
        for event in events
    ]
    insert_rows(session, _TABLE, rows)
    return len(rows)
