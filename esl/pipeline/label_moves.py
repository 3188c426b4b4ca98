"""A label that moved into another store gateway's range: its frames follow it there.

A larger store runs several gateways (docs/gateways.md), and a label is registered on
the one whose provisioning file listed it first. Shelves are rearranged: a label can end
up in reach of another gateway of its store only. Every frame the controller signs for
it goes out through `labels.gateway`, so without a move it got none of them, while its
check-ins, relayed by the other gateway, kept saying it was alive: an update sent,
parked as unreachable, revived by the next check-in, sent to the same gateway again, for
ever.

So a label moves to the gateway that relays its newest word:

- a verified answer or check-in newer than every claim held for the label
  (`answer_acceptance`; settlement calls `move_labels` with those alone), arriving via
  another registered gateway of the label's own store, moves it. A replayed or duplicated
  answer, and a check-in older than a claim held, moves nothing: whoever holds a
  gateway's login can publish captured answers again, never make an old one newer. An
  answer via a gateway of another store never gets here (`verification`: a security
  event);
- a verified check-in via another such gateway that is *older* than a claim held is
  either a replay or the label itself with its clock gone back (a new battery: the
  sequence count is kept in flash, the clock restarts), and nothing in it tells the two
  apart. It moves nothing; it asks the label, via that gateway, for a ping
  (`request_probes`, a label action with `via_gateway`, at most one an hour per label
  and gateway, so a replay via one gateway never holds off the probe via another):
  a sequence signed after the check-in arrived, which only the label can answer. Its
  answer is newer than every claim held and moves it (above); a replay's probe is not
  answered (the label is not there), and nothing moves. Before, such a label's
  check-ins via the new gateway were refused as older for ever, and its updates went
  via the old gateway, which could not reach it: `stale` for good;
- a provisioning file of another gateway of the store listing the label with its key
  moves it too (`provisioning`);
- a BLE label stays: it is bonded to one gateway's adapter (`ble_label_inventory`), and
  only associating it again moves it; so does a label on no gateway (unassociated: its
  last answers, relayed after, must not put it back).

A move re-points the label's open frames (pending, sent, parked, held) to the new
gateway. Settlement also makes them due at once: a frame in flight via the old gateway
goes out again via the new one (the label takes a sequence once: a copy it already took
is answered as a duplicate, never acted on twice), and one parked as unreachable, for
a flat battery or refused by the old gateway is sent again as its label was heard.
Each move is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from esl.db.ble_models import BleLabelInventoryRow
from esl.db.console_models import LabelActionRow
from esl.db.models import GatewayRow, LabelRow
from esl.db.repositories import in_chunks
from esl.delivery_states import OPEN_STATUSES, OutboxStatus, ParkReason
from esl.pipeline.action_kinds import ActionKind, ActionStatus
from esl.pipeline.label_actions import CONTROLLER
from esl.pipeline.outbox_rows import OUTBOX, unparked
from esl.pipeline.stamps_ahead import STAMPED_AHEAD_BEYOND

__all__ = ["PROBE_AGAIN_AFTER", "LabelMove", "bonded_gateways", "move_labels", "request_probes"]

log = logging.getLogger(__name__)

_OPEN = tuple(status.value for status in OPEN_STATUSES)
# Parked for these, a frame is worth another try via the gateway that hears the label:
# one the old gateway refused for good too (`not in this gateway's label file` is what a
# label moved to another gateway's shelves and label file gets from the old one).
_UNREACHED = (
    ParkReason.OFFLINE.value,
    ParkReason.FLAT_BATTERY.value,
    ParkReason.REFUSED_BY_GATEWAY.value,
)
# A probe takes a sequence number and a label's battery: a replay published again and
# again via another gateway must not make the controller ask at every check-in.
PROBE_AGAIN_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class LabelMove:
    label_id: str
    store: str
    old_gateway: str | None
    new_gateway: str
    frames: int  # open frames re-pointed


def bonded_gateways(session: Session, label_ids: list[str]) -> dict[str, str]:
    """The BLE labels among `label_ids` and the gateway each is bonded to."""
    found: dict[str, str] = {}
    for chunk in in_chunks(sorted(label_ids)):
        for label_id, gateway in session.execute(
            select(BleLabelInventoryRow.label_id, BleLabelInventoryRow.gateway).where(
                BleLabelInventoryRow.label_id.in_(chunk)
            )
        ):
            found[label_id] = gateway
    return found


def move_labels(
    session: Session,
    heard_via: Mapping[str, tuple[str, str]],
    *,
    now: datetime,
    release_flight: Callable[[str, int, int], None] | None = None,
) -> list[LabelMove]:
    """Move each label of `heard_via` (label -> the store and gateway its newest believed
    word came through) that is registered on another gateway of that store; the moves.

    With `release_flight` (the dispatcher's, settlement calls it so) a frame in flight via
    the old gateway is freed from that gateway's window and sent again via the new one at
    once; without it (an import, outside the dispatcher), it stays sent and goes via the
    new gateway when its answer is overdue. Either way parked-as-unreachable frames are
    due again."""
    moves: list[LabelMove] = []
    for label_id, (store, old, gateway) in sorted(_movable(session, heard_via).items()):
        session.execute(update(LabelRow).where(LabelRow.id == label_id).values(gateway=gateway))
        frames = _repoint_frames(session, label_id, gateway, now=now, release_flight=release_flight)
        moves.append(LabelMove(label_id, store, old, gateway, frames))
        log.info(
            "label %s of store %s moved from gateway %s to %s (its newest word came via %s): "
            "%d open frame(s) go via %s",
            label_id,
            store,
            old,
            gateway,
            gateway,
            frames,
            gateway,
        )
    return moves


def request_probes(
    session: Session, heard_via: Mapping[str, tuple[str, str]], *, now: datetime
) -> list[str]:
    """Ask each label of `heard_via` (label -> the store and gateway a verified check-in
    older than a claim held came through) that a move to that gateway would take there
    for a ping via it, unless it was probed via that gateway within `PROBE_AGAIN_AFTER`;
    the labels asked.

    The check-in is a replay or the label with its clock gone back; the ping's answer,
    to a sequence signed after it, can only be the label's, and moves it
    (`move_labels`)."""
    movable = _movable(session, heard_via)
    if not movable:
        return []
    # A retired label is asked nothing (`label_actions.request_own_actions`).
    retired = set(
        session.scalars(
            select(LabelRow.id).where(
                LabelRow.id.in_(sorted(movable)), LabelRow.retired_at.is_not(None)
            )
        )
    )
    # The budget is per label and gateway: a probe via one gateway, unanswered because a
    # replay sent it there, must not hold off the probe via the gateway the label really
    # is at (whoever replays every hour would keep it on the old price for good). The
    # probes of a label stay bounded by its store's gateways, one an hour each.
    probed = {
        (label_id, gateway)
        for label_id, gateway in session.execute(
            select(LabelActionRow.label_id, LabelActionRow.via_gateway).where(
                LabelActionRow.label_id.in_(sorted(movable)),
                LabelActionRow.via_gateway.is_not(None),
                LabelActionRow.requested_at > now - PROBE_AGAIN_AFTER,
                # One asked on a clock since set back (NTP) does not hold the next off
                # for the hours the clock ran ahead (`stamps_ahead`).
                LabelActionRow.requested_at <= now + STAMPED_AHEAD_BEYOND,
            )
        )
    }
    asked: list[str] = []
    for label_id, (store, old, gateway) in sorted(movable.items()):
        if label_id in retired or (label_id, gateway) in probed:
            continue
        session.add(
            LabelActionRow(
                label_id=label_id,
                action=ActionKind.PING.value,
                status=ActionStatus.REQUESTED.value,
                requested_by=CONTROLLER,
                requested_at=now,
                via_gateway=gateway,
            )
        )
        asked.append(label_id)
        log.info(
            "label %s of store %s (on gateway %s) checked in via gateway %s older than the "
            "claim held (its clock went back, or a replay): asked for a ping via %s",
            label_id,
            store,
            old,
            gateway,
            gateway,
        )
    return asked


def _movable(
    session: Session, heard_via: Mapping[str, tuple[str, str]]
) -> dict[str, tuple[str, str, str]]:
    """The labels of `heard_via` a word via that gateway would move: label -> (its
    store, the gateway it is on, the one it was heard via). Not one registered on that
    gateway already, on none (taken off on purpose: a BLE label unassociated, not
    roaming), of another store, bonded (a BLE label), nor heard via a gateway
    never registered (nothing could send to it)."""
    if not heard_via:
        return {}
    registered: dict[str, tuple[str, str | None]] = {}
    for chunk in in_chunks(sorted(heard_via)):
        for label_id, store, gateway in session.execute(
            select(LabelRow.id, LabelRow.store, LabelRow.gateway).where(LabelRow.id.in_(chunk))
        ):
            registered[label_id] = (store, gateway)
    wanted = {
        label_id: via
        for label_id, via in heard_via.items()
        if label_id in registered
        and registered[label_id][0] == via[0]
        and registered[label_id][1] not in (None, via[1])
    }
    if not wanted:
        return {}
    gateway_stores: dict[str, str] = {}
    for gateway_id, gateway_store in session.execute(
        select(GatewayRow.id, GatewayRow.store).where(
            GatewayRow.id.in_(sorted({gateway for _, gateway in wanted.values()}))
        )
    ):
        gateway_stores[gateway_id] = gateway_store
    bonded = bonded_gateways(session, sorted(wanted))
    movable: dict[str, tuple[str, str, str]] = {}
    for label_id, (store, gateway) in wanted.items():
        old = registered[label_id][1]
        if gateway_stores.get(gateway) == store and label_id not in bonded and old is not None:
            movable[label_id] = (store, old, gateway)
    return movable


def _repoint_frames(
    session: Session,
    label_id: str,
    gateway: str,
    *,
    now: datetime,
    release_flight: Callable[[str, int, int], None] | None,
) -> int:
    rows = session.execute(
        select(OUTBOX.c.id, OUTBOX.c.sequence, OUTBOX.c.status, OUTBOX.c.parked_reason).where(
            OUTBOX.c.label_id == label_id, OUTBOX.c.status.in_(_OPEN)
        )
    ).all()
    for row_id, sequence, status, parked_reason in rows:
        values: dict[str, object] = {"gateway": gateway}
        if status == OutboxStatus.SENT.value and release_flight is not None:
            release_flight(label_id, sequence, row_id)
            values.update(status=OutboxStatus.PENDING.value, not_before=now)
        elif status == OutboxStatus.PARKED.value and parked_reason in _UNREACHED:
            values.update(unparked(now))
        session.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(**values))
    return len(rows)
