"""Review (console against the label): the label page's "Prior price" row names the
engine's prior price of a reduction the label does not announce.

Coffee in S02: 49.99 from 50 days until ten days ago, 59.99 since; a 10 % promotion
from today, 53.99. It saves nothing against the 30-day low (49.99), so the label draws
a plain 53.99: no badge, no struck-through price, no prior-price line
(`ResolvedPrice.shows_prior_price` false; only an announced reduction states it). The
label page reads "Prior price 49,99 PLN (lowest of the 30 days before the reduction)"
beside "Price 53,99 PLN (regular 59,99)": staff checking the shelf against the page take
a lawful label for one missing its prior price (or tell a customer of a reduction there
is not).
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.services.quotes import shelf_quote
from esl.settings import Settings
from tests.audit.world import T0, AuditWorld
from tests.support.api import AppSwitch


def test_the_label_page_names_no_prior_price_the_label_does_not_print(
    world: AuditWorld, http_server: tuple[AppSwitch, str]
) -> None:
    for amount, days_before in (("49.99", 50), ("59.99", 10)):
        world.publish(
            [
                {
                    "action": "set_price",
                    "sku": "CFE-1",
                    "amount": amount,
                    "store": "S02",
                    "channel": "store",
                }
            ],
            now=T0 - timedelta(days=days_before),
        )
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-CFE",
                "name": "Coffee -10%",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["CFE-1"],
                "channels": ["store"],
            }
        ],
        now=T0,
    )
    world.label("L-cfe", store="S02", sku="CFE-1")
    settings = Settings.defaults()
    with world.sessions() as session:
        due = shelf_quote(session, sku="CFE-1", store="S02", now=T0, settings=settings)
    assert str(due.price.amount) == "53.99"
    assert due.prior_price is not None
    assert not due.shows_prior_price  # the label prints no prior price

    with world.sessions.begin() as session:
        _, key = create_key(session, name="auditor", role=Role.AUDITOR, store=None, now=T0)
    switch, url = http_server
    switch.app = create_app(settings, engine=world.engine, clock=lambda: T0)
    try:
        with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as console:
            assert console.post("/ui/sign-in", data={"api_key": key}).status_code == 200
            page = console.get("/ui/labels/L-cfe")
        with httpx.Client(base_url=url, timeout=30, headers={"X-API-Key": key}) as api:
            quote = api.get("/api/v1/quote", params={"sku": "CFE-1", "store": "S02"}).json()
    finally:
        switch.app = None
    assert page.status_code == 200
    shown = re.search(r'id="label-prior-price">(.*?)</dd>', page.text, re.S)
    row = "" if shown is None else re.sub(r"<[^>]+>", "", shown.group(1))
    assert "49" not in row, f"the label prints no prior price; the page says {row!r}"
    # The quote names the engine's prior price (the audit and a web shop read it) and says
    # whether a label prints it, as the page does.
    assert (quote["prior_price"], quote["announces_reduction"]) == ("49.99", False), quote
    assert quote.get("shows_prior_price") is False, quote
