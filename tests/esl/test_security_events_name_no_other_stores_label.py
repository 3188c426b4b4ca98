"""A row from before migration 0038 (no `label_store`) of an answer of S03's label L-K
replayed on S01's up topic: S01's store key, refused L-K itself (403), read its id, store
and sequence in S01's security events (docs/api.md: a store key reads in its own store
only). An answer via another store names a label of another store whichever it was, so
S01 reads it without the label. Found by a hunter. SQLite always, PostgreSQL when
configured. Events recorded since 0038:
tests/pipeline/test_security_events_of_another_stores_label.py."""

from __future__ import annotations

from esl.db.engine import session_factory
from esl.db.models import SecurityEventRow
from tests.support.api import Api


def _replayed_answer_of_a_krakow_label_on_oliwas_topic(api: Api) -> None:
    api.add_labels({"L-1": "S01", "L-K": "S03"})
    with session_factory(api.engine)() as session, session.begin():
        # What Verifier._from_another_store recorded before migration 0038: the store and
        # gateway of the topic it came on, the label it names, not the label's store.
        session.add(
            SecurityEventRow(
                at=api.clock(),
                kind="answer via another store",
                store="S01",
                gateway="S01-gw1",
                label_id="L-K",
                sequence=7,
                detail="an answer of a label of store S03 on store S01's topic",
            )
        )


def test_a_store_key_reads_no_other_stores_label_in_its_security_events(api: Api) -> None:
    _replayed_answer_of_a_krakow_label_on_oliwas_topic(api)
    oliwa = api.headers("store")  # the store key of S01
    assert api.client.get("/api/v1/labels/L-K", headers=oliwa).status_code == 403
    events = api.client.get("/api/v1/health/security", headers=oliwa).json()["events"]
    named = [e for e in events if e["label_id"] == "L-K" or "S03" in (e["detail"] or "")]
    assert named == [], named
    (event,) = events  # told all the same: its login relayed a label of another store
    assert (event["kind"], event["gateway"], event["sequence"]) == (
        "answer via another store",
        "S01-gw1",
        None,
    )
    assert event["detail"] == "a label of another store"
    # An auditor reads all of it.
    (audited,) = api.client.get("/api/v1/health/security", headers=api.headers("auditor")).json()[
        "events"
    ]
    assert (audited["label_id"], audited["sequence"]) == ("L-K", 7)
