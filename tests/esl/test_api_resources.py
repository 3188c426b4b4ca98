"""The resources a client uses: lists with pages, labels bound and unbound, errors with codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import LabelModelRow, LabelRow
from esl.errors import InvalidItemError, NotFoundError
from esl.services.labels import register_label
from gateways.protocol import (
    FrameRejectedError,
    LabelFrame,
    Ping,
    decode_frame,
    encode_frame,
    generate_label_key,
)
from tests.support.api import Api
from tests.support.database import START
from tests.support.pipeline import ADMIN

PRICES = "sku,scope,channel,store_or_zone,price,currency\nMLK-1,national,,,3.49,PLN\n"


def test_lists_come_in_pages_with_a_total(api: Api) -> None:
    auditor = api.headers("auditor")
    first = api.client.get("/api/v1/products", params={"limit": 2}, headers=auditor).json()
    assert [p["sku"] for p in first["items"]] == ["CFE-1", "CHS-1"]
    assert (first["total"], first["next_offset"]) == (3, 2)
    second = api.client.get(
        "/api/v1/products", params={"limit": 2, "offset": 2}, headers=auditor
    ).json()
    assert [p["sku"] for p in second["items"]] == ["MLK-1"]
    assert second["next_offset"] is None


def test_a_label_is_registered_bound_rebound_and_unbound(api: Api) -> None:
    store = api.headers("store")
    registered = api.client.post(
        "/api/v1/labels", json={"id": "L-7", "store": "S01", "model": "2.9-bwr"}, headers=store
    )
    assert registered.status_code == 201
    assert registered.json()["binding"] is None
    assert "secret_key" not in registered.json()
    unknown = api.client.put(
        "/api/v1/labels/L-7/binding", json={"sku": "MLK-1", "template": "promo"}, headers=store
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "no template promo"
    layout = {
        "size_class": "medium",
        "regions": [{"name": "price", "fill": "price", "box": [0.05, 0.1, 0.9, 0.8]}],
    }
    uploaded = api.client.put(
        "/api/v1/templates/promo", json=layout, headers=api.headers("pricing")
    )
    assert uploaded.status_code == 200
    assert (uploaded.json()["version"], uploaded.json()["size_class"]) == (1, "medium")
    bound = api.client.put(
        "/api/v1/labels/L-7/binding", json={"sku": "MLK-1", "template": "promo"}, headers=store
    )
    assert (bound.json()["sku"], bound.json()["template"]) == ("MLK-1", "promo")
    api.client.put("/api/v1/labels/L-7/binding", json={"sku": "CHS-1"}, headers=store)
    shown = api.client.get("/api/v1/labels/L-7", headers=store).json()
    assert shown["binding"]["sku"] == "CHS-1"
    unbound = api.client.delete("/api/v1/labels/L-7/binding", headers=store)
    assert unbound.json()["unbound_at"] is not None
    again = api.client.delete("/api/v1/labels/L-7/binding", headers=store)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_a_ble_label_is_registered_with_its_printed_pairing_code(api: Api) -> None:
    """Stored in one spelling, read back; a damaged code is refused with the reason and
    registers nothing; the same code twice is the same label scanned twice, and another
    code naming the same address is one of the two misprinted or mistyped."""
    store = api.headers("store")
    printed = (
        "ESLPAIR:081B010000EEFFC001" + "1122" + "AB" * 16 + "1123" + "CD" * 16  # a loud scanner
    )

    def register(label_id: str, code: str) -> httpx.Response:
        body = {"id": label_id, "store": "S01", "model": "2.9-bwr", "pairing_code": code}
        return api.client.post("/api/v1/labels", json=body, headers=store)

    registered = register("B-1", printed)
    assert registered.status_code == 201, registered.text
    assert registered.json()["pairing_code"] == printed.lower()
    damaged = register("B-2", printed[:-2])
    assert damaged.status_code == 422
    assert "AD structure at byte 27 runs past the end" in damaged.text
    assert api.client.get("/api/v1/labels/B-2", headers=store).status_code == 404
    twice = register("B-3", printed)
    assert twice.status_code == 409
    assert twice.json()["error"]["message"] == (
        "that pairing code is label B-1's (the same label scanned twice?)"
    )
    other = register("B-4", printed[:-2] + "CE")  # another random value, the same address
    assert other.status_code == 409
    assert other.json()["error"]["message"] == (
        "label B-1's pairing code names the same address (C0:FF:EE:00:00:01): one of the two "
        "is not the code printed on its label"
    )


def test_registering_refuses_unknown_models_and_duplicate_ids(api: Api) -> None:
    admin = api.headers("admin")
    body = {"id": "L-8", "store": "S02", "model": "7.5-bwy"}
    unknown = api.client.post("/api/v1/labels", json=body, headers=admin)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == NotFoundError("label model", "7.5-bwy").to_dict()
    body["model"] = "2.9-bwr"
    assert api.client.post("/api/v1/labels", json=body, headers=admin).status_code == 201
    assert api.client.post("/api/v1/labels", json=body, headers=admin).status_code == 409


def test_a_label_id_no_frame_can_carry_is_refused_and_32_characters_are_registered(
    api: Api,
) -> None:
    # docs/protocol.md: label ids are 1-32 characters, and every frame names its label: a
    # 40-character one was registered (201) and stayed blank for ever.
    admin = api.headers("admin")
    too_long = "S01-" + "x" * 36
    refused = api.client.post(
        "/api/v1/labels", json={"id": too_long, "store": "S01", "model": "2.9-bwr"}, headers=admin
    )
    assert refused.status_code == 422
    assert [p["location"] for p in refused.json()["error"]["problems"]] == [["body", "id"]]
    assert api.client.get(f"/api/v1/labels/{too_long}", headers=admin).status_code == 422
    longest = "S01-" + "x" * 28
    registered = api.client.post(
        "/api/v1/labels", json={"id": longest, "store": "S01", "model": "2.9-bwr"}, headers=admin
    )
    assert registered.status_code == 201
    with Session(api.engine) as session:
        assert session.scalars(select(LabelRow.id)).all() == [longest]
        key = session.scalars(select(LabelRow.secret_key)).one()
    frame = encode_frame(LabelFrame(label_id=longest, sequence=1, command=Ping()), key=key)
    assert decode_frame(frame, key=key, label_id=longest).sequence == 1


def test_registering_a_label_checks_its_id_as_the_wire_protocol_does(api: Api) -> None:
    # The service's own check, for callers other than the API's schema.
    with Session(api.engine) as session, pytest.raises(InvalidItemError) as refused:
        register_label(
            session,
            principal=ADMIN,
            label_id="L" * 33,
            store="S01",
            model="2.9-bwr",
            gateway=None,
            now=START,
        )
    assert refused.value.field == "id"
    assert refused.value.message == f"label id {'L' * 33!r}: 1-32 of A-Z a-z 0-9 . _ : -"


def test_a_label_model_is_one_the_renderer_draws_at_its_size_and_colours(api: Api) -> None:
    # rendering.display_models has no 4.2-bw: labels registered on it were never drawn.
    admin = api.headers("admin")
    unknown = api.client.put(
        "/api/v1/label-models/4.2-bw", json={"width": 400, "height": 300}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"].startswith(
        "no display model '4.2-bw' the renderer draws (known: 1.54-bw, "
    )
    label = {"id": "L-42", "store": "S01", "model": "4.2-bw"}
    assert api.client.post("/api/v1/labels", json=label, headers=admin).status_code == 404
    resized = api.client.put(
        "/api/v1/label-models/2.9-bwr",
        json={"width": 400, "height": 300, "accent_colour": "red"},
        headers=admin,
    )
    assert resized.status_code == 422
    assert resized.json()["error"]["message"] == (
        "display model 2.9-bwr is drawn 296x128 with red, not 400x300 with red"
    )
    large = {"width": 400, "height": 300, "accent_colour": "red"}
    assert api.client.put("/api/v1/label-models/4.2-bwr", json=large, headers=admin).is_success
    models = api.client.get("/api/v1/label-models", headers=admin).json()["items"]
    assert [(m["id"], m["width"], m["height"], m["accent_colour"]) for m in models] == [
        ("2.9-bwr", 296, 128, "red"),
        ("4.2-bwr", 400, 300, "red"),
    ]
    label["model"] = "4.2-bwr"
    assert api.client.post("/api/v1/labels", json=label, headers=admin).status_code == 201


def test_no_label_registers_on_a_model_row_the_renderer_cannot_draw(api: Api) -> None:
    # Rows stored before PUT /label-models checked them.
    with Session(api.engine) as session, session.begin():
        session.add(LabelModelRow(id="4.2-bw", width=400, height=300, accent_colour=None))
        session.add(LabelModelRow(id="2.9-bw", width=250, height=122, accent_colour=None))
    admin = api.headers("admin")
    unknown = {"id": "L-42", "store": "S01", "model": "4.2-bw"}
    refused = api.client.post("/api/v1/labels", json=unknown, headers=admin)
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "model")
    resized = {"id": "L-29", "store": "S01", "model": "2.9-bw"}
    refused = api.client.post("/api/v1/labels", json=resized, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "label model 2.9-bw is registered 250x122 with no accent, but drawn 296x128 with no "
        "accent: put it again as drawn"
    )
    with Session(api.engine) as session:
        assert session.scalars(select(LabelRow.id)).all() == []


def test_a_gateway_belongs_to_a_store_and_labels_in_other_stores_cannot_use_it(api: Api) -> None:
    admin = api.headers("admin")
    gateway = {"store": "S01", "transport": "mqtt", "name": "Oliwa"}
    assert api.client.put("/api/v1/gateways/GW-1", json=gateway, headers=admin).status_code == 200
    label = {"id": "L-9", "store": "S03", "model": "2.9-bwr", "gateway": "GW-1"}
    refused = api.client.post("/api/v1/labels", json=label, headers=admin)
    assert refused.status_code == 409
    assert "serves store S01" in refused.json()["error"]["message"]


def test_a_gateways_transport_is_read_in_any_case_as_every_enumerated_word(api: Api) -> None:
    """A channel, a kind, a unit and a transport are one rule (`esl.enumerated_words`):
    blanks around it trimmed, any case read as its spelling, anything else refused
    naming the words allowed."""
    admin = api.headers("admin")
    gateway = {"store": "S01", "transport": " MQTT\t", "name": "Oliwa"}

    put = api.client.put("/api/v1/gateways/GW-1", json=gateway, headers=admin)

    assert put.status_code == 200, put.text
    assert put.json()["transport"] == "mqtt"
    unknown = {**gateway, "transport": "zigbee"}
    refused = api.client.put("/api/v1/gateways/GW-1", json=unknown, headers=admin)
    assert refused.status_code == 422
    assert "'mqtt' or 'ble'" in refused.text


def test_a_gateways_store_and_name_are_trimmed_as_every_other_text(api: Api) -> None:
    """A gateway's store and name are read as a store's or a label's texts are
    (docs/api.md, blanks): blanks around them trimmed, a name of blanks only refused, a
    line break in a name refused as in every other name; before, ' S01' was an unknown
    store and ' Oliwa ' was stored with its blanks."""
    admin = api.headers("admin")
    padded = {"store": "\tS01 ", "transport": "mqtt", "name": " Oliwa  floor\u00a0"}

    put = api.client.put("/api/v1/gateways/GW-1", json=padded, headers=admin)

    assert put.status_code == 200, put.text
    assert (put.json()["store"], put.json()["name"]) == ("S01", "Oliwa  floor")
    for bad in ({"name": " \u00a0"}, {"name": "Oliwa\nfloor"}, {"store": "  "}):
        refused = api.client.put("/api/v1/gateways/GW-1", json={**padded, **bad}, headers=admin)
        assert refused.status_code == 422, (bad, refused.text)
        (field,) = bad
        assert refused.json()["error"]["problems"][0]["location"] == ["body", field]
    listed = api.client.get("/api/v1/gateways", headers=admin).json()["items"]
    assert [(g["id"], g["store"], g["name"]) for g in listed] == [("GW-1", "S01", "Oliwa  floor")]


def test_malformed_requests_get_422_with_the_place_of_each_problem(api: Api) -> None:
    response = api.client.post(
        "/api/v1/publications",
        json={"title": "", "items": [{"action": "raise_prices"}]},
        headers=api.headers("pricing"),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    places = {tuple(p["location"]) for p in error["problems"]}
    assert ("body", "title") in places
    assert ("body", "items", "0") in places  # the action picks the item schema


def test_the_quote_refuses_unknown_keys_and_instants_without_an_offset(api: Api) -> None:
    auditor = api.headers("auditor")
    api.client.post(
        "/api/v1/imports/prices",
        files={"file": ("p.csv", PRICES, "text/csv")},
        headers=api.headers("pricing"),
    )
    unknown = api.client.get(
        "/api/v1/quote", params={"sku": "NOPE", "store": "S01"}, headers=auditor
    )
    assert (unknown.status_code, unknown.json()["error"]["entity"]) == (404, "product")
    no_store = api.client.get(
        "/api/v1/quote", params={"sku": "MLK-1", "store": "S9"}, headers=auditor
    )
    assert (no_store.status_code, no_store.json()["error"]["entity"]) == (404, "store")
    naive = api.client.get(
        "/api/v1/quote",
        params={"sku": "MLK-1", "store": "S01", "at": "2026-05-01T00:00:00"},
        headers=auditor,
    )
    assert naive.status_code == 422
    assert "has no UTC offset" in naive.json()["error"]["problems"][0]["reason"]
    unpriced = api.client.get(
        "/api/v1/quote", params={"sku": "CFE-1", "store": "S01"}, headers=auditor
    )
    assert unpriced.status_code == 422
    assert unpriced.json()["error"]["code"] != "internal"


def test_the_quotes_channel_is_read_in_any_case_as_every_enumerated_word(api: Api) -> None:
    """`channel` of GET /quote (and of the /prices and /ledger filters) is read as every
    body and file reads a channel (`esl.enumerated_words`): " Web" is web; a blank or an
    unknown one is refused naming the channels, never read as the store's (it was taken
    only as spelled)."""
    api.client.post(
        "/api/v1/imports/prices",
        files={"file": ("p.csv", PRICES, "text/csv")},
        headers=api.headers("pricing"),
    )
    auditor = api.headers("auditor")

    def quoted(channel: str) -> Any:
        return api.client.get(
            "/api/v1/quote",
            params={"sku": "MLK-1", "store": "S02", "channel": channel},
            headers=auditor,
        )

    spelled = quoted("web")
    assert spelled.status_code == 200, spelled.text
    for odd in (" Web", "WEB\t"):
        answer = quoted(odd)
        assert answer.status_code == 200, answer.text
        assert answer.json() == spelled.json()
    for wrong in (" ", "shop"):
        refused = quoted(wrong)
        assert refused.status_code == 422, refused.text
        assert "'store', 'web' or 'app'" in refused.text
    for listing in ("/api/v1/prices", "/api/v1/ledger"):
        exact = api.client.get(listing, params={"channel": "store"}, headers=auditor)
        odd = api.client.get(listing, params={"channel": " Store"}, headers=auditor)
        assert (odd.status_code, odd.json()) == (200, exact.json()), odd.text


def test_the_quote_carries_every_label_visible_field(api: Api) -> None:
    api.client.post(
        "/api/v1/imports/prices",
        files={"file": ("p.csv", PRICES, "text/csv")},
        headers=api.headers("pricing"),
    )
    quoted = api.client.get(
        "/api/v1/quote",
        params={"sku": "MLK-1", "store": "S02", "channel": "web"},
        headers=api.headers("auditor"),
    ).json()
    assert set(quoted) == {
        "sku",
        "channel",
        "store",
        "at",
        "currency",
        "regular_price",
        "price",
        "promotion",
        "announces_reduction",
        "prior_price",
        "shows_prior_price",
        "prior_price_basis",
        "saving",
        "saving_percent",
        "unit_price",
        "unit_label",
        "price_rule_id",
        "price_scope",
        "fingerprint",
    }
    assert (quoted["price"], quoted["currency"], quoted["channel"]) == ("3.49", "PLN", "web")


def test_an_import_over_http_with_bad_rows_lists_them_and_changes_nothing(api: Api) -> None:
    pricing = api.headers("pricing")
    bad = PRICES + "GHOST,national,,,1.00,PLN\nMLK-1,zone,,north,x,PLN\n"
    response = api.client.post(
        "/api/v1/imports/prices", files={"file": ("p.csv", bad, "text/csv")}, headers=pricing
    )
    assert response.status_code == 422
    assert [p["line"] for p in response.json()["error"]["problems"]] == [3, 4]
    listed = api.client.get("/api/v1/prices", headers=pricing).json()
    assert listed["total"] == 0
    not_text = api.client.post(
        "/api/v1/imports/prices",
        files={"file": ("p.csv", b"\xff\xfe\x00bad", "text/csv")},
        headers=pricing,
    )
    assert not_text.status_code == 422


def test_a_nul_character_is_a_client_error_on_every_database(api: Api) -> None:
    response = api.client.get(
        "/api/v1/prices", params={"sku": "\x00"}, headers=api.headers("auditor")
    )
    if api.engine.dialect.name == "postgresql":
        # PostgreSQL text cannot hold NUL: refused as a bad value, not a server error.
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_value"
    else:
        assert response.status_code == 200
        assert response.json()["total"] == 0


def test_a_registered_label_gets_a_protocol_key_that_signs_frames_it_accepts(api: Api) -> None:
    api.client.post(
        "/api/v1/labels",
        json={"id": "L-8", "store": "S01", "model": "2.9-bwr"},
        headers=api.headers("store"),
    )
    with Session(api.engine) as session:
        key = session.execute(select(LabelRow.secret_key).where(LabelRow.id == "L-8")).scalar_one()
    frame = encode_frame(LabelFrame(label_id="L-8", sequence=1, command=Ping()), key=key)
    assert decode_frame(frame, key=key, label_id="L-8").sequence == 1
    with pytest.raises(FrameRejectedError):
        decode_frame(frame, key=generate_label_key(), label_id="L-8")


def test_a_labels_store_model_and_template_are_trimmed_as_every_other_text(api: Api) -> None:
    """A label's store and model, and a binding's template, are read as a gateway's store
    and name are (docs/api.md, blanks): blanks around them trimmed, blanks only refused;
    before, ' S01' was an unknown store for a store key of S01, and ' standard' no
    template."""
    store = api.headers("store")
    padded = {"id": "L-8", "store": "\tS01 ", "model": " 2.9-bwr\u00a0"}

    registered = api.client.post("/api/v1/labels", json=padded, headers=store)
    bound = api.client.put(
        "/api/v1/labels/L-8/binding", json={"sku": "MLK-1", "template": " standard "}, headers=store
    )

    assert registered.status_code == 201, registered.text
    assert (registered.json()["store"], registered.json()["model"]) == ("S01", "2.9-bwr")
    assert bound.status_code == 200, bound.text
    assert bound.json()["template"] == "standard"
    for bad in ({"store": "  "}, {"model": "\u00a0"}):
        body = {**padded, "id": "L-9", **bad}
        refused = api.client.post("/api/v1/labels", json=body, headers=store)
        assert refused.status_code == 422, (bad, refused.text)
        (field,) = bad
        assert refused.json()["error"]["problems"][0]["location"] == ["body", field]
    assert api.client.get("/api/v1/labels/L-9", headers=store).status_code == 404
