"""The console's audit page (`/ui/audit`) names the labels whose announced reduction
shows another prior price than the ledger gives, as `GET /api/v1/audit`, `esl audit` and
the HTML report do (`prior_price_problems`).

Found by review: the page lists per store labels, mismatches and classes, and each
label's class, shown and due price and reason, but nothing of the prior-price check. A
label at the due 47.99 whose line says "lowest price of 30 days: 54.99" where the ledger
gives 59.99 (an unlawful label, Omnibus) reads there as an `intended difference`, its
store with no mismatch: an auditor on the console sees a lawful shelf.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from decimal import Decimal

import httpx

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.audit.scenario import AUDIT_AT, build_chain
from tests.audit.world import T0, AuditWorld
from tests.support.api import AppSwitch


def test_the_console_audit_page_names_a_wrong_prior_price(
    world: AuditWorld, http_server: tuple[AppSwitch, str]
) -> None:
    build_chain(world)
    world.label("L-wrong-prior", store="S02", sku="CFE-1")
    world.acknowledged(
        "L-wrong-prior",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("54.99")),
    )
    world.checked_in("L-wrong-prior", at=AUDIT_AT - timedelta(minutes=1))
    (problem,) = world.audit(at=AUDIT_AT).report.prior_price_problems  # the API's, the CLI's
    assert (problem.label_id, problem.shown_prior) == ("L-wrong-prior", Decimal("54.99"))

    with world.sessions.begin() as session:
        _, key = create_key(session, name="auditor", role=Role.AUDITOR, store=None, now=T0)
    switch, url = http_server
    switch.app = create_app(Settings.defaults(), engine=world.engine, clock=lambda: AUDIT_AT)
    try:
        with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as console:
            assert console.post("/ui/sign-in", data={"api_key": key}).status_code == 200
            page = console.get("/ui/audit", params={"store": "S02"})
    finally:
        switch.app = None
    assert page.status_code == 200, page.text[-400:]
    assert "L-wrong-prior" in page.text
    # The prior price the label shows, and the one due, are named on the page.
    assert re.search(r"54[.,]99", page.text), "the wrong prior price is not named"
    assert re.search(r"59[.,]99", page.text), "the prior price due is not named"
