"""GET /api/v1/audit: auditors and admins only, paginated, with the store summaries."""

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
from tests.audit.scenario import AUDIT_AT, EXPECTED_CLASSES, T1, build_chain
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


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    tokens = {}
    with session_factory(engine).begin() as session:
        for role in Role:
            store = "S01" if role is Role.STORE else None
            _, tokens[role.value] = create_key(
                session, name=f"{role}-key", role=role, store=store, now=T0
            )
    return tokens


@pytest.mark.parametrize(
    ("role", "status"),
    [("auditor", 200), ("admin", 200), ("pricing", 403), ("store", 403), (None, 401)],
)
def test_only_auditors_and_admins_read_the_audit(
    client: httpx.Client, keys: dict[str, str], role: str | None, status: int
) -> None:
    headers = {"X-API-Key": keys[role]} if role else {}
    response = client.get("/api/v1/audit", headers=headers)
    assert response.status_code == status, response.text


def test_pages_cover_every_label_once_with_the_summary_on_each(
    client: httpx.Client, keys: dict[str, str]
) -> None:
    headers = {"X-API-Key": keys["auditor"]}
    seen: dict[str, str] = {}
    offset: int | None = 0
    while offset is not None:
        page = client.get(f"/api/v1/audit?limit=4&offset={offset}", headers=headers).json()
        assert len(page["stores"]) == 3
        assert page["total"] == len(EXPECTED_CLASSES)
        seen.update({item["label_id"]: item["class"] for item in page["items"]})
        offset = page["next_offset"]
    assert seen == EXPECTED_CLASSES


def test_filters_by_store_class_and_instant(client: httpx.Client, keys: dict[str, str]) -> None:
    headers = {"X-API-Key": keys["auditor"]}
    stale = client.get("/api/v1/audit?class=stale", headers=headers).json()
    assert [item["label_id"] for item in stale["items"]] == ["L-stale"]
    assert stale["items"][0]["attempts"] == 3

    s03 = client.get("/api/v1/audit?store=S03&mismatches_only=true", headers=headers).json()
    assert sorted(i["label_id"] for i in s03["items"]) == ["L-flat", "L-offline"]
    assert [s["store"] for s in s03["stores"]] == ["S03"]

    before = (T1 - timedelta(minutes=40)).isoformat().replace("+00:00", "Z")
    past = client.get(f"/api/v1/audit?store=S02&at={before}", headers=headers).json()
    assert {i["label_id"]: i["class"] for i in past["items"]}["L-stale"] == "match"

    assert client.get("/api/v1/audit?store=S99", headers=headers).status_code == 404
    naive = client.get("/api/v1/audit?at=2026-03-02T10:00:00", headers=headers)
    assert naive.status_code == 422


def test_pages_at_the_first_pages_instant_cover_every_label_once(
    client: httpx.Client, keys: dict[str, str]
) -> None:
    """docs/audit.md: the first page's `at` on the next pages pages through one audit of
    that instant (here, with nothing in flight, the live report's classes)."""
    headers = {"X-API-Key": keys["auditor"]}
    first = client.get("/api/v1/audit?limit=4", headers=headers).json()
    seen = {item["label_id"]: item["class"] for item in first["items"]}
    offset = first["next_offset"]
    while offset is not None:
        page = client.get(
            "/api/v1/audit",
            params={"limit": 4, "offset": offset, "at": first["at"]},
            headers=headers,
        ).json()
        assert page["at"] == first["at"]
        assert page["total"] == first["total"]
        seen.update({item["label_id"]: item["class"] for item in page["items"]})
        offset = page["next_offset"]
    assert seen == EXPECTED_CLASSES
