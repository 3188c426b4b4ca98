"""A code the label template asks for and cannot draw never goes missing silently: the
controller logs it, once per template, display model and reason (not at every plan)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, update

from esl.db.engine import session_factory
from esl.db.models import ProductRow
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.support.pipeline import publish_prices


def test_a_barcode_that_cannot_be_drawn_is_logged_once(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    publish_prices(session_factory(engine), PRICES_A, now=T0)
    with session_factory(engine).begin() as session:
        # A GTIN-8: valid, but not an EAN-13, which is what the layout's barcode draws.
        session.execute(update(ProductRow).where(ProductRow.sku == "MLK-1").values(gtin="96385074"))
    world = World(engine, count=3)
    with caplog.at_level(logging.WARNING, logger="esl.pipeline"):
        assert world.controller.plan_due_work() == 3
    reports = [r.getMessage() for r in caplog.records if "code_not_drawn" in r.getMessage()]
    assert len(reports) == 1, reports  # three labels, one content: one line
    assert "MLK-1" in reports[0]
    assert "template default-medium@" in reports[0]
    assert "the layout draws EAN-13 and UPC-A only" in reports[0]
    assert world.state(sorted(world.labels)[0]).desired_hash is not None  # still planned
