"""The controller's lease outlives its longest planning pass: it is renewed between the
chunks of a pass, not once per pass, so a second controller cannot take over while the
first still sends. And lease terms that could never hold are refused at start, clearly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from esl.pipeline.controller_lease import ControllerIdentity, LeaseTerms, take_lease
from esl.pipeline.errors import ControllerAlreadyRunningError
from esl.pipeline.planning import LabelPlanner, PlanResult
from tests.pipeline.small_world import T0, World

CHUNK_TAKES = timedelta(seconds=40)  # a slow chunk (rendering 500 labels on a busy host)


def test_a_planning_pass_longer_than_the_lease_keeps_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World.priced(engine, count=4)
    terms = world.controller.settings.lease
    first = ControllerIdentity.of_this_process(now=T0)
    take_lease(world.sessions, first, now=T0, terms=terms)
    world.controller.identity = first
    plan = LabelPlanner.plan

    def slow_plan(planner: LabelPlanner, *args: object, **kwargs: object) -> PlanResult:
        result = plan(planner, *args, **kwargs)  # type: ignore[arg-type]
        world.clock.advance(CHUNK_TAKES)
        return result

    monkeypatch.setattr(LabelPlanner, "plan", slow_plan)
    assert world.controller.plan_due_work() > 0  # the start-up pass: several chunks
    assert world.clock.now - T0 > terms.stale_after  # longer than the lease lasts
    second = ControllerIdentity(
        holder="second", pid=first.pid + 1, host="elsewhere", started_at=world.clock.now
    )
    with pytest.raises(ControllerAlreadyRunningError):
        take_lease(world.sessions, second, now=world.clock.now, terms=terms)


def test_esl_run_refuses_a_lease_renewed_less_often_than_it_goes_stale() -> None:
    result = CliRunner().invoke(
        app,
        ["run"],
        env={"ESL_CONTROLLER_LEASE_STALE_S": "30", "ESL_CONTROLLER_LEASE_RENEW_S": "30"},
    )
    assert result.exit_code == 2
    assert "ESL_CONTROLLER_LEASE_RENEW_S (30.0 s) must be shorter than" in result.output
    assert "ESL_CONTROLLER_LEASE_STALE_S (30.0 s)" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_lease_terms_that_could_never_hold_are_refused() -> None:
    with pytest.raises(ValueError, match="renew_every < stale_after"):
        LeaseTerms(stale_after=timedelta(seconds=10), renew_every=timedelta(seconds=10))
