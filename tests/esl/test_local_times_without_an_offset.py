"""A start or end written as a local time without its UTC offset is a bad line whose
reason gives the offset that time has in the chain's zone on its date, or says it does
not exist or happens twice there (the nights the clocks change), never one fixed offset.

Before, every such line was told "(write Z or +01:00)": in Warsaw +01:00 is winter time,
so a summer date written as told started the promotion an hour late (00:00+01:00 is 01:00
on a Warsaw clock in July), 02:30 on the spring night (no Warsaw clock shows it) was taken
as 03:30, and of the autumn night's two 02:30s the later one was picked without a word.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.models import PromotionRow
from tests.esl.test_console_publishes_what_it_previewed import _console
from tests.support.api import Api

HEADER = "id,name,kind,skus,percent,valid_from,valid_until\n"


def _count(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(PromotionRow)) or 0


def test_a_promotion_file_of_local_times_names_the_offsets_they_have_in_warsaw(api: Api) -> None:
    text = HEADER + (
        "SUMMER,Lato,percent_off,MLK-1,10,2027-07-01T00:00:00,\n"
        "WINTER,Zima,percent_off,CHS-1,10,2026-12-01T00:00:00+01:00,2027-01-01T00:00:00\n"
        "SPRING,Wiosna,percent_off,CFE-1,10,2027-03-28T02:30:00,\n"
        "AUTUMN,Jesień,percent_off,MLK-1,15,2026-10-25T02:30:00,2026-11-01T00:00:00+01:00\n"
    )
    response = api.client.post(
        "/api/v1/imports/promotions",
        headers=api.headers("pricing"),
        files={"file": ("promotions.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 422, (response.status_code, response.text[:300])
    reasons = {p["line"]: p["reason"] for p in response.json()["error"]["problems"]}
    assert reasons == {
        2: "valid_from '2027-07-01T00:00:00' has no UTC offset: in Europe/Warsaw it is "
        "2027-07-01T00:00:00+02:00; write that, or the instant in UTC with Z",
        3: "valid_until '2027-01-01T00:00:00' has no UTC offset: in Europe/Warsaw it is "
        "2027-01-01T00:00:00+01:00; write that, or the instant in UTC with Z",
        4: "valid_from '2027-03-28T02:30:00' has no UTC offset, and no clock in "
        "Europe/Warsaw shows it: that night the clocks go from 02:00 (+01:00) to 03:00 "
        "(+02:00); write the instant meant with its offset, or in UTC with Z",
        5: "valid_from '2026-10-25T02:30:00' has no UTC offset, and in Europe/Warsaw it comes "
        "twice: 2026-10-25T02:30:00+02:00, then an hour later 2026-10-25T02:30:00+01:00; "
        "write the one meant",
    }
    assert _count(api.engine) == 0


def test_the_consoles_upload_names_the_offset_too(api: Api) -> None:
    client, csrf = _console(api)
    try:
        answer = client.post(
            "/ui/publications/preview",
            data={"kind": "promotions", "csrf": csrf, "effective_at": ""},
            files={
                "file": (
                    "promotions.csv",
                    HEADER + "SUMMER,Lato,percent_off,MLK-1,10,2027-07-01T00:00:00,\n",
                    "text/csv",
                )
            },
        )
    finally:
        client.close()
    assert answer.status_code == 422, answer.text[-2000:]
    assert "in Europe/Warsaw it is 2027-07-01T00:00:00+02:00" in answer.text, answer.text[-2000:]
    assert _count(api.engine) == 0


def test_a_publication_of_a_local_time_is_not_told_one_fixed_offset(api: Api) -> None:
    """The API is not given the chain's zone with each instant: its refusal names no
    offset rather than winter time's (a summer date written as told began an hour late)."""
    body = {
        "title": "lato",
        "items": [
            {
                "action": "upsert_promotion",
                "promotion_id": "SUMMER",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["MLK-1"],
                "valid_from": "2027-07-01T00:00:00",
            }
        ],
    }
    response = api.client.post("/api/v1/publications", headers=api.headers("pricing"), json=body)
    assert response.status_code == 422, (response.status_code, response.text[:300])
    (problem,) = response.json()["error"]["problems"]
    assert problem["reason"] == (
        "Value error, '2027-07-01T00:00:00' has no UTC offset: write the offset local time "
        "has on that date (it changes with summer time), or the instant in UTC with Z"
    ), problem


def test_esl_import_names_the_offset_in_the_installations_zone(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain in Portugal (ESL_TIME_ZONE=Europe/Lisbon, locale pl_PL): its store file's
    summer opening is told Lisbon's summer offset, +01:00, not Warsaw's."""
    monkeypatch.setenv("ESL_TIME_ZONE", "Europe/Lisbon")
    path = tmp_path / "stores.csv"
    path.write_text("code,name,opened\nL01,Lisboa Baixa,2027-07-01T08:00:00\n", encoding="utf-8")
    result = cli.invoke(app, ["import", "stores", str(path), "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["problems"] == [
        {
            "line": 2,
            "reason": "opened '2027-07-01T08:00:00' has no UTC offset: in Europe/Lisbon it is "
            "2027-07-01T08:00:00+01:00; write that, or the instant in UTC with Z",
        }
    ]
