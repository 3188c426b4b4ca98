"""A promotion id is held to one rule wherever a promotion is created (`esl.promotion_ids`):
no space or other whitespace before or after it, no control character or line break in it.

The promotion file trims its cells, so an id made through the API as "LATO " (a space
pasted in) could never be named by a file: the team's "replacement" of LATO at -5 % was
a second promotion beside the -20 % one, and the shelf kept the better price. An id
with a line break ("P\\n1") was taken too. A promotion stored before the rule keeps its
id: it is read and ended as it is.

Found by a hunter (/tmp/rev-input, test_input_hunt.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from esl.db.engine import session_factory
from esl.services.publication_commands import SetPrice, UpsertPromotion
from pricing.promotions import PromotionKind
from tests.support.api import Api
from tests.support.pipeline import publish

PRICES = "sku,scope,channel,store_or_zone,price,currency\nMLK-1,national,,,3.49,PLN\n"
PUBLICATIONS = "/api/v1/publications"
HEADER = "id,name,kind,skus,percent\n"


def _shelf_price(api: Api) -> str:
    quoted = api.client.get(
        "/api/v1/quote", params={"sku": "MLK-1", "store": "S01"}, headers=api.headers("auditor")
    )
    assert quoted.status_code == 200, quoted.text
    return str(quoted.json()["price"])


def _promotion_ids(api: Api) -> list[str]:
    listed = api.client.get("/api/v1/promotions", headers=api.headers("pricing"))
    assert listed.status_code == 200, listed.text
    return sorted(p["id"] for p in listed.json()["items"])


def _publish(api: Api, items: list[dict[str, Any]]) -> int:
    created = api.client.post(
        PUBLICATIONS, json={"title": "t", "items": items}, headers=api.headers("pricing")
    )
    assert created.status_code == 201, created.text
    pid = int(created.json()["id"])
    for step in ("validate", "publish"):
        done = api.client.post(f"{PUBLICATIONS}/{pid}/{step}", headers=api.headers("pricing"))
        assert done.status_code == 200, done.text
    return pid


def test_an_api_promotion_id_is_held_to_what_the_promotion_file_can_name(api: Api) -> None:
    # The promotion file trims its cells: an id made through the API with a space
    # (pasted) can never be named by a file, whose "replacement" becomes a second
    # promotion running beside it.
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(hours=1))
    item = {
        "action": "upsert_promotion", "promotion_id": "LATO ", "kind": "percent_off",
        "percent": "20", "skus": ["MLK-1"],
    }  # fmt: skip
    created = api.client.post(
        PUBLICATIONS, json={"title": "lato", "items": [item]}, headers=api.headers("pricing")
    )
    if created.status_code == 201:
        pid = created.json()["id"]
        api.client.post(f"{PUBLICATIONS}/{pid}/validate", headers=api.headers("pricing"))
        api.client.post(f"{PUBLICATIONS}/{pid}/publish", headers=api.headers("pricing"))
    api.clock.advance(timedelta(hours=1))
    # The pricing team cuts LATO to -5 % with a file, as csv-formats.md allows.
    replaced = api.import_csv(
        "promotions", "id,name,kind,skus,percent\nLATO,Lato,percent_off,MLK-1,5\n"
    )
    ids = _promotion_ids(api)
    shelf = _shelf_price(api)
    assert created.status_code == 422, (
        f"'LATO ' accepted; file answered {replaced.status_code}; promotions now {ids!r}; "
        f"shelf at {shelf} (-5 % would be 3.32)"
    )
    assert ids == ["LATO"]
    assert shelf == "3.32"


@pytest.mark.parametrize(
    ("promotion_id", "reason"),
    [
        ("LATO ", "begins or ends with whitespace"),
        (" LATO", "begins or ends with whitespace"),
        ("LATO\u00a0", "begins or ends with whitespace"),
        ("P\n1", "U+000A"),
        ("P\t1", "U+0009"),
        ("P\u202e1", "U+202E"),
    ],
)
def test_an_upsert_promotion_id_breaking_the_rule_is_refused(
    api: Api, promotion_id: str, reason: str
) -> None:
    item = {
        "action": "upsert_promotion", "promotion_id": promotion_id, "kind": "percent_off",
        "percent": "20", "skus": ["MLK-1"],
    }  # fmt: skip
    created = api.client.post(
        PUBLICATIONS, json={"title": "t", "items": [item]}, headers=api.headers("pricing")
    )
    assert created.status_code == 422, created.text
    assert reason in created.text
    assert "promotion_id" in created.text


def test_an_id_with_spaces_inside_is_one_the_file_can_name(api: Api) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(hours=1))
    _publish(
        api,
        [
            {"action": "upsert_promotion", "promotion_id": "LATO 2026", "kind": "percent_off",
             "percent": "20", "skus": ["MLK-1"], "valid_from": "2026-06-01T00:00:00Z"},
        ],
    )  # fmt: skip
    replaced = api.import_csv(
        "promotions",
        HEADER.replace("\n", ",valid_from\n")
        + "LATO 2026,Lato,percent_off,MLK-1,5,2026-06-01T00:00:00Z\n",
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["updated"] == 1
    assert _promotion_ids(api) == ["LATO 2026"]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [('"P\n1"', "U+000A"), ('"P\t1"', "U+0009"), ('"P\u202e1"', "U+202E")],
)
def test_a_promotion_file_id_breaking_the_rule_is_a_bad_line(
    api: Api, cell: str, reason: str
) -> None:
    response = api.import_csv(
        "promotions",
        HEADER + "OK-1,Dobra,percent_off,MLK-1,5\n" + f"{cell},Zła,percent_off,MLK-1,5\n",
    )
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["problems"]
    # A quoted cell with a line break: the line its row ends on, as for any such row.
    assert problem["line"] == 3 + cell.count("\n")
    assert problem["reason"].startswith("id ")
    assert reason in problem["reason"]
    assert _promotion_ids(api) == []


@pytest.mark.parametrize("stored_id", ["LATO ", "P\n1"])
def test_a_promotion_stored_before_the_rule_is_read_and_ended(api: Api, stored_id: str) -> None:
    sessions = session_factory(api.engine)
    now = api.clock()
    publish(sessions, [SetPrice(sku="MLK-1", amount=Decimal("3.49"))], now=now)
    api.clock.advance(timedelta(hours=1))
    publish(
        sessions,
        [
            UpsertPromotion(
                promotion_id=stored_id, kind=PromotionKind.PERCENT_OFF,
                percent=Decimal(20), skus=("MLK-1",),
            )
        ],
        now=api.clock(),
    )  # fmt: skip
    api.clock.advance(timedelta(hours=1))
    assert _promotion_ids(api) == [stored_id]
    assert _shelf_price(api) == "2.79"
    _publish(api, [{"action": "end_promotion", "promotion_id": stored_id}])
    assert _shelf_price(api) == "3.49"
