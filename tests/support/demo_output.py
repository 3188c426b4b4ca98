"""What a finished `esl demo` left behind, read back: each panel's pixels and the audit.

The demo writes every label's exact pixels under `<out>/labels/<store>/<label>.png` and
its database to `<out>/esl.sqlite`; these checks compare the two as a user would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner, Result

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LabelBindingRow, LabelRow
from rendering.display_models import get_display_model
from rendering.encoding import image_from_planes
from tests.support.clock import wall_clock
from tests.support.pipeline import expected_planes


@dataclass(frozen=True)
class DemoPanels:
    bound_skus: list[str]  # one per bound label
    wrong: list[tuple[str, str]]  # (label, sku) whose panel differs from the due render


def demo_panels(out: Path) -> DemoPanels:
    """Compare every bound label's written panel, pixel for pixel, with what is due now."""
    engine = create_engine_for(f"sqlite:///{out / 'esl.sqlite'}")
    skus: list[str] = []
    wrong: list[tuple[str, str]] = []
    with session_factory(engine)() as session:
        rows = session.execute(
            select(LabelRow.id, LabelRow.store, LabelRow.model, LabelBindingRow.sku)
            .join(LabelBindingRow, LabelBindingRow.label_id == LabelRow.id)
            .where(LabelBindingRow.unbound_at.is_(None))
        ).all()
        for label_id, store, model_id, sku in rows:
            skus.append(sku)
            due = expected_planes(session, label_id=label_id, sku=sku, at=wall_clock())
            palette = get_display_model(model_id).palette
            reference = np.asarray(image_from_planes(due, palette=palette).convert("RGB"))
            with Image.open(out / "labels" / store / f"{label_id}.png") as png:
                shown = np.asarray(png.convert("RGB"))
            if not np.array_equal(shown, reference):
                wrong.append((label_id, sku))
    engine.dispose()
    return DemoPanels(bound_skus=skus, wrong=wrong)


def audit_demo(out: Path, report: Path) -> Result:
    """`esl audit --fail-after 1s` on the demo's database, its JSON report written to `report`."""
    return CliRunner().invoke(
        app,
        ["audit", "--format", "json", "-o", str(report), "--fail-after", "1s"],
        env={"ESL_DATABASE_URL": f"sqlite:///{out / 'esl.sqlite'}"},
    )
