"""The one definition of a label's state: `esl health`, the health API, the audit and the
demo all ask this module, with the thresholds of the one settings object.

Delivery (exactly one per label):

    unbound      bound to no product
    unplanned    bound, but no content could be worked out or drawn (no price, no gateway,
                 no key, a template of another size, an announcement its template cannot
                 draw lawfully, a render that failed): `reason` says why. Nothing brings
                 it the content due now (a frame still open carries an older plan) until
                 a plan succeeds again
    failed       an update is parked; `reason` says why (offline, flat battery, rejected,
                 refused by gateway…)
    pending      an update is due, in flight, waiting for a retry, or held behind the
                 image of now (a change planned ahead waits for the current image);
                 `reason`: what its store gateway reported about the last try, if anything.
                 Pending too with nothing open yet: its plan was forgotten to be worked
                 out again (the record corrected from the label's own word, a refresh),
                 or the label last reported another image than the one confirmed
                 (`displayed_hash`) with no timed image held: the controller knows the
                 panel differs and plans it again (next poll, or the periodic pass)
    scheduled    it confirmed a timed image it shows from a later instant (reached on its own
                 clock, when known off: `label_clocks`), nothing open
    up_to_date   it confirmed the content due now, nothing open

Conditions on top of that (a label may be both up to date and offline):

    offline      silent for `offline_after` or longer since it was last heard, its store
                 gateway is offline, or its update was parked because it never answered
                 (a label never heard yet is waiting for its first check-in: not offline
                 until its update parks; nor is one whose update its store gateway
                 refused for good, `refused by gateway`: that says nothing of its reach)
    low_battery  its last report says under `low_battery_mv`, or its update was parked
                 because it kept refusing for a flat battery

Pure: facts in, a verdict out; no database, no clock.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from esl.delivery_states import LabelStatus, OutboxStatus, ParkReason, park_text
from esl.services.panel_image import flip_instant
from esl.settings import Settings

__all__ = [
    "DeliveryFacts",
    "LabelCondition",
    "LabelStatus",
    "StatusThresholds",
    "classify_label_status",
    "is_low_battery",
    "is_offline",
]


@dataclass(frozen=True, slots=True)
class StatusThresholds:
    offline_after: timedelta = timedelta(minutes=30)
    # The simulated and common real labels stop refreshing at 2.4 V: warn a little before.
    low_battery_mv: int = 2_600

    @classmethod
    def from_settings(cls, settings: Settings) -> StatusThresholds:
        return cls(
            offline_after=timedelta(seconds=settings.label_offline_after_s),
            low_battery_mv=settings.label_low_battery_mv,
        )


class DeliveryFacts(NamedTuple):
    """What the pipeline records about one label (NamedTuple: built per label, in bulk)."""

    bound: bool
    desired_hash: str | None
    confirmed_hash: str | None
    desired_display_at: datetime | None
    open_statuses: Collection[str]  # statuses of its open outbox rows
    parked_reason: str | None  # a ParkReason
    last_seen: datetime | None
    battery_mv: int | None
    gateway_online: bool
    parked_detail: str | None = None  # what the reason leaves open (a reason code)
    # Whether planning has its desired content (`desired_key`); False: forgotten, to be
    # worked out again (`check_ins.reconcile`, `forget_desired`, a refresh).
    plan_known: bool = True
    displayed_hash: str | None = None  # the image the label last reported showing
    # Its clock minus the controller's, when known off (`label_clocks`): a timed image
    # flips when that clock reaches its instant.
    clock_offset_ms: int | None = None
    # Why planning could not work out or draw the content due now (`planning`), if so.
    unplanned_reason: str | None = None


class LabelCondition(NamedTuple):
    status: LabelStatus
    # failed: the parked reason, with its detail ("rejected: WRONG_MODEL"); pending: the
    # store gateway's report on the last try ("gateway: out of range ... at 12:01"), if
    # any; unplanned: why no content could be planned ("not drawn: ...")
    reason: str | None
    offline: bool
    low_battery: bool


def is_offline(
    *,
    last_seen: datetime | None,
    gateway_online: bool,
    parked_reason: str | None,
    now: datetime,
    thresholds: StatusThresholds,
) -> bool:
    return (
        (last_seen is not None and now - last_seen >= thresholds.offline_after)
        or not gateway_online
        or parked_reason == ParkReason.OFFLINE
    )


def is_low_battery(
    *, battery_mv: int | None, parked_reason: str | None, thresholds: StatusThresholds
) -> bool:
    return (
        battery_mv is not None and battery_mv < thresholds.low_battery_mv
    ) or parked_reason == ParkReason.FLAT_BATTERY


def _contradicted(facts: DeliveryFacts) -> bool:
    """The label last reported another image than the one the record confirms, and
    holds no timed image (it shows the image of now until its instant, the timed one
    after): what `check_ins.reconciliation_candidates` plans again."""
    return (
        facts.displayed_hash is not None
        and facts.displayed_hash != facts.confirmed_hash
        and facts.desired_display_at is None
    )


def classify_label_status(
    facts: DeliveryFacts, *, now: datetime, thresholds: StatusThresholds
) -> LabelCondition:
    """The label's delivery state and conditions; see the module docstring."""
    reason = None
    if not facts.bound:
        status = LabelStatus.UNBOUND
    elif facts.unplanned_reason is not None:
        # Before what is open: a frame still on its way carries an older plan, and no
        # update will bring the content due now until the reason is gone.
        status = LabelStatus.UNPLANNED
        reason = facts.unplanned_reason
    elif OutboxStatus.PARKED in facts.open_statuses:
        status = LabelStatus.FAILED
        reason = park_text(facts.parked_reason, facts.parked_detail) or "unknown"
    elif facts.open_statuses:
        status = LabelStatus.PENDING
        reason = facts.parked_detail  # a store gateway's word on why no answer came yet
    elif facts.desired_hash is not None and (not facts.plan_known or _contradicted(facts)):
        # Never "up to date" on a record the label itself contradicted: a reconciled
        # record confirms what the label shows until the next poll plans what is due,
        # and a reported panel the record has not taken waits for the periodic pass.
        status = LabelStatus.PENDING
    elif facts.desired_hash is None or facts.desired_hash != facts.confirmed_hash:
        status = LabelStatus.UNPLANNED
    elif (
        facts.desired_display_at is not None
        and flip_instant(facts.desired_display_at, facts.clock_offset_ms) > now
    ):
        status = LabelStatus.SCHEDULED
    else:
        status = LabelStatus.UP_TO_DATE
    return LabelCondition(
        status,
        reason,
        is_offline(
            last_seen=facts.last_seen,
            gateway_online=facts.gateway_online,
            parked_reason=facts.parked_reason,
            now=now,
            thresholds=thresholds,
        ),
        is_low_battery(
            battery_mv=facts.battery_mv, parked_reason=facts.parked_reason, thresholds=thresholds
        ),
    )
