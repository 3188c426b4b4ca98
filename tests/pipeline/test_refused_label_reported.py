"""A label the controller cannot draw keeps the image it shows (docs/templates.md: "The
controller leaves such a label out of its plan (logged as unplannable, it keeps the image
it shows)"); health must then not call it up to date (docs/pipeline.md, Health:
`unplanned`, "bound, but no content could be worked out or drawn"; docs/templates.md: a
template of another size class "is reported `unplanned` with the reason in `esl
health`"). The reason is the state's (`label_states.unplanned_reason`) until the label is
planned again: health, the API, `esl health`, the console and the audit name it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.cli import app as cli_app
from esl.db.engine import session_factory
from esl.services.health import label_conditions, label_health
from esl.services.keys import Role, create_key
from esl.services.label_status import LabelCondition, LabelStatus
from esl.services.labels import bind_label
from esl.services.templates import save_template
from esl.settings import Settings
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.pipeline.test_templates import _price_only
from tests.pipeline.test_unlawful_template import OVERLAPPING
from tests.support.audit import audit_by_label
from tests.support.pipeline import ADMIN, publish, publish_prices

REFUSED = "not drawn: label not drawn, it would announce a reduction unlawfully"


def _condition(world: World, label_id: str) -> LabelCondition:
    with world.sessions() as session:
        rows = list(label_conditions(session, now=world.clock.now, label_ids=[label_id]))
    ((_, _, condition, _, _),) = rows
    return condition


def _status(world: World, label_id: str) -> LabelStatus:
    return _condition(world, label_id).status


async def _console_state(world: World, label_id: str) -> str:
    """The state the console's label page shows, signed in with a store key."""
    with world.sessions.begin() as session:
        _, key = create_key(session, name="shelf", role=Role.STORE, store="S01", now=T0)
    app = create_app(Settings(currency="PLN"), engine=world.engine, clock=world.clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://esl") as console:
        signed_in = await console.post("/ui/sign-in", data={"api_key": key})
        assert signed_in.status_code in (200, 303), signed_in.text
        page = await console.get(f"/ui/labels/{label_id}")
    found = re.search(r'id="label-state">([^<]*)<', page.text)
    assert found is not None, page.text
    return found.group(1)


async def _milk_on_a_template_that_cannot_announce(engine: Engine) -> tuple[World, str, str]:
    """MLK-1 at 3.49 (2.99 twenty days ago) on two labels, one bound to a template whose
    badge covers the prior-price line (it cannot announce a reduction lawfully), both
    showing 3.49: the world, that label and the other."""
    sessions = session_factory(engine)
    publish_prices(sessions, {**PRICES_A, "MLK-1": "2.99"}, now=T0 - timedelta(days=20))
    publish_prices(sessions, {"MLK-1": "3.49"}, now=T0 - timedelta(days=10))
    world = World(engine, count=2)
    refused, other = sorted(world.labels)
    with world.sessions.begin() as session:
        save_template(session, name="strip", definition=OVERLAPPING, by="admin", now=T0)
        bind_label(
            session, principal=ADMIN, label_id=refused, sku="MLK-1", template="strip", now=T0
        )
    await world.converge()
    return world, refused, other


async def test_a_label_whose_reduction_is_refused_is_not_reported_up_to_date(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    world, refused, other = await _milk_on_a_template_that_cannot_announce(engine)
    assert _status(world, refused) is LabelStatus.UP_TO_DATE  # 3.49 shown and due

    world.clock.advance(timedelta(minutes=1))
    items = [{"action": "upsert_promotion", "promotion_id": "WEEK-20", "name": "-20%",
              "kind": "percent_off", "percent": "20", "skus": ["MLK-1"]}]  # fmt: skip
    publish(world.sessions, items, now=world.clock.now, title="milk week")
    world.controller.plan_due_work()
    await world.converge()

    # The till charges 2.79 now; the panel still shows 3.49 (the reduction was refused).
    verdict = audit_by_label(world.sessions, world.clock.now)[refused]
    assert verdict.audit_class.is_mismatch, verdict.reason
    condition = _condition(world, refused)
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
    assert condition.status is not LabelStatus.UP_TO_DATE, (
        f"health says {condition.status.value} for a label showing 3.49 while 2.79 is due "
        f"(audit: {verdict.audit_class.value}: {verdict.reason})"
    )
    assert condition.status is LabelStatus.UNPLANNED
    assert condition.reason is not None
    assert condition.reason.startswith(REFUSED)
    assert health.unplanned == 1, health
    assert health.up_to_date == 1, health  # the other label got 2.79
    assert _status(world, other) is LabelStatus.UP_TO_DATE
    assert health.unplanned_reasons == {condition.reason: 1}
    # The audit says why no update comes, not that none was planned.
    assert verdict.reason.startswith("shows 3.49 PLN, due 2.79; the controller cannot plan it: ")
    assert REFUSED in verdict.reason
    assert "no update planned" not in verdict.reason

    # The API's health, `esl health` and the console say it too.
    async with world.admin_api() as api:
        (from_api,) = (await api.get("/api/v1/health/labels")).json()
    assert from_api["unplanned"] == 1
    assert from_api["unplanned_reasons"] == {condition.reason: 1}
    monkeypatch.setenv("ESL_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    (from_cli,) = json.loads(CliRunner().invoke(cli_app, ["health", "--json"]).output)["stores"]
    assert (from_cli["unplanned"], from_cli["unplanned_reasons"]) == (1, {condition.reason: 1})
    table = CliRunner().invoke(cli_app, ["health"])
    assert table.exit_code == 0, table.output
    assert "unplanned because" in table.output
    assert f"1 x {REFUSED}" in table.output
    assert (await _console_state(world, refused)).startswith(f"unplanned: {REFUSED}")

    # Planned again (the promotion ended: 3.49 is due, which it shows): the reason goes.
    world.clock.advance(timedelta(minutes=1))
    ended = [{"action": "end_promotion", "promotion_id": "WEEK-20"}]
    publish(world.sessions, ended, now=world.clock.now, title="milk week ends")
    world.controller.plan_due_work()
    await world.converge()
    assert _condition(world, refused) == _condition(world, other)
    assert _status(world, refused) is LabelStatus.UP_TO_DATE
    assert world.state(refused).unplanned_reason is None
    assert audit_by_label(world.sessions, world.clock.now)[refused].audit_class.value == "match"


async def test_a_label_bound_to_a_template_of_another_size_is_reported_unplanned(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    label_id = sorted(world.labels)[0]
    await world.converge()
    with world.sessions.begin() as session:
        poster = {**_price_only(0.7), "size_class": "large"}
        save_template(session, name="poster", definition=poster, by="test", now=T0)
    world.bind_to_template(label_id, "poster")
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "4.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.converge()
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.is_mismatch, verdict.reason  # the panel still shows 3.49
    condition = _condition(world, label_id)
    assert condition.status is LabelStatus.UNPLANNED, (health, verdict.reason)
    assert condition.reason is not None
    assert "large" in condition.reason, condition.reason
    assert (health.up_to_date, health.unplanned) == (1, 1)
    assert f"cannot plan it: {condition.reason}" in verdict.reason

    # Bound to a template of its size again: planned, drawn, the reason gone.
    world.bind_to_template(label_id, "standard")
    await world.converge()
    assert _status(world, label_id) is LabelStatus.UP_TO_DATE
    assert world.state(label_id).unplanned_reason is None
    assert audit_by_label(world.sessions, world.clock.now)[label_id].shows_due


async def test_a_refused_label_holding_a_change_ahead_stays_unplanned(
    engine: Engine,
) -> None:
    """Found by review: the pass for a change ahead (3.29 from 50 minutes on), whose timed
    image was unchanged, "planned" the label without drawing what is due now, and cleared
    its reason: health said `pending`, then `scheduled`, while the shelf kept 3.49 and
    the till charged 2.79."""
    world, refused, _other = await _milk_on_a_template_that_cannot_announce(engine)
    shown = world.panel_hash(refused)

    # A change ahead: 3.29 from 50 minutes on, planned (its frame on its way).
    world.clock.advance(timedelta(minutes=1))
    flip = world.publish_flip_ahead("3.29")
    world.controller.plan_due_work()
    assert world.state(refused).desired_display_at == flip

    # A -20 % week now, ending before the flip: the till charges 2.79; the template
    # cannot announce it lawfully, so the label cannot be planned.
    world.clock.advance(timedelta(minutes=1))
    until = (world.clock.now + timedelta(minutes=30)).isoformat()
    items = [{"action": "upsert_promotion", "promotion_id": "WEEK-20", "name": "-20%",
              "kind": "percent_off", "percent": "20", "skus": ["MLK-1"],
              "valid_until": until}]  # fmt: skip
    publish(world.sessions, items, now=world.clock.now, title="milk week")
    world.controller.plan_due_work()
    verdict = audit_by_label(world.sessions, world.clock.now)[refused]
    assert verdict.audit_class.is_mismatch, verdict.reason  # shows 3.49, 2.79 due
    first = _condition(world, refused)
    assert first.status is LabelStatus.UNPLANNED, (
        f"health says {first.status.value} ({first.reason}) while the audit says "
        f"{verdict.audit_class.value}: {verdict.reason}"
    )
    assert first.reason is not None
    assert first.reason.startswith("not drawn:")

    # Back in reach: its timed 3.29 is delivered and acknowledged; the panel keeps 3.49
    # while the till charges 2.79 until the promotion ends.
    await world.converge()
    assert world.panel_hash(refused) == shown
    verdict = audit_by_label(world.sessions, world.clock.now)[refused]
    assert verdict.audit_class.is_mismatch, verdict.reason
    later = _condition(world, refused)
    assert later.status is LabelStatus.UNPLANNED, (
        f"health says {later.status.value} while the audit says "
        f"{verdict.audit_class.value}: {verdict.reason}"
    )
