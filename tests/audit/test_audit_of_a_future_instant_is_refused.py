"""An audit "at" an instant that has not come yet is refused, not
answered as a report of facts. `esl audit --at` audits "a past instant" (its help, and
docs/audit.md "Auditing the past: --at"; exit 2 is for bad arguments); the API's `at` is
"A past instant (with offset)". Asked for tomorrow (a mistyped day), both answer a report
calling labels heard a minute ago `offline` ("not heard since ...") and exit 1 under
--fail-after: a forecast dressed as an audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.db.engine import session_factory
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.audit.scenario import AUDIT_AT, build_chain
from tests.audit.world import T0, AuditWorld
from tests.support.api import AppSwitch


@pytest.fixture
def client(
    engine: Engine, world: AuditWorld, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> Iterator[httpx.Client]:
    build_chain(world)
    switch, url = http_server
    switch.app = create_app(Settings(data_dir=tmp_path), engine=engine, clock=lambda: AUDIT_AT)
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client
    switch.app = None


def test_the_api_refuses_an_audit_of_tomorrow(client: httpx.Client, engine: Engine) -> None:
    with session_factory(engine).begin() as session:
        _, token = create_key(session, name="auditor", role=Role.AUDITOR, store=None, now=T0)
    now = client.get(
        "/api/v1/audit", params={"at": AUDIT_AT.isoformat()}, headers={"X-API-Key": token}
    ).json()
    match_now = {v["label_id"]: v["class"] for v in now["items"]}["L-match"]
    assert match_now == "match"
    tomorrow = AUDIT_AT + timedelta(days=1)
    response = client.get(
        "/api/v1/audit", params={"at": tomorrow.isoformat()}, headers={"X-API-Key": token}
    )
    verdicts = {v["label_id"]: (v["class"], v["reason"]) for v in response.json().get("items", [])}
    assert response.status_code == 422, (response.status_code, verdicts.get("L-match"))


def test_an_instant_a_few_seconds_ahead_is_audited_as_now(
    client: httpx.Client, engine: Engine
) -> None:
    # A caller whose clock runs a little ahead asks for now, not for the future.
    with session_factory(engine).begin() as session:
        _, token = create_key(session, name="auditor", role=Role.AUDITOR, store=None, now=T0)
    ahead = client.get(
        "/api/v1/audit",
        params={"at": (AUDIT_AT + timedelta(seconds=20)).isoformat()},
        headers={"X-API-Key": token},
    )
    assert ahead.status_code == 200, ahead.text
    assert ahead.json()["at"].startswith(AUDIT_AT.isoformat()[:19])
    classes = {v["label_id"]: v["class"] for v in ahead.json()["items"]}
    assert classes["L-match"] == "match"
