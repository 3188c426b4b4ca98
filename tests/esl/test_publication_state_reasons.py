"""A refusal in a publication's or promotion's state says what happened and what to do.

Publishing (or validating) a publication already published answered 409 "publication 3
is published; validate it first", and validating it again "publication 3 is published":
validating did not help. Reusing the id of an ended promotion was refused "has already
started: end it and publish a new one", and ending it then answered "already ended"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.esl.test_publications import _load_prices, _publish, _validate
from tests.support.api import Api

COFFEE_TEN_OFF = {
    "action": "upsert_promotion",
    "promotion_id": "CFE-10",
    "kind": "percent_off",
    "percent": "10",
    "skus": ["CFE-1"],
}


def _step(api: Api, number: int, step: str) -> Any:
    return api.client.post(f"/api/v1/publications/{number}/{step}", headers=api.headers("pricing"))


def test_a_published_publication_says_when_and_by_whom_it_was_published(api: Api) -> None:
    _load_prices(api)
    published = _publish(
        api,
        {"title": "milk", "items": [{"action": "set_price", "sku": "MLK-1", "amount": "3.19"}]},
    )
    assert published.status_code == 200, published.text
    number, by = published.json()["id"], published.json()["published_by"]
    at = datetime.fromisoformat(published.json()["published_at"]).isoformat()
    api.clock.advance(timedelta(minutes=5))
    for step in ("publish", "validate"):
        again = _step(api, number, step)
        assert again.status_code == 409, again.text
        error = again.json()["error"]
        assert error["code"] == "publication_state"
        assert error["message"] == (
            f"publication {number} was already published at {at} by {by}: it cannot be "
            f"{step}ed again; a further change is a new publication"
        ).replace("validateed", "validated")
        assert (error["published_at"], error["published_by"]) == (at, by)


def test_an_ended_promotions_id_is_refused_naming_a_new_id(api: Api) -> None:
    _load_prices(api)
    assert _publish(api, {"title": "start", "items": [COFFEE_TEN_OFF]}).status_code == 200
    api.clock.advance(timedelta(days=1))
    running = _validate(api, {"title": "more", "items": [{**COFFEE_TEN_OFF, "percent": "15"}]})
    assert "already started: end it (end_promotion)" in running["problems"][0]["reason"]
    assert "under a new promotion_id" in running["problems"][0]["reason"]
    end = {"action": "end_promotion", "promotion_id": "CFE-10"}
    assert _publish(api, {"title": "end", "items": [end]}).status_code == 200
    api.clock.advance(timedelta(days=1))
    reused = _validate(api, {"title": "again", "items": [{**COFFEE_TEN_OFF, "percent": "15"}]})
    assert reused["status"] == "draft"
    reason = reused["problems"][0]["reason"]
    assert reason.startswith("promotion CFE-10 ended at ")
    assert reason.endswith("publish the new one under a new promotion_id")
    # As it says: the same terms under a new id are published.
    renamed = {**COFFEE_TEN_OFF, "promotion_id": "CFE-15", "percent": "15"}
    assert _publish(api, {"title": "again", "items": [renamed]}).status_code == 200
