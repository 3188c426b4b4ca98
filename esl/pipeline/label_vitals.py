"""Battery and signal over time, written by settlement in its own transaction.

Every verified answer and check-in carries the label's battery, RSSI and link quality
(whatever the transport: MQTT store gateways, BLE, OpenEPaperLink access points fill
the same uplink fields). `label_states` holds only the newest; this keeps a sample
history, bounded on two sides:

- at most one sample per label per `VitalsSampling.every` (labels check in every ~40 s:
  keeping every report would be the biggest table of all, and a battery moves in days),
  except that a newest sample later than the report's arrival (`stamps_ahead`: taken
  while the host clock ran fast, since set back) is followed by one at once;
- when a label gets a sample, its samples older than `keep` are deleted: a label has at
  most `keep / every + 1` rows, whatever runs or stops.

Which labels were sampled when is cached (and read from the table on a label's first
sample after start), so a batch without a sample due costs no query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from esl.db.models import core_table
from esl.db.repositories import in_chunks
from esl.db.vitals_models import LabelVitalsRow
from esl.pipeline.stamps_ahead import stamped_ahead
from gateways.protocol import LabelResponse

__all__ = ["VitalSign", "VitalsRecorder", "VitalsSampling", "vital_sign"]

_TABLE = core_table(LabelVitalsRow)
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class VitalsSampling:
    """How often a label's health is kept, and how long (the settings
    `ESL_LABEL_VITALS_EVERY_S`, `ESL_LABEL_VITALS_KEEP_DAYS`)."""

    every: timedelta = timedelta(hours=1)
    keep: timedelta = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class VitalSign:
    """What one believed report said about the label's health, and when it arrived."""

    label_id: str
    at: datetime
    battery_mv: int
    rssi_dbm: int
    lqi: int | None


def vital_sign(response: LabelResponse, at: datetime) -> VitalSign:
    return VitalSign(
        label_id=response.label_id,
        at=at,
        battery_mv=response.battery_mv,
        rssi_dbm=response.rssi_dbm,
        lqi=response.lqi,
    )


class VitalsRecorder:
    """Writes the samples due; `committed` is called once their transaction committed."""

    def __init__(self, sampling: VitalsSampling) -> None:
        self.sampling = sampling
        self._last: dict[str, datetime] = {}  # label -> its newest sample (_NEVER: none)
        self._written: dict[str, datetime] = {}

    def record(self, session: Session, heard: Mapping[str, VitalSign]) -> int:
        """Write a sample for each label in `heard` whose last one is old enough; delete
        its samples past keeping. How many samples were written."""
        self._written = {}  # a batch rolled back before: its samples were not kept
        if not heard:
            return 0
        self._load_unknown(session, [label for label in heard if label not in self._last])
        due = [
            sign for label, sign in heard.items() if self._due(sign, self._last.get(label, _NEVER))
        ]
        if not due:
            return 0
        # Few rows (one per label per interval): the plain insert, whose instants compare
        # with the readers' on SQLite (the bulk writer's text form drops the microseconds).
        session.execute(
            insert(_TABLE),
            [
                {
                    "label_id": sign.label_id,
                    "at": sign.at,
                    "battery_mv": sign.battery_mv,
                    "rssi_dbm": sign.rssi_dbm,
                    "lqi": sign.lqi,
                }
                for sign in due
            ],
        )
        cutoff = max(sign.at for sign in due) - self.sampling.keep
        for chunk in in_chunks(sorted(sign.label_id for sign in due)):
            session.execute(
                delete(_TABLE).where(_TABLE.c.label_id.in_(chunk), _TABLE.c.at < cutoff)
            )
        self._written = {sign.label_id: sign.at for sign in due}
        return len(due)

    def _due(self, sign: VitalSign, newest: datetime) -> bool:
        """Whether `sign` is kept, the label's newest sample taken at `newest`: one
        interval after it, or at once when it lies ahead of the report's arrival (taken
        while the host clock ran fast, since set back: waiting an interval after it kept
        no history until real time caught up with it, an hour and more)."""
        return sign.at - newest >= self.sampling.every or stamped_ahead(newest, now=sign.at)

    def committed(self) -> None:
        """The samples of the last `record` are in the database."""
        self._last.update(self._written)
        self._written = {}

    def _load_unknown(self, session: Session, labels: list[str]) -> None:
        for chunk in in_chunks(sorted(labels)):
            rows = session.execute(
                select(_TABLE.c.label_id, func.max(_TABLE.c.at))
                .where(_TABLE.c.label_id.in_(chunk))
                .group_by(_TABLE.c.label_id)
            )
            newest: dict[str, datetime] = {}
            for label, at in rows:
                newest[label] = at
            for label in chunk:
                self._last[label] = newest.get(label, _NEVER)
