"""`esl publish FILE.json` reads its items by the API's own request schema
(`esl.api.schemas.PublicationIn`, then `require_storable_draft`), not by a second copy
of the rules: the same body, blanks around its texts, numbers and currency included,
is stored as the same publication, prices and promotion whether sent by
`POST /publications` or by the command (the API's as the files', in
test_store_and_promotion_writes_by_api_and_file_agree.py), and refused alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.models import (
    PriceRuleRow,
    PromotionRow,
    PromotionTargetRow,
    PublicationItemRow,
    PublicationRow,
)
from tests.support.api import Api
from tests.support.database import seed_reference_data

pytestmark = pytest.mark.integration

PADDED = {
    "title": " Milk\u00a0",
    "items": [
        {
            "action": "set_price",
            "sku": " MLK-1\u00a0",
            "store": "\tS01 ",
            "amount": " 3.29 ",
            "currency": " pln",
        },
        {
            "action": "set_price",
            "sku": "CHS-1 ",
            "zone": " north",
            "amount": "4.99\t",
        },
        {
            "action": "upsert_promotion",
            "promotion_id": "MLK-5",
            "name": "\tMilk  -5 % ",
            "kind": "percent_off",
            "percent": " 5 ",
            "skus": [" MLK-1"],
            "zones": ["north\u00a0"],
        },
        {
            "action": "upsert_promotion",
            "promotion_id": "CHS-050",
            "kind": "amount_off",
            "amount": " 0.50",
            "currency": "Pln ",
            "categories": [" dairy "],
            "stores": [" S02"],
        },
    ],
}


@pytest.fixture
def command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """`esl` on its own SQLite file, upgraded and seeded as the API's database is."""
    data = tmp_path / "command-line"
    monkeypatch.setenv("ESL_DATA_DIR", str(data))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = create_engine(f"sqlite:///{data / 'esl.sqlite'}")
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    yield engine
    engine.dispose()


def _stored(engine: Engine) -> dict[str, Any]:
    """The publication's title and items, and the prices and promotions it wrote, without
    what differs by way and clock (ids, authors, instants)."""
    with Session(engine) as session:
        return {
            "titles": session.scalars(select(PublicationRow.title)).all(),
            "items": session.execute(
                select(
                    PublicationItemRow.position,
                    PublicationItemRow.action,
                    PublicationItemRow.payload,
                ).order_by(PublicationItemRow.position)
            ).all(),
            "prices": sorted(
                session.execute(
                    select(
                        PriceRuleRow.sku,
                        PriceRuleRow.amount,
                        PriceRuleRow.currency,
                        PriceRuleRow.zone,
                        PriceRuleRow.store,
                    )
                ).all()
            ),
            "promotions": sorted(
                session.execute(
                    select(
                        PromotionRow.id,
                        PromotionRow.name,
                        PromotionRow.percent,
                        PromotionRow.amount,
                        PromotionRow.currency,
                    )
                ).all()
            ),
            "targets": sorted(
                tuple(row)
                for row in session.execute(
                    select(*[c for c in PromotionTargetRow.__table__.c if c.name != "id"])
                ).all()
            ),
        }


def _post_and_publish(api: Api, body: dict[str, Any]) -> int:
    pricing = api.headers("pricing")
    posted = api.client.post("/api/v1/publications", json=body, headers=pricing)
    if posted.status_code != 201:
        return posted.status_code
    for step in ("validate", "publish"):
        answer = api.client.post(
            f"/api/v1/publications/{posted.json()['id']}/{step}", headers=pricing
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["problems"] == [], answer.text
    return 201


def test_a_padded_publication_is_stored_the_same_by_post_and_by_esl_publish(
    api: Api, command_line: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "publication.json"
    path.write_text(json.dumps(PADDED), encoding="utf-8")

    assert _post_and_publish(api, PADDED) == 201
    published = CliRunner().invoke(app, ["publish", str(path)])

    assert published.exit_code == 0, published.output
    by_post, by_command = _stored(api.engine), _stored(command_line)
    assert by_command == by_post
    assert by_post["titles"] == ["Milk"]
    assert by_post["items"][0][2] == {
        "action": "set_price",
        "sku": "MLK-1",
        "store": "S01",
        "amount": "3.29",
        "currency": "PLN",
    }
    assert {name for _, name, *_ in by_post["promotions"]} == {"Milk  -5 %", "CHS-050"}


@pytest.mark.parametrize(
    ("item", "line"),
    [
        # Blanks only: the API's 422 at the name, the command's line at the same place.
        (
            {**PADDED["items"][2], "name": " \u00a0"},
            "items[0].upsert_promotion.name: name is empty: only blanks",
        ),
        (
            {**PADDED["items"][0], "currency": "EUR"},
            "items[0]: currency EUR differs from this system's currency PLN",
        ),
        # A decimal comma is the files' alone: a body's numbers are written with a point.
        (
            {**PADDED["items"][0], "amount": "3,29"},
            "items[0].set_price.amount: '3,29' is not a decimal number",
        ),
    ],
)
def test_what_post_refuses_esl_publish_refuses(
    api: Api, command_line: Engine, tmp_path: Path, item: dict[str, Any], line: str
) -> None:
    body = {"title": "t", "items": [item]}
    path = tmp_path / "publication.json"
    path.write_text(json.dumps(body), encoding="utf-8")

    assert _post_and_publish(api, body) == 422
    refused = CliRunner().invoke(app, ["publish", str(path)])

    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith(f"error: {path}: {line}"), refused.stderr
    assert _stored(command_line)["titles"] == []
