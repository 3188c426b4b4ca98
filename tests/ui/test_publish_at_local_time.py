"""The console's "Publish at" field is read on the chain's clock (Europe/Warsaw for the
default pl_PL installation), as a pricing user types it: 06:00 in January is 05:00 UTC,
06:00 in July 04:00 UTC. A time no Warsaw clock shows (02:30 on the spring night) or one
it shows twice (02:30 on the autumn night) is refused on the page, with nothing kept or
published.

Before, the field was read as UTC: a midnight price change typed as 00:00 reached the
shelves at 01:00 or 02:00 Warsaw time, and 02:30 on the spring night was published for
02:30 UTC without a word.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from esl.db.console_models import ConsoleUploadRow
from esl.db.models import PriceRuleRow, PublicationRow
from tests.ui.console_world import ConsoleWorld, sign_in

HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
SKU, STORE = "MLK-001", "WAW-01"


def _choose_csv(page: Page, rows: str) -> None:
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "local.csv", "mimeType": "text/csv", "buffer": (HEADER + rows).encode()}]
    )


def _starts(world: ConsoleWorld, amount: Decimal) -> list[datetime | None]:
    with world.sessions()() as session:
        return list(
            session.scalars(
                select(PriceRuleRow.valid_from).where(
                    PriceRuleRow.sku == SKU,
                    PriceRuleRow.store == STORE,
                    PriceRuleRow.amount == amount,
                )
            )
        )


def _stored(world: ConsoleWorld) -> tuple[int, int]:
    """Publications and kept uploads, counted."""
    with world.sessions()() as session:
        return (
            session.scalar(select(func.count()).select_from(PublicationRow)) or 0,
            session.scalar(select(func.count()).select_from(ConsoleUploadRow)) or 0,
        )


@pytest.mark.parametrize(
    ("typed", "amount", "until", "local", "shown", "utc"),
    [
        (
            "2031-01-02T06:00",
            "5.11",
            "2031-01-03T00:00:00+01:00",
            "2031-01-02 06:00 Europe/Warsaw (+01:00)",
            "2031-01-02 06:00 (+01:00)",
            datetime(2031, 1, 2, 5, 0, tzinfo=UTC),
        ),
        (
            "2031-07-02T06:00",
            "5.22",
            "2031-07-03T00:00:00+02:00",
            "2031-07-02 06:00 Europe/Warsaw (+02:00)",
            "2031-07-02 06:00 (+02:00)",
            datetime(2031, 7, 2, 4, 0, tzinfo=UTC),
        ),
    ],
    ids=["winter", "summer"],
)
def test_publish_at_is_read_on_the_chains_clock(
    page: Page,
    world: ConsoleWorld,
    typed: str,
    amount: str,
    until: str,
    local: str,
    shown: str,
    utc: datetime,
) -> None:
    sign_in(page, world, "pricing")
    page.goto(f"{world.url}/ui/publications")
    expect(page.get_by_text("Publish at (Europe/Warsaw; empty: now)")).to_be_visible()
    _choose_csv(page, f"{SKU},store,,{STORE},{amount},PLN,,{until}\n")
    page.get_by_label("Publish at").fill(typed)
    page.get_by_role("button", name="Preview").click()
    instant = page.locator("#preview-instant")
    expect(instant).to_contain_text(local)
    expect(instant).to_contain_text(f"{utc:%Y-%m-%d %H:%M} UTC")
    page.get_by_role("button", name=f"Publish for {shown}").click()
    expect(page.locator("#publication-state")).to_have_text("published")
    # The publication's page names the instant the rows start at on the same clock, as
    # it was typed; the page's markup keeps it with its offset.
    due = page.locator("#publication-due-later")
    expect(due).to_contain_text(f" at {shown}: ")
    expect(due.locator("time").first).to_have_attribute("datetime", f"{typed}:00{shown[-7:-1]}")
    assert _starts(world, Decimal(amount)) == [utc]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (
            "2031-03-30T02:30",
            "no clock in Europe/Warsaw shows it: that night the clocks go from 02:00 "
            "(+01:00) to 03:00 (+02:00)",
        ),
        (
            "2031-10-26T02:30",
            "in Europe/Warsaw it comes twice: 2031-10-26T02:30:00+02:00, then an hour "
            "later 2031-10-26T02:30:00+01:00",
        ),
    ],
    ids=["spring-gap", "autumn-repeat"],
)
def test_a_time_the_clocks_skip_or_repeat_is_refused_with_nothing_published(
    page: Page, world: ConsoleWorld, typed: str, reason: str
) -> None:
    before = _stored(world)
    sign_in(page, world, "pricing")
    page.goto(f"{world.url}/ui/publications")
    _choose_csv(page, f"{SKU},store,,{STORE},5.33,PLN,,\n")
    page.get_by_label("Publish at").fill(typed)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert")).to_contain_text(reason)
    expect(page.get_by_role("button", name="Publish", exact=False)).to_have_count(0)
    assert _stored(world) == before
    assert _starts(world, Decimal("5.33")) == []
