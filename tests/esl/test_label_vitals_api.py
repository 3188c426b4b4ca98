"""`GET /api/v1/labels/{id}/vitals`: a label's battery and signal over time, as the
controller sampled them, for every role that reads; a store key for its own store only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from esl.db.engine import session_factory
from esl.pipeline.label_vitals import VitalSign, VitalsRecorder, VitalsSampling
from tests.support.api import Api


@pytest.fixture
def sampled(api: Api) -> Api:
    """L-1 (store S01) reported a falling battery, a day apart, over four days."""
    api.add_labels({"L-1": "S01", "L-9": "S02"})
    recorder = VitalsRecorder(VitalsSampling(every=timedelta(hours=1)))
    for day, (battery, rssi) in enumerate(((2_950, -61), (2_800, -64), (2_650, -70), (2_540, -75))):
        at = api.clock.now - timedelta(days=3 - day)
        with session_factory(api.engine).begin() as session:
            recorder.record(session, {"L-1": VitalSign("L-1", at, battery, rssi, 100)})
        recorder.committed()
    return api


def test_the_samples_come_oldest_first_with_the_low_battery_threshold(sampled: Api) -> None:
    answer = sampled.client.get("/api/v1/labels/L-1/vitals", headers=sampled.headers("auditor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["low_battery_mv"] == 2_600
    assert [s["battery_mv"] for s in body["samples"]] == [2_950, 2_800, 2_650, 2_540]
    assert [s["rssi_dbm"] for s in body["samples"]] == [-61, -64, -70, -75]
    since = (sampled.clock.now - timedelta(days=1, hours=1)).isoformat()
    recent = sampled.client.get(
        "/api/v1/labels/L-1/vitals", params={"since": since}, headers=sampled.headers("store")
    )
    assert [s["battery_mv"] for s in recent.json()["samples"]] == [2_650, 2_540]
    quiet = sampled.client.get("/api/v1/labels/L-9/vitals", headers=sampled.headers("admin"))
    assert quiet.json()["samples"] == []  # never heard: nothing, not an error


def test_refusals_say_why_and_change_nothing(sampled: Api) -> None:
    other_store = sampled.client.get("/api/v1/labels/L-9/vitals", headers=sampled.headers("store"))
    assert other_store.status_code == 403
    missing = sampled.client.get("/api/v1/labels/NOPE/vitals", headers=sampled.headers("admin"))
    assert missing.status_code == 404
    naive = sampled.client.get(
        "/api/v1/labels/L-1/vitals",
        params={"since": "2026-03-01T00:00:00"},
        headers=sampled.headers("admin"),
    )
    assert naive.status_code == 422
    assert sampled.client.get("/api/v1/labels/L-1/vitals").status_code == 401
