"""A web price the audit cannot work out is not read as "not sold on the web".

Found by review: after a currency change (ESL_CURRENCY=EUR, the rules now in euros), a
web-only promotion makes the web price read the web's ledger for its prior price, which
holds what customers paid in zloty (CurrencyMismatchError, rightly). The audit took that
for no web price and told the auditor the product was "not sold on the web in this
store", while the web sells it under the promotion."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update

from esl.audit.classify import AuditClass
from esl.audit.gather import gather_audit
from esl.db.mapping import product_from_row
from esl.db.models import PriceRuleRow, ProductRow, PromotionRow
from esl.services.quotes import quote
from rendering.content import LabelContent
from tests.audit.world import T0, AuditWorld

AT = T0 + timedelta(hours=1)


def test_a_web_price_in_an_old_currency_is_not_read_as_not_sold_on_the_web(
    engine: Engine,
) -> None:
    world = AuditWorld(engine)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "WEB10",
                "name": "WEB10",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["MLK-1"],
                "channels": ["web"],
            }
        ],
        now=T0 - timedelta(days=2),
    )
    world.label("L-milk", store="S01", sku="MLK-1")
    # The chain moves to the euro: its rules are now in euros, the ledger keeps what
    # customers paid in zloty. The store price has no promotion, so it reads no ledger:
    # 3.49 EUR is due, and the label shows it, planned in euros.
    _priced_in(world, "EUR")
    with world.sessions() as session:
        product = product_from_row(session.get_one(ProductRow, "MLK-1"))
        due = quote(
            session,
            sku="MLK-1",
            store="S01",
            channel="store",
            at=T0,
            now=T0,
            locale="pl_PL",
            currency="EUR",
        )
    # (The world's helper plans in zloty before it draws what it is given.)
    _priced_in(world, "PLN")
    world.acknowledged(
        "L-milk",
        at=T0,
        altered=lambda _: LabelContent.from_resolved(product=product, price=due, locale="pl_PL"),
        priced=lambda _: due,
    )
    world.checked_in("L-milk", at=AT - timedelta(minutes=1))
    _priced_in(world, "EUR")

    with world.sessions() as session:
        gathered = gather_audit(
            session,
            at=AT,
            now=AT,
            currency="EUR",
            stores=["S01"],
            thresholds=None,
            locale="pl_PL",
        )
    verdict = {v.label_id: v for v in gathered.report.labels}["L-milk"]
    assert verdict.due_price == due.price.amount
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE  # the shelf is right
    assert verdict.web_price is None
    assert verdict.rule == (
        "web price unknown: the ledger holds a price of 3.14 PLN where the label's currency is EUR"
    ), verdict.rule
    assert verdict.reason == verdict.rule


def _priced_in(world: AuditWorld, currency: str) -> None:
    """The chain's rules and promotion amounts in `currency` (ESL_CURRENCY changed)."""
    with world.sessions.begin() as session:
        session.execute(update(PriceRuleRow).values(currency=currency))
        session.execute(
            update(PromotionRow).where(PromotionRow.currency.is_not(None)).values(currency=currency)
        )
