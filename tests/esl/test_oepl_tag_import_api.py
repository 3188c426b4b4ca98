"""Registering an OpenEPaperLink AP's tags over the API (`POST /stores/{store}/oepl/tags`)
and from the store with `esl gateway oepl import-tags --api`: admin anywhere, a store key
in its own store only, a tag type without a model refused with its reason and nothing
registered, keys never silently replaced."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app as cli_app
from esl.db.engine import session_factory
from esl.db.models import GatewayRow, LabelRow
from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from tests.support.api import Api
from tests.support.oepl import (
    FAST_AP,
    HW_27_BWR,
    HW_29_BW,
    HW_29_BWR,
    access_point_in_thread,
    tag_mac,
)

ROUTE = "/api/v1/stores/{store}/oepl/tags"


def _tag(number: int, *, model: str | None = "2.9-bwr", hw_type: int = HW_29_BWR) -> dict[str, Any]:
    return {"mac": tag_mac(number), "hw_type": hw_type, "model": model, "key": f"{number:02x}" * 32}


def _labels(api: Api) -> dict[str, tuple[str, str | None, bytes]]:
    with session_factory(api.engine)() as session:
        rows = session.execute(
            select(LabelRow.id, LabelRow.model, LabelRow.gateway, LabelRow.secret_key).where(
                LabelRow.id.like("00000258%")
            )
        ).all()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


@pytest.mark.parametrize("role", ["admin", "store"])
def test_admin_and_the_stores_own_key_register_tags_with_models_and_keys(
    api: Api, role: str
) -> None:
    body = {"gateway": "S01-ap1", "tags": [_tag(1), _tag(2, model="2.9-bw", hw_type=HW_29_BW)]}
    response = api.client.post(ROUTE.format(store="S01"), json=body, headers=api.headers(role))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "store": "S01",
        "gateway": "S01-ap1",
        "labels": [tag_mac(1), tag_mac(2)],
        "added": 2,
        "skipped": [],
        "remodelled": [],
    }
    assert _labels(api) == {
        tag_mac(1): ("2.9-bwr", "S01-ap1", bytes([1]) * 32),
        tag_mac(2): ("2.9-bw", "S01-ap1", bytes([2]) * 32),
    }
    with session_factory(api.engine)() as session:
        gateway = session.get(GatewayRow, "S01-ap1")
        assert gateway is not None
        assert gateway.store == "S01"
    # The same inventory again (a re-run after new tags joined): only the new one is added.
    body["tags"].append(_tag(3))
    again = api.client.post(ROUTE.format(store="S01"), json=body, headers=api.headers(role))
    assert again.status_code == 200, again.text
    assert again.json()["added"] == 1


def test_a_store_key_cannot_register_tags_in_another_store(api: Api) -> None:
    body = {"gateway": "S02-ap1", "tags": [_tag(1)]}
    response = api.client.post(ROUTE.format(store="S02"), json=body, headers=api.headers("store"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert _labels(api) == {}


def test_a_tag_type_without_a_model_is_refused_with_its_reason_and_nothing_is_registered(
    api: Api,
) -> None:
    without = _tag(7, model=None, hw_type=HW_27_BWR)
    without["reason"] = 'Emulated 2.7" BWR: no display model is 264x176 white/black/red'
    unknown = _tag(8, model="13.3-bwr")
    body = {"gateway": "S01-ap1", "tags": [_tag(1), without, unknown]}
    response = api.client.post(ROUTE.format(store="S01"), json=body, headers=api.headers("store"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    assert [(p["line"], p["mac"]) for p in error["problems"]] == [(2, tag_mac(7)), (3, tag_mac(8))]
    assert "tag type BE has no display model" in error["problems"][0]["reason"]
    assert "264x176" in error["problems"][0]["reason"]
    assert "no display model '13.3-bwr'" in error["problems"][1]["reason"]
    assert _labels(api) == {}  # not even the good tag
    with session_factory(api.engine)() as session:
        assert session.get(GatewayRow, "S01-ap1") is None


def test_a_gateway_id_no_mqtt_topic_can_carry_is_refused_and_nothing_is_registered(
    api: Api,
) -> None:
    body = {"gateway": "ap.1", "tags": [_tag(1)]}
    response = api.client.post(ROUTE.format(store="S01"), json=body, headers=api.headers("store"))
    assert response.status_code == 422
    assert [p["location"] for p in response.json()["error"]["problems"]] == [["body", "gateway"]]
    assert _labels(api) == {}
    with session_factory(api.engine)() as session:
        assert session.scalars(select(GatewayRow.id)).all() == []


def test_one_tag_type_mapped_to_two_models_is_refused(api: Api) -> None:
    body = {"gateway": "S01-ap1", "tags": [_tag(1), _tag(2, model="2.9-bw")]}
    response = api.client.post(ROUTE.format(store="S01"), json=body, headers=api.headers("admin"))
    assert response.status_code == 422
    assert "mapped to 2.9-bwr and to 2.9-bw" in response.json()["error"]["problems"][0]["reason"]
    assert _labels(api) == {}


def test_a_registered_label_keeps_its_key(api: Api) -> None:
    first = {"gateway": "S01-ap1", "tags": [_tag(1)]}
    assert api.client.post(
        ROUTE.format(store="S01"), json=first, headers=api.headers("store")
    ).is_success
    replaced = {"gateway": "S01-ap1", "tags": [{**_tag(1), "key": "ff" * 32}, _tag(2)]}
    response = api.client.post(
        ROUTE.format(store="S01"), json=replaced, headers=api.headers("store")
    )
    assert response.status_code == 409
    assert _labels(api) == {tag_mac(1): ("2.9-bwr", "S01-ap1", bytes([1]) * 32)}


def test_a_registered_tag_listed_with_its_key_as_another_model_takes_it(api: Api) -> None:
    """The gateway's file says the tag is now a 2.9-bw (its model edited after the tag was
    reflashed): before, 200 with nothing changed, and the controller kept drawing for a
    2.9-bwr the gateway refused as WRONG_MODEL."""
    first = {"gateway": "S01-ap1", "tags": [_tag(1)]}
    assert api.client.post(
        ROUTE.format(store="S01"), json=first, headers=api.headers("store")
    ).is_success
    changed = {"gateway": "S01-ap1", "tags": [_tag(1, model="2.9-bw", hw_type=HW_29_BW)]}
    response = api.client.post(
        ROUTE.format(store="S01"), json=changed, headers=api.headers("store")
    )
    assert response.status_code == 200, response.text
    assert response.json()["remodelled"] == [
        {"label_id": tag_mac(1), "old_model": "2.9-bwr", "new_model": "2.9-bw"}
    ]
    assert _labels(api) == {tag_mac(1): ("2.9-bw", "S01-ap1", bytes([1]) * 32)}


def test_a_second_aps_tags_register_except_those_on_the_first_ap(api: Api) -> None:
    """A tag registered on S01-ap1 that shows in S01-ap2's inventory too (it roamed):
    S01-ap2's import registers its other tags and reports that one, which stays on ap1
    with its key. Before, the whole import was 409 and nothing was registered."""
    first = {"gateway": "S01-ap1", "tags": [_tag(1)]}
    assert api.client.post(
        ROUTE.format(store="S01"), json=first, headers=api.headers("store")
    ).is_success
    second = {"gateway": "S01-ap2", "tags": [{**_tag(1), "key": "ff" * 32}, _tag(2)]}
    response = api.client.post(ROUTE.format(store="S01"), json=second, headers=api.headers("store"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "store": "S01",
        "gateway": "S01-ap2",
        "labels": [tag_mac(2)],
        "added": 1,
        "skipped": [{"mac": tag_mac(1), "reason": "registered on gateway S01-ap1"}],
        "remodelled": [],
    }
    assert _labels(api) == {
        tag_mac(1): ("2.9-bwr", "S01-ap1", bytes([1]) * 32),
        tag_mac(2): ("2.9-bwr", "S01-ap2", bytes([2]) * 32),
    }


# ---------------------------------------------------------------- from the store, over the API


@pytest.fixture
def access_point() -> Iterator[str]:
    """An emulated AP on its own loop in a thread (the CLI runs its own loop)."""
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time()
    for number in (1, 2):
        ap.add_tag(EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR), now=now)
    ap.add_tag(EmulatedTag(mac=tag_mac(7), hw_type=HW_27_BWR), now=now)
    with access_point_in_thread(ap) as url:
        yield url


def _import(api: Api, ap: str, keys: Path, *, store: str, role: str) -> Any:
    arguments = ["gateway", "oepl", "import-tags", "--store", store, "--gateway", f"{store}-ap1"]
    return CliRunner().invoke(
        cli_app,
        [*arguments, "--ap", ap, "--api", str(api.client.base_url), "--provisioning", str(keys)],
        env={"ESL_GATEWAY_API_KEY": api.keys[role], "ESL_DATABASE_URL": "sqlite:///nowhere/x"},
    )


def test_import_tags_over_the_api_shares_each_key_with_the_controller(
    api: Api, access_point: str, tmp_path: Path
) -> None:
    keys = tmp_path / "S01-ap1-labels.json"
    result = _import(api, access_point, keys, store="S01", role="store")
    assert result.exit_code == 0, result.output
    assert "2 labels for S01/S01-ap1 (2 new)" in result.stdout
    assert f"skipped {tag_mac(7)}" in result.stderr
    assert "264x176" in result.stderr
    written = json.loads(keys.read_text())["labels"]
    registered = _labels(api)
    assert {e["label_id"]: bytes.fromhex(e["key"]) for e in written} == {
        label_id: key for label_id, (_, _, key) in registered.items()
    }
    assert {model for model, _, _ in registered.values()} == {"2.9-bwr"}
    again = _import(api, access_point, keys, store="S01", role="store")
    assert again.exit_code == 0, again.output
    assert "2 labels for S01/S01-ap1 (0 new)" in again.stdout


def test_import_tags_with_a_store_key_of_another_store_is_refused(
    api: Api, access_point: str, tmp_path: Path
) -> None:
    result = _import(api, access_point, tmp_path / "S02-ap1-labels.json", store="S02", role="store")
    assert result.exit_code == 1
    assert "HTTP 403" in result.stderr
    assert "nothing was registered" in result.stderr
    assert _labels(api) == {}


def test_import_tags_reports_a_tag_of_another_ap_and_keeps_it_out_of_the_file(
    api: Api, access_point: str, tmp_path: Path
) -> None:
    on_ap2 = {"gateway": "S01-ap2", "tags": [_tag(1)]}
    assert api.client.post(
        ROUTE.format(store="S01"), json=on_ap2, headers=api.headers("store")
    ).is_success
    keys = tmp_path / "S01-ap1-labels.json"
    result = _import(api, access_point, keys, store="S01", role="store")
    assert result.exit_code == 0, result.output
    assert f"skipped {tag_mac(1)}: registered on gateway S01-ap2" in result.stderr
    assert "1 labels for S01/S01-ap1 (1 new)" in result.stdout
    written = {
        e["label_id"]: bytes.fromhex(e["key"]) for e in json.loads(keys.read_text())["labels"]
    }
    registered = _labels(api)
    assert registered[tag_mac(1)] == ("2.9-bwr", "S01-ap2", bytes([1]) * 32)
    # Only the tag registered on this gateway, with the key the controller holds.
    assert written == {tag_mac(2): registered[tag_mac(2)][2]}
