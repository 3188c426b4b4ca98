"""A simulated label whose display is changed behind the controller's back is caught when
it next reports its content hash: the real pipeline, the firmware simulator, the audit.

The pipeline does not call `record_label_content` yet, so this test records the content of
each label right after planning, the way the pipeline will: resolve, build the content,
render, hash (and checks the hash is the one the pipeline planned).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from esl.audit.gather import gather_audit
from esl.db.models import LabelStateRow
from gateways.base import Uplink
from rendering.cache import RenderCache
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from tests.audit.world import record_planned_content
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World


def classes(world: World) -> dict[str, AuditClass]:
    with world.sessions() as session:
        report = gather_audit(
            session,
            at=world.clock.now,
            now=world.clock.now,
            currency="PLN",
            stores=["S01"],
            locale="pl_PL",
        ).report
    return {v.label_id: v.audit_class for v in report.labels}


async def test_a_display_changed_behind_the_controllers_back_is_caught(engine: Engine) -> None:
    world = World.priced(engine, count=2)
    cache = RenderCache()
    world.controller.plan_due_work()
    with world.sessions.begin() as session:
        for label_id in world.labels:
            digest, _, _ = record_planned_content(session, cache, label_id, at=world.clock.now)
            state = session.get(LabelStateRow, label_id)
            assert state is not None
            assert state.desired_hash == digest  # what the pipeline itself rendered
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    assert set(classes(world).values()) == {AuditClass.MATCH}

    victim, bystander = sorted(world.labels)
    label = world.labels[victim]
    fake = LabelContent(sku="MLK-1", name="Mleko 3.2% 1 l", currency="PLN", price=Decimal("0.99"))
    forged = RenderCache().render(fake, model=get_display_model(label.hardware.model.id))
    label.shown, label.shown_hash = forged.planes, forged.content_hash
    # Its next check-in, a moment later (a claim is believed only when newer, in the
    # label's own clock, than the acknowledgement already held).
    world.clock.advance(timedelta(seconds=1))
    report = label.status_report(now=world.clock.now)
    assert report is not None
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])

    found = classes(world)
    assert found == {victim: AuditClass.UNKNOWN_CONTENT, bystander: AuditClass.MATCH}
