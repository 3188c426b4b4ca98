"""A store gateway refusing a frame for good (a gateway report flagged FINAL: its
poison-frame guard's `failed on this frame 3 times, gave up`, `not in this gateway's
label file`) parks the update at once as `refused by gateway`, with the gateway's words.

Before, the controller took every give-up as silence: it sent the frame again with its
backoff (refused again each time), parked it as `offline: gateway: ...` once its attempts
ran out, and every check-in or "within reach again" revived it for another round of
refusals; `esl health`, the API and the audit counted a label that answers every
check-in as offline, a visit to the shelf for what is the gateway's refusal.

Real parts: the controller as `esl controller` builds it, on SQLite and PostgreSQL, the
simulated labels behind the in-memory gateway, the reports as the store gateway's own
code writes them (`gateways.store_gateway.reports`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from esl.delivery_states import LabelStatus
from esl.services.health import label_conditions
from gateways.base import Uplink
from gateways.protocol import GatewayReport, ReportFlag, encode_gateway_report, peek_header
from gateways.store_gateway.reports import failed_every_try_report, not_in_label_file_report
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures
from tests.support.pipeline import publish_prices
from tests.support.two_gateways import rounds, two_gateway_world

REFUSED = "refused by gateway"  # the parked reason, as `esl health` shows it
RefusalReport = Callable[..., bytes]  # (label_id, sequence, *, now): a FINAL report


async def _sent_update(world: World, label_id: str, price: str) -> int:
    """`price` published, planned and sent to `label_id`: the frame's sequence."""
    publish_prices(world.sessions, {"MLK-1": price}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    [frame] = [d for d in world.gateway.take() if d.label_id == label_id]
    return peek_header(frame.payload).sequence


async def _refused_by_gw1(world: World, label_id: str, refusal: RefusalReport) -> datetime:
    """`label_id`'s update to 3.79 sent, and gw1's report refusing that frame for good
    (`refusal` of the label, the frame's sequence, `now=`) taken: when it was made."""
    sequence = await _sent_update(world, label_id, "3.79")
    at = world.clock.now
    world.dispatcher.settle([Uplink("S01", "gw1", refusal(label_id, sequence, now=at), at)])
    return at


def _parked(world: World, label_id: str) -> tuple[str, int, str | None, str | None]:
    with world.sessions() as session:
        row = session.execute(
            select(
                OutboxRow.status,
                OutboxRow.attempts,
                OutboxRow.parked_reason,
                OutboxRow.parked_detail,
            ).where(
                OutboxRow.label_id == label_id,
                OutboxRow.status.in_(("pending", "sent", "parked")),
            )
        ).one()
    return row.status, row.attempts, row.parked_reason, row.parked_detail


async def _sends_after(world: World, label_id: str, uplink: Uplink) -> int:
    """`uplink` taken, then a controller round past every backoff: frames sent to `label_id`."""
    world.dispatcher.settle([uplink])
    world.clock.advance(timedelta(minutes=5))
    world.controller.plan_due_work()
    await world.send_due()
    return len([d for d in world.gateway.take() if d.label_id == label_id])


def _reachable(label_id: str, at: datetime) -> Uplink:
    report = GatewayReport(
        label_id=label_id,
        sequence=0,
        at=at,
        detail="within reach again",
        flags=ReportFlag.REACHABLE,
    )
    return Uplink("S01", "gw1", encode_gateway_report(report), at)


async def test_a_frame_the_gateway_failed_on_every_time_parks_at_once_as_refused(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    [label_id] = world.labels
    at = await _refused_by_gw1(world, label_id, partial(failed_every_try_report, tries=3))

    # Parked at once, on its one attempt, with the gateway's words and when (UTC).
    detail = f"failed on this frame 3 times, gave up at {at:%H:%M} UTC"
    assert _parked(world, label_id) == ("parked", 1, REFUSED, detail)
    with world.sessions() as session:
        [condition] = [
            row.condition
            for row in label_conditions(session, now=world.clock.now, label_ids=[label_id])
        ]
    assert condition.status is LabelStatus.FAILED
    assert condition.reason == f"refused by gateway: {detail}"
    assert not condition.offline, "a label answering its check-ins is not offline"
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "stale", verdict
    assert f"refused by gateway: {detail}" in verdict.reason
    async with world.admin_api() as api:
        (health,) = (await api.get("/api/v1/health/labels")).json()
    assert (health["failed"], health["offline"], health["failures"]) == (
        1,
        0,
        {f"{REFUSED}: {detail}": 1},
    )

    # The gateway would refuse the same frame again: neither the label's check-in nor
    # the gateway's "within reach again" sends it.
    assert await _sends_after(world, label_id, world.check_in(label_id)) == 0
    assert await _sends_after(world, label_id, _reachable(label_id, world.clock.now)) == 0
    assert _parked(world, label_id) == ("parked", 1, REFUSED, detail)

    # Newer content replaces it, as it does any parked update, and is delivered.
    publish_prices(world.sessions, {"MLK-1": "3.99"}, now=world.clock.now)
    await world.converge()
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"


async def test_a_label_put_back_in_the_label_file_takes_its_price_on_a_refresh(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    [label_id] = world.labels
    at = await _refused_by_gw1(world, label_id, not_in_label_file_report)
    detail = f"not in this gateway's label file at {at:%H:%M} UTC"
    assert _parked(world, label_id) == ("parked", 1, REFUSED, detail)
    # Put back in the file, the label checks in again: that alone sends nothing (the
    # controller cannot tell it from a label the gateway still refuses)...
    assert await _sends_after(world, label_id, world.check_in(label_id)) == 0

    # ...the operator's `esl label refresh` does: its image is planned and sent again.
    action = world.ask_refresh(label_id)
    for _ in range(20):
        world.controller.plan_due_work()
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
        if world.action_outcome(action)[0] == "answered":
            break
        world.clock.advance(timedelta(seconds=5))
    assert world.action_outcome(action)[0] == "answered", world.action_outcome(action)
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"


async def test_a_refused_update_goes_again_via_the_gateway_the_label_moved_to(
    engine: Engine,
) -> None:
    """`not in this gateway's label file` as the label went to gw2's shelves (and file):
    its check-in via gw2 moves it there, and the update gw1 refused goes out via gw2."""
    world, label_id = await two_gateway_world(engine)
    await _refused_by_gw1(world, label_id, not_in_label_file_report)
    assert _parked(world, label_id)[2] == REFUSED
    through = await rounds(world, label_id, 3, reaches="gw2")
    assert through == ["gw2"], (through, world.rows(label_id))
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"
