"""The console prints money with the engine's decimals of its currency, as the label and
the till do (docs/pricing.md, Money and rounding), not with two decimals always: in a
Kuwaiti dinar chain (3 decimals) the audit page printed a label showing 1.225 KWD and a
due 1.220 KWD both as "1,22", a difference nobody could see. Rendered by the console's
own template environment, the audit page's table as the browser gets it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from esl.audit.classify import AuditClass, LabelVerdict, Thresholds
from esl.audit.report import summarise
from esl.ui.page_rendering import TEMPLATES

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _audit_row(currency: str, shown: str, due: str) -> str:
    verdict = LabelVerdict(
        label_id="L-1",
        store="S01",
        sku="MLK-1",
        audit_class=AuditClass.STALE,
        reason="shows another price",
        since=AT,
        shows_due=False,
        wrong_since=AT,
        shown_hash="ab" * 16,
        shown_price=Decimal(shown),
        due_price=Decimal(due),
        web_price=None,
        rule=None,
        attempts=1,
        last_reason="sent",
        last_seen=AT,
        battery_mv=2_900,
    )
    report = summarise(
        [verdict],
        at=AT,
        thresholds=Thresholds(),
        stores=["S01"],
        unlabelled={},
        prior_price_problems=[],
    )
    page = TEMPLATES.env.get_template("audit.html").render(
        user=None,
        csrf=None,
        may=lambda capability: False,
        report=report,
        labels=[verdict],
        total=1,
        store="",
        audit_class="",
        classes=[],
        stores=["S01"],
        currency=currency,
    )
    row = page.split('<tr><td><a href="/ui/labels/L-1">L-1</a></td>', 1)[1].split("</tr>")[0]
    return row


@pytest.mark.parametrize(
    ("currency", "shown", "due", "printed"),
    [
        ("KWD", "1.225", "1.220", ("1,225", "1,220")),  # 1,22 and 1,22 before
        ("PLN", "47.99", "48.00", ("47,99", "48,00")),
        ("HUF", "1104", "1299", ("1104", "1299")),  # no fillér: 1104,00 before
        ("JPY", "398", "420", ("398", "420")),
    ],
)
def test_the_audit_page_prints_the_currencys_decimals(
    currency: str, shown: str, due: str, printed: tuple[str, str]
) -> None:
    row = _audit_row(currency, shown, due)
    assert f"<td>{printed[0]}</td><td>{printed[1]}</td>" in row, row


def test_an_amount_finer_than_the_currency_is_not_rounded_into_another_price() -> None:
    # A label still showing a dinar price after the chain moved to zloty.
    row = _audit_row("PLN", "1.225", "4.99")
    assert "<td>1,225</td><td>4,99</td>" in row, row
