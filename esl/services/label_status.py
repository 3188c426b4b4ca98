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
                 (`displayed_hash`) with no timed image held, or said so after the
                 instant of the timed image confirmed ("said after its flip at HH:MM
                 UTC that it shows another image": it skipped the flip, a battery
                 sagged below a refresh): the controller knows the panel differs and
                 plans it again (next poll, or the periodic pass). Pending too, a
                 label holding a timed image whose instant passed on its clock, not
                 heard since ("not heard since its flip at HH:MM UTC"): the flip is
                 counted, not confirmed, until its word (a check-in, or the ping
                 `label_keepalive` sends) says what it shows
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
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from esl.delivery_states import LabelStatus, OutboxStatus, ParkReason, park_text
from esl.services.panel_image import flip_instant, said_not_flipped
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
    # The instant of the timed image the label holds (`held_flips`; None: none held).
    held_display_at: datetime | None = None


class LabelCondition(NamedTuple):
    status: LabelStatus
    # failed: the parked reason, with its detail ("rejected: WRONG_MODEL"); pending: the
    # store gateway's report on the last try ("gateway: out of range ... at 12:01"), if
    # any, or a timed flip not heard since or denied by the label ("not heard since its
    # flip at 10:20 UTC"); unplanned: why no content could be planned ("not drawn: ...")
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


def _contradicted(facts: DeliveryFacts, *, now: datetime) -> bool:
    """The label last reported another image than the one the record confirms, and
    holds no timed image (it shows the image of now until the instant, the timed one
    after), or said so after the instant of the timed image confirmed (it skipped the
    flip): what `check_ins.reconciliation_candidates` plans again."""
    if facts.displayed_hash is None or facts.displayed_hash == facts.confirmed_hash:
        return False
    return facts.desired_display_at is None or said_not_flipped(
        confirmed=facts.confirmed_hash,
        displayed=facts.displayed_hash,
        display_at=facts.desired_display_at,
        held_at=facts.held_display_at,
        at=now,
        clock_offset_ms=facts.clock_offset_ms,
    )


def _flip_unheard_since(facts: DeliveryFacts, *, now: datetime) -> datetime | None:
    """The instant a timed image the label holds flipped at, by its clock, when that has
    passed and the label was not heard since (`esl.services.panel_image`: counted as
    shown, not confirmed); None otherwise."""
    if facts.held_display_at is None:
        return None
    flipped_at = flip_instant(facts.held_display_at, facts.clock_offset_ms)
    return flipped_at if flipped_at <= now else None


def _at(instant: datetime) -> str:
    return f"{instant.astimezone(UTC):%H:%M} UTC"


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
    elif facts.desired_hash is not None and (not facts.plan_known or _contradicted(facts, now=now)):
        # Never "up to date" on a record the label itself contradicted: a reconciled
        # record confirms what the label shows until the next poll plans what is due,
        # and a reported panel the record has not taken waits for the periodic pass.
        status = LabelStatus.PENDING
        if facts.plan_known and facts.desired_display_at is not None:
            flipped_at = flip_instant(facts.desired_display_at, facts.clock_offset_ms)
            reason = f"said after its flip at {_at(flipped_at)} that it shows another image"
    elif facts.desired_hash is None or facts.desired_hash != facts.confirmed_hash:
        status = LabelStatus.UNPLANNED
    elif (unheard := _flip_unheard_since(facts, now=now)) is not None:
        # Counted, not heard: a label whose battery sagged below a refresh skips the
        # flip and keeps the image before (the audit: `unconfirmed`).
        status = LabelStatus.PENDING
        reason = f"not heard since its flip at {_at(unheard)}"
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
