"""`esl audit --fail-after` ages a prior-price problem from when the due prior price
changed, not from when the label took its image (docs/audit.md, Outputs).

A store's labels have printed a reduction's prior price, right, for days when imported
history (or a product file) makes another one due: the controller plans and sends the
corrected frames at once, and a scheduler must not be paged for what is being fixed within
seconds; one whose correction never reaches the shelf alerts once DURATION has passed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from esl.db.models import GatewayRow
from esl.imports import import_history, import_products
from esl.services.stores import save_stores
from pricing.products import Store
from tests.audit.world import T0, AuditWorld
from tests.support.database import PRODUCTS_CSV, database_url
from tests.support.ledger import promotion

# After the world's products got their first version (T0): a product version later than
# its label's binding is a change of the product.
CREATED = T0 + timedelta(hours=1)
REDUCED = CREATED + timedelta(days=7)
# The record changes the due prior price of S09's labels then.
CHANGED = REDUCED + timedelta(days=3)
HISTORY = f"""\
sku,channel,store,effective_at,price,regular_price,currency
CHS-1,store,S09,{(CREATED - timedelta(days=50)).isoformat()},8.99,,PLN
"""


@pytest.fixture
def s09(world: AuditWorld, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> AuditWorld:
    """S09 opened at CREATED; L-S09 on its cheese, reduced from 8.99 to 7.99 since
    REDUCED, has shown that reduction with the lowest price since the store opened (the
    due prior price then) since a minute after, and checks in every few minutes."""
    with world.sessions.begin() as session:
        save_stores(
            session,
            [Store(code="S09", name="Sopot")],
            title="store S09",
            kind="catalogue",
            by="test",
            now=CREATED,
            currency="PLN",
        )
        session.add(GatewayRow(id="gw-S09", store="S09", transport="mqtt", name="S09"))
    world.label("L-S09", store="S09", sku="CHS-1", at=CREATED)
    world.publish([promotion("DOWN", "7.99", starts=REDUCED, ends=None)], now=REDUCED)
    world.acknowledged("L-S09", at=REDUCED + timedelta(minutes=1))
    world.checked_in("L-S09", at=CHANGED - timedelta(minutes=2))
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    return world


def fail_after_15m(at: datetime) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["audit", "--store", "S09", "--at", at.isoformat(), "--fail-after", "15m"]
    )
    return result.exit_code, result.stderr


def import_the_history(world: AuditWorld) -> None:
    with world.sessions.begin() as session:
        import_history(session, HISTORY, currency="PLN", imported_by="test", now=CHANGED)


def make_the_cheese_perishable(world: AuditWorld, *, at: datetime) -> None:
    """Its product file says so from `at` on: a reduction's prior price is then the price
    before the first reduction, under that caption."""
    header, *rows = PRODUCTS_CSV.splitlines()
    (cheese,) = [row for row in rows if row.startswith("CHS-1,")]
    with world.sessions.begin() as session:
        import_products(
            session,
            "\n".join([header, cheese.replace(",g,no,", ",g,yes,")]) + "\n",
            currency="PLN",
            imported_by="test",
            now=at,
        )


def test_imported_history_does_not_alert_while_the_correction_is_under_way(
    s09: AuditWorld,
) -> None:
    import_the_history(s09)
    # Just after the import: wrong (a 30-day low is due now) for a second, not for days.
    code, stderr = fail_after_15m(CHANGED + timedelta(seconds=1))
    assert code == 0, stderr
    s09.planned_but_unanswered("L-S09", at=CHANGED + timedelta(seconds=2), attempts=1)
    code, stderr = fail_after_15m(CHANGED + timedelta(seconds=3))
    assert code == 0, stderr
    # The corrected frame never answered: 20 minutes of an unlawful prior price.
    code, stderr = fail_after_15m(CHANGED + timedelta(minutes=20))
    assert code == 1, stderr
    assert "overdue: S09 L-S09 prior_price_problem" in stderr


def test_imported_history_alerts_when_the_corrected_frame_was_parked(s09: AuditWorld) -> None:
    import_the_history(s09)
    s09.planned_but_unanswered(
        "L-S09",
        at=CHANGED + timedelta(seconds=2),
        attempts=5,
        status="parked",
        reason="offline",
        parked_at=CHANGED + timedelta(minutes=4),
    )
    # Parked after four minutes: nothing is on its way, but the change is five minutes old.
    code, stderr = fail_after_15m(CHANGED + timedelta(minutes=5))
    assert code == 0, stderr
    code, stderr = fail_after_15m(CHANGED + timedelta(minutes=20))
    assert code == 1, stderr
    assert "overdue: S09 L-S09 prior_price_problem" in stderr


def test_a_product_made_perishable_does_not_alert_while_its_frame_is_on_its_way(
    s09: AuditWorld,
) -> None:
    # Dated by the product's version that changed it, with or without a frame planned.
    make_the_cheese_perishable(s09, at=CHANGED)
    code, stderr = fail_after_15m(CHANGED + timedelta(seconds=1))
    assert code == 0, stderr
    s09.planned_but_unanswered("L-S09", at=CHANGED + timedelta(seconds=2), attempts=1)
    code, stderr = fail_after_15m(CHANGED + timedelta(minutes=20))
    assert code == 1, stderr
    assert "before_first_reduction) due" in stderr


def put_the_opening_earlier(world: AuditWorld, *, at: datetime) -> None:
    """`PUT /stores/S09` at `at`: S09 sold since 50 days before its creation here, days
    its ledger holds nothing for, so no prior price is due until its history comes."""
    with world.sessions.begin() as session:
        save_stores(
            session,
            [Store(code="S09", name="Sopot", opened=CREATED - timedelta(days=50))],
            title="store S09",
            kind="catalogue",
            by="test",
            now=at,
            currency="PLN",
        )


def test_a_store_opened_earlier_does_not_alert_while_its_frame_is_on_its_way(
    s09: AuditWorld,
) -> None:
    # Dated by the store's version that moved its opening, not by the label's image.
    put_the_opening_earlier(s09, at=CHANGED)
    code, stderr = fail_after_15m(CHANGED + timedelta(seconds=1))
    assert code == 0, stderr
    s09.planned_but_unanswered("L-S09", at=CHANGED + timedelta(seconds=2), attempts=1)
    code, stderr = fail_after_15m(CHANGED + timedelta(minutes=20))
    assert code == 1, stderr
    assert "overdue: S09 L-S09 prior_price_problem" in stderr
    # An audit of an instant before the move finds the label right, as it was then.
    code, stderr = fail_after_15m(CHANGED - timedelta(seconds=1))
    assert code == 0, stderr


NEW_PRODUCT = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
    "NEW-1,Ser nowy,,,cheese,5,0.5,kg,no,{on_sale_since}\n"
)


def test_a_product_put_on_sale_earlier_does_not_alert_while_its_frame_is_on_its_way(
    world: AuditWorld, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEW-1, launched when loaded at CREATED at 8.99, reduced to 7.99 since REDUCED
    (the lowest since it went on sale, its label says), is put on sale a year before by
    its product file: its versions keep the date before, so the label is dated from the
    file."""
    with world.sessions.begin() as session:
        import_products(
            session,
            NEW_PRODUCT.format(on_sale_since=CREATED.isoformat()),
            currency="PLN",
            imported_by="test",
            now=CREATED,
        )
    world.publish([{"action": "set_price", "sku": "NEW-1", "amount": "8.99"}], now=CREATED)
    world.label("L-NEW", store="S01", sku="NEW-1", at=CREATED)
    world.publish(
        [{**promotion("DOWN", "7.99", starts=REDUCED, ends=None), "skus": ["NEW-1"]}],
        now=REDUCED,
    )
    world.acknowledged("L-NEW", at=REDUCED + timedelta(minutes=1))
    world.checked_in("L-NEW", at=CHANGED - timedelta(minutes=2))
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    with world.sessions.begin() as session:
        import_products(
            session,
            NEW_PRODUCT.format(on_sale_since=(CREATED - timedelta(days=365)).isoformat()),
            currency="PLN",
            imported_by="test",
            now=CHANGED,
        )

    def fail_after_15m_in_s01(at: datetime) -> tuple[int, str]:
        result = CliRunner().invoke(
            app, ["audit", "--store", "S01", "--at", at.isoformat(), "--fail-after", "15m"]
        )
        return result.exit_code, result.stderr

    code, stderr = fail_after_15m_in_s01(CHANGED + timedelta(seconds=1))
    assert code == 0, stderr
    code, stderr = fail_after_15m_in_s01(CHANGED + timedelta(minutes=20))
    assert code == 1, stderr
    assert "overdue: S01 L-NEW prior_price_problem" in stderr
