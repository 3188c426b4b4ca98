"""A label bound to no product shows its identification screen, never a blank panel nor
the price of a product it no longer labels (issue 13, "every label always shows its due
content").

Real parts: SQLite, paho, a real Mosquitto, a simulated store gateway whose labels
decode the frames with the real decoder. Each panel is compared, pixel for pixel, with
the identification screen drawn independently by the rendering package, its QR code is
read back from the panel's pixels, and the controller's record must equal what the panel
shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from esl.db.models import LabelStateRow
from esl.services.labels import unbind_label
from rendering.cache import RenderCache
from rendering.display_models import get_display_model
from rendering.encoding import Planes, content_hash, image_from_planes
from rendering.identification import identification_content, identification_template
from tests.fixtures.mosquitto import MosquittoProcess
from tests.pipeline.shared_clock_store import (
    SharedClockStore,
    priced_store,
)
from tests.rendering.identification_checks import qr_region_encodes
from tests.support.pipeline import ADMIN

pytestmark = pytest.mark.integration

SPEED = 10.0


@pytest.fixture
async def store(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[SharedClockStore]:
    shelf = priced_store(engine, mosquitto, tmp_path / "sim", speed=SPEED, prices={"MLK-1": "3.49"})
    try:
        yield shelf
    finally:
        await shelf.close()


def _identification(label_id: str) -> Planes:
    """The screen drawn by the rendering package alone (the seeded store S01's name)."""
    model = get_display_model("2.9-bwr")
    content = identification_content(
        label_id=label_id, store="S01", store_name="Gdańsk Oliwa", locale="pl_PL", currency="PLN"
    )
    return (
        RenderCache().render(content, model=model, template=identification_template(model)).planes
    )


def _not_identifying(shelf: SharedClockStore, label_ids: list[str]) -> list[str]:
    return [
        label_id
        for label_id in label_ids
        if shelf.labels[label_id].shown != _identification(label_id)
    ]


def _recorded_other_than_shown(shelf: SharedClockStore) -> list[str]:
    with shelf.sessions() as session:
        states = {row.label_id: row for row in session.scalars(select(LabelStateRow))}
    wrong = []
    for label_id, label in shelf.labels.items():
        shown = None if label.shown is None else content_hash(label.shown).hex()
        state = states.get(label_id)
        if (
            state is None
            or not shown
            or state.confirmed_hash != shown
            or state.desired_hash != shown
        ):
            wrong.append(label_id)
    return wrong


async def test_unbound_labels_show_their_identity_and_go_back_to_it_when_unbound(
    store: SharedClockStore,
) -> None:
    label_ids = store.install(4, skus=None)  # registered (associated), bound to nothing
    await store.start_gateway()
    await store.start_controller()
    await store.wait_until(
        lambda: not _not_identifying(store, label_ids) and store.open_rows() == 0,
        timeout_s=30,
        what=lambda: f"{_not_identifying(store, label_ids)} do not show their identification",
    )
    model = get_display_model("2.9-bwr")
    for label_id in label_ids:
        planes = store.labels[label_id].shown
        assert planes is not None
        pixels = np.asarray(image_from_planes(planes, palette=model.palette))
        assert qr_region_encodes(pixels, model, label_id)
    await store.wait_until(
        lambda: not _recorded_other_than_shown(store),
        timeout_s=10,
        what=lambda: f"recorded != shown for {_recorded_other_than_shown(store)}",
    )

    # Two are bound and show their price; one of them is unbound again.
    store.bind({label_ids[0]: "MLK-1", label_ids[1]: "MLK-1"})
    await store.wait_showing_due(timeout_s=30)
    with store.sessions.begin() as session:
        unbind_label(session, principal=ADMIN, label_id=label_ids[0], now=store.clock())
    del store.bindings[label_ids[0]]
    identifying = [label_ids[0], *label_ids[2:]]
    await store.wait_until(
        lambda: (
            not _not_identifying(store, identifying)
            and not store.showing_other_than(store.due_planes(store.clock()))
            and store.open_rows() == 0
        ),
        timeout_s=30,
        what=lambda: f"{_not_identifying(store, identifying)} do not show their identification",
    )
    await store.wait_until(
        lambda: not _recorded_other_than_shown(store),
        timeout_s=10,
        what=lambda: f"recorded != shown for {_recorded_other_than_shown(store)}",
    )
