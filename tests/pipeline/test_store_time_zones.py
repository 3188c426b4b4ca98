"""A promotion's last day on a label is a day in the store's time zone: a chain in
Poland with a store in Lisbon prints the day the promotion ends in Lisbon."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from esl.audit.classify import AuditClass, LabelVerdict
from esl.audit.gather import gather_audit
from esl.db.engine import session_factory
from esl.db.models import LabelRow
from esl.settings import Settings
from rendering.cache import RenderCache
from rendering.display_models import get_display_model
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import due_content, publish, publish_prices

# 00:30 on 5 March in Warsaw is 23:30 on 4 March in Lisbon (an hour behind in winter).
ENDS = datetime.fromisoformat("2027-03-05T00:30:00+01:00")
PRICED_BEFORE = timedelta(days=40)


@pytest.fixture
def world(engine: Engine) -> World:
    world = World(engine, count=1)
    # The products have sold since 2025: priced 40 days before, the ledger holds the 30
    # days before a reduction, which is announced (its badge dates its last day).
    publish_prices(session_factory(engine), PRICES_A, now=world.clock.now - PRICED_BEFORE)
    return world


def _promotion_until_ends(world: World) -> None:
    publish(
        world.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "WEEKEND",
                "kind": "percent_off",
                "percent": "20",
                "skus": [world.sku],
                "valid_until": ENDS.isoformat(),
            }
        ],
        now=world.clock.now,
    )


def _label_with_last_day(world: World, label_id: str, last_day: date) -> object:
    """The planes of the label's due price, its promotion's last day being `last_day`."""
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        content, _ = due_content(session, label=label, sku=world.sku, at=world.clock.now)
        assert content.valid_until is not None
        content = replace(content, valid_until=last_day)
        model = get_display_model(label.model)
    return RenderCache().render(content, model=model).planes


async def test_a_promotion_ending_after_midnight_in_warsaw_ends_the_day_before_in_lisbon(
    world: World,
) -> None:
    async with world.admin_api() as api:
        refused = await api.put(
            "/api/v1/stores/S01",
            json={"name": "Lisboa Baixa", "zone": "north", "time_zone": "Europe/Atlantis"},
        )
        assert refused.status_code == 422, refused.text
        assert "Europe/Atlantis" in refused.text
        answer = await api.put(
            "/api/v1/stores/S01",
            json={"name": "Lisboa Baixa", "zone": "north", "time_zone": "Europe/Lisbon"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["time_zone"] == "Europe/Lisbon"
        listed = (await api.get("/api/v1/stores/S01")).json()
        assert listed["time_zone"] == "Europe/Lisbon"
    world.clock.advance(timedelta(minutes=1))
    _promotion_until_ends(world)
    await world.converge()
    (label_id,) = world.labels
    shown = world.labels[label_id].shown
    lisbon = _label_with_last_day(world, label_id, date(2027, 3, 4))
    warsaw = _label_with_last_day(world, label_id, date(2027, 3, 5))
    assert lisbon != warsaw
    assert shown == lisbon, "the label prints the promotion's last day in Warsaw"

    # The audit sees the shelf showing what is due there.
    with world.sessions() as session:
        report = gather_audit(
            session, at=world.clock.now, now=world.clock.now, currency="PLN", locale="pl_PL"
        ).report
    (verdict,) = report.labels
    assert verdict.shows_due, verdict.reason


async def test_the_installations_time_zone_dates_the_labels_of_stores_naming_none(
    engine: Engine,
) -> None:
    with pytest.raises(ValidationError, match="Europe/Atlantis"):
        Settings(time_zone="Europe/Atlantis")
    # Set but empty, as a compose file's `ESL_TIME_ZONE:` writes it: the locale's zone.
    assert Settings(_env_file=None, time_zone="").time_zone is None
    world = World(engine, count=1, settings=Settings(time_zone="Europe/Lisbon"))
    publish_prices(world.sessions, PRICES_A, now=world.clock.now - PRICED_BEFORE)
    world.clock.advance(timedelta(minutes=1))
    _promotion_until_ends(world)
    await world.converge()
    (label_id,) = world.labels
    assert world.labels[label_id].shown == _label_with_last_day(world, label_id, date(2027, 3, 4))


@pytest.mark.parametrize(
    "name",
    # Files of the zone directory that `ZoneInfo` opens but that name no IANA zone of a
    # place: this machine's own zone, POSIX rules, "Factory" and the posix/ and right/
    # (leap seconds) copies.
    ["localtime", "posixrules", "Factory", "posix/Europe/Lisbon", "right/Europe/Lisbon"],
)
async def test_a_time_zone_is_an_iana_name_of_a_place(world: World, name: str) -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(time_zone=name)
    async with world.admin_api() as api:
        refused = await api.put(
            "/api/v1/stores/S01", json={"name": "Lisboa Baixa", "zone": "north", "time_zone": name}
        )
        assert refused.status_code == 422, refused.text
        assert "unknown time zone" in refused.text
        kept = (await api.get("/api/v1/stores/S01")).json()
    assert kept["time_zone"] is None


async def test_the_audit_dates_what_is_due_in_the_stores_time_zone_as_it_is_now(
    world: World,
) -> None:
    """A store moved to another time zone: its labels still print the promotion's last
    day of the old zone, so they do not show what is due until they are drawn again."""

    def audited() -> list[LabelVerdict]:
        with world.sessions() as session:
            audit = gather_audit(
                session, at=world.clock.now, now=world.clock.now, currency="PLN", locale="pl_PL"
            )
            return list(audit.report.labels)

    (label_id,) = world.labels
    async with world.admin_api() as api:
        answer = await api.put(
            "/api/v1/stores/S01",
            json={"name": "Lisboa Baixa", "zone": "north", "time_zone": "Europe/Lisbon"},
        )
        assert answer.status_code == 200, answer.text
        world.clock.advance(timedelta(minutes=1))
        _promotion_until_ends(world)
        await world.converge()
        lisbon = _label_with_last_day(world, label_id, date(2027, 3, 4))
        assert world.labels[label_id].shown == lisbon
        (verdict,) = audited()
        assert verdict.shows_due, verdict.reason

        # The store is in Warsaw after all: the promotion's last day there is 5 March.
        answer = await api.put(
            "/api/v1/stores/S01",
            json={"name": "Lisboa Baixa", "zone": "north", "time_zone": "Europe/Warsaw"},
        )
        assert answer.status_code == 200, answer.text
    world.clock.advance(timedelta(minutes=1))
    assert world.labels[label_id].shown == lisbon
    (verdict,) = audited()
    assert not verdict.shows_due, "the label still prints 4 March, the last day in Lisbon"
    assert verdict.audit_class is AuditClass.STALE, verdict
    assert "until 2027-03-04, due until 2027-03-05" in verdict.reason, verdict.reason
    assert verdict.wrong_since is not None

    await world.converge()
    assert world.labels[label_id].shown == _label_with_last_day(world, label_id, date(2027, 3, 5))
    (verdict,) = audited()
    assert verdict.shows_due, verdict.reason
    assert not verdict.audit_class.is_mismatch, verdict
