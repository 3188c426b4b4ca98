"""docs/console.md, **Publish at**: "an instant that passed in between is refused (nothing
is published; preview the file again with a new instant), so no row claims a start the
shelf never had".

Found by a hunter: the console checked the instant before the import waited for the price
writers' lock. Previewed at 09:01 for 09:03, a click that waited for another writer until
09:06 answered 303: the rows started at 09:03, the shelf and the ledger changed at 09:06,
and a quote for 09:04 answered a price the shelf never charged. The instant is now checked
again once the lock is held, against the instant the write happens at (which is never
before the newest ledger entry), for price and promotion files alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from esl.db.console_models import ConsoleUploadRow
from esl.db.engine import session_factory
from esl.db.models import (
    LedgerEntryRow,
    PlanningQueueRow,
    PriceRuleRow,
    PromotionRow,
    PublicationRow,
)
from tests.esl.test_console_publishes_what_it_previewed import PUBLISH, _console, _publish_form
from tests.esl.test_publications import PRICES
from tests.support.api import Api
from tests.support.price_writes import price_writes_held

# A file for MLK-1 (national 3.49 until further notice) in store S01: a store price of its
# own, or 10 % off it.
FILES = {
    "prices": "sku,scope,store_or_zone,price,currency\nMLK-1,store,S01,3.19,PLN\n",
    "promotions": (
        "id,name,kind,skus,stores,percent\nMLK-10,Mleko taniej,percent_off,MLK-1,S01,10\n"
    ),
}
STORED = (PriceRuleRow, PromotionRow, LedgerEntryRow, PublicationRow, PlanningQueueRow)


def _preview_form(client: httpx.Client, csrf: str, kind: str, instant: datetime) -> dict[str, str]:
    preview = client.post(
        "/ui/publications/preview",
        data={"kind": kind, "csrf": csrf, "effective_at": instant.isoformat()},
        files={"file": (f"{kind}.csv", FILES[kind], "text/csv")},
    )
    assert preview.status_code == 200, preview.text[-2000:]
    form = _publish_form(preview.text)
    assert form.get("effective_at"), form
    return form


def _publish_while_another_writer_holds_the_lock(
    api: Api, client: httpx.Client, form: dict[str, str], *, held: timedelta
) -> httpx.Response:
    """The click on "Publish for", sent while another price writer (a chain's price file,
    say) holds the lock; the clock moves on by `held` before it lets go."""
    answers: list[httpx.Response] = []
    click = threading.Thread(target=lambda: answers.append(client.post(PUBLISH, data=form)))
    with price_writes_held(api.engine) as asked:
        click.start()
        assert asked.wait(timeout=60), "the publish never reached the import"
        api.clock.advance(held)
    click.join(timeout=60)
    assert answers, "no answer"
    return answers[0]


def _counts(api: Api) -> dict[str, int]:
    with session_factory(api.engine)() as session:
        counts = {
            table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (*STORED, ConsoleUploadRow)
        }
    return counts


def _quote(api: Api, at: datetime) -> str:
    answer = api.client.get(
        "/api/v1/quote",
        params={"sku": "MLK-1", "store": "S01", "at": at.isoformat()},
        headers=api.headers("pricing"),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["price"])


@pytest.mark.parametrize("kind", ["prices", "promotions"])
def test_an_instant_that_passed_while_publish_waited_for_the_lock_is_refused(
    api: Api, kind: str
) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(minutes=1))  # 09:01, say
    instant = (api.clock.now + timedelta(minutes=2)).replace(microsecond=0)  # 09:03
    client, csrf = _console(api)
    try:
        form = _preview_form(client, csrf, kind, instant)
        before = _counts(api)
        # The click waits for the other writer until 09:06.
        answer = _publish_while_another_writer_holds_the_lock(
            api, client, form, held=timedelta(minutes=5)
        )
    finally:
        client.close()
    assert answer.status_code == 422, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert "Nothing was published: the instant" in answer.text
    assert "passed while the publish waited for another price writer" in answer.text
    assert "preview the file again with a new instant" in answer.text
    # Nothing of it stored: no rule, promotion, ledger entry, publication, queued instant;
    # the kept file stays as the preview left it.
    assert _counts(api) == before
    # The shelf charged 3.49 all along, and a quote for a minute after the instant says so.
    assert _quote(api, instant + timedelta(minutes=1)) == "3.49"


def test_an_instant_still_ahead_after_the_wait_is_where_the_price_starts(api: Api) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(minutes=1))
    instant = (api.clock.now + timedelta(minutes=10)).replace(microsecond=0)
    client, csrf = _console(api)
    try:
        form = _preview_form(client, csrf, "prices", instant)
        answer = _publish_while_another_writer_holds_the_lock(
            api, client, form, held=timedelta(minutes=5)
        )
    finally:
        client.close()
    assert answer.status_code == 303, answer.text[:500]
    with session_factory(api.engine)() as session:
        starts = list(
            session.scalars(
                select(PriceRuleRow.valid_from).where(
                    PriceRuleRow.sku == "MLK-1", PriceRuleRow.store == "S01"
                )
            )
        )
    assert [start.replace(tzinfo=instant.tzinfo) if start else start for start in starts] == [
        instant
    ]
    assert _quote(api, instant - timedelta(minutes=1)) == "3.49"
    assert _quote(api, instant) == "3.19"


def test_an_instant_before_the_newest_ledger_entry_is_refused(api: Api) -> None:
    # Another worker whose clock runs ten minutes ahead wrote the ledger at 09:10 (coffee's
    # price); this worker's clock says 09:00, and a price writer never writes before the
    # newest entry: the file would be written at 09:10, so an instant of 09:05 has passed.
    assert api.import_csv("prices", PRICES).status_code == 200
    start = api.clock.now
    api.clock.now = start + timedelta(minutes=10)
    coffee = "sku,scope,store_or_zone,price,currency\nCFE-1,store,S01,55.99,PLN\n"
    assert api.import_csv("prices", coffee).status_code == 200
    api.clock.now = start
    instant = (start + timedelta(minutes=5)).replace(microsecond=0)
    client, csrf = _console(api)
    try:
        form = _preview_form(client, csrf, "prices", instant)
        before = _counts(api)
        answer = client.post(PUBLISH, data=form)
    finally:
        client.close()
    assert answer.status_code == 422, answer.text[:500]
    assert "passed while the publish waited for another price writer" in answer.text
    assert _counts(api) == before


def test_the_refusal_names_the_instant_on_the_chains_clock_and_in_utc(api: Api) -> None:
    # A Warsaw summer morning: the pricing user published for 11:03 on their clock
    # (09:03 UTC); the refusal names that time as they typed it, and the UTC instant.
    api.clock.now = datetime(2026, 7, 1, 9, 1, tzinfo=UTC)
    assert api.import_csv("prices", PRICES).status_code == 200
    instant = datetime(2026, 7, 1, 9, 3, tzinfo=UTC)
    client, csrf = _console(api)
    try:
        form = _preview_form(client, csrf, "prices", instant)
        answer = _publish_while_another_writer_holds_the_lock(
            api, client, form, held=timedelta(minutes=5)
        )
    finally:
        client.close()
    assert answer.status_code == 422, answer.text[:500]
    assert (
        "the instant 2026-07-01 11:03 Europe/Warsaw (+02:00), that is 2026-07-01 09:03 UTC, "
        "passed while the publish waited for another price writer (this write is at "
        "2026-07-01 11:06 Europe/Warsaw (+02:00), that is 2026-07-01 09:06 UTC"
    ) in answer.text
