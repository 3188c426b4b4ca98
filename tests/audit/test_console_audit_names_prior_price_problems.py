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

import re
from decimal import Decimal

import httpx

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.audit.scenario import AUDIT_AT, build_chain, wrong_prior_price
from tests.audit.world import T0, AuditWorld
from tests.support.api import AppSwitch


def _console_audit_page(world: AuditWorld, http_server: tuple[AppSwitch, str]) -> str:
    """The audit page of S02, as an auditor signed in to the console reads it, with
    L-wrong-prior at the due 47.99 printing a prior price of 54.99 (59.99 due)."""
    build_chain(world)
    wrong_prior_price(world)
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
    return page.text


def test_the_console_audit_page_names_a_wrong_prior_price(
    world: AuditWorld, http_server: tuple[AppSwitch, str]
) -> None:
    text = _console_audit_page(world, http_server)
    assert "L-wrong-prior" in text
    # The prior price the label shows, and the one due, are named on the page.
    assert re.search(r"54[.,]99", text), "the wrong prior price is not named"
    assert re.search(r"59[.,]99", text), "the prior price due is not named"


def _rows(text: str, table_id: str) -> list[list[str]]:
    """The body rows of one table of the page, each as its cells' text (tags dropped)."""
    table = text.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
        ]
        for row in body.split("<tr>")[1:]
    ]


def test_the_store_counts_and_the_label_row_names_the_prior_price_problem(
    world: AuditWorld, http_server: tuple[AppSwitch, str]
) -> None:
    text = _console_audit_page(world, http_server)
    # Per store, a count of prior-price problems beside the mismatches: S02's shelf is
    # not lawful though none of its labels is at a wrong price.
    heads = re.findall(
        r'<th scope="col">([^<]+)</th>', text.split('id="audit-stores"')[1].split("</thead>")[0]
    )
    stores = {row[0]: dict(zip(heads, row, strict=False)) for row in _rows(text, "audit-stores")}
    assert stores["S02"]["Prior-price problems"] == "1"
    assert stores["S02"]["Mismatches"] == "2"  # L-stale, L-unsold: not L-wrong-prior
    # The label's own row says it, whatever its class reads.
    (row,) = [r for r in _rows(text, "audit-labels") if r[0] == "L-wrong-prior"]
    assert re.search(
        r"prior price 54[.,]99 \(30-day low\) shown, 59[.,]99 \(30-day low\) due", row[-1]
    )
    # And the list of prior-price problems, shown against due, as the HTML report has it.
    (problem,) = _rows(text, "audit-prior-prices")
    label, store, sku, price, shown, due = problem
    assert (label, store, sku) == ("L-wrong-prior", "S02", "CFE-1")
    assert re.fullmatch(r"47[.,]99", price)
    assert re.fullmatch(r"54[.,]99 \(30-day low\)", shown)
    assert re.fullmatch(r"59[.,]99 \(30-day low\)", due)
