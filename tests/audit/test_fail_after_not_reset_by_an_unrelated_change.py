"""`esl audit --fail-after`: a label printing a wrong prior price for two hours is not
aged from a later change of its shelf's ledger or of its product's prior-price facts
that left its due prior price as it was (docs/audit.md, Outputs).

Before, `esl.audit.overdue.prior_prices_wrong_since` took "the first change after its
first report of the image" as the start of the wrong line. A label already wrong when it
took its image (drawn wrong, altered) is wrong since that first report; a later change
that leaves the due prior price as it was (history of a year ago imported for the shelf)
restarted its clock, and each such change kept an unlawful shelf out of the alert for
another DURATION (found in review)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from esl.imports import import_history
from tests.audit.scenario import AUDIT_AT, build_chain, wrong_prior_price
from tests.audit.world import T0, AuditWorld
from tests.support.database import database_url

# Prices of a year before: nowhere near the coffee week's 30 days.
OLD_HISTORY = f"""\
sku,channel,store,effective_at,price,regular_price,currency
CFE-1,store,S02,{(T0 - timedelta(days=400)).isoformat()},59.99,,PLN
"""


def test_an_unrelated_history_import_does_not_restart_a_wrong_prior_price_clock(
    engine: Engine, world: AuditWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_chain(world)
    # L-wrong-prior prints 54.99 (59.99 due) since T0: two hours at the audit.
    wrong_prior_price(world, shown_from=T0)
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    due_before = _due_prior(world)

    # Ten minutes before the audit, a year-old price of the shelf is imported.
    with world.sessions.begin() as session:
        import_history(
            session,
            OLD_HISTORY,
            currency="PLN",
            imported_by="test",
            now=AUDIT_AT - timedelta(minutes=10),
        )
    # The due prior price did not change: the label was, and is, just as wrong.
    assert _due_prior(world) == due_before

    result = CliRunner().invoke(
        app, ["audit", "--at", AUDIT_AT.isoformat(), "--store", "S02", "--fail-after", "1h30m"]
    )
    assert result.exit_code == 1, (
        "a prior price wrong for 2 h was aged from an import that did not change it:\n"
        + result.stderr
    )
    assert "L-wrong-prior" in result.stderr


def _due_prior(world: AuditWorld) -> object:
    report = world.audit(at=AUDIT_AT).report
    return [(p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems]
