"""The planes of an image sent are read back from `rendered_contents` by one function,
`stored_planes`: the delta base a restarted controller finds and the console's preview
are the very pixels stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.pipeline.images import ImageStore, stored_planes
from esl.ui.shelf_views import label_image_png
from rendering.display_models import DISPLAY_MODELS
from rendering.encoding import content_hash, image_from_planes, planes_from_image
from rendering.render import preview_png, render_label
from tests.rendering.label_samples import PROMOTION
from tests.support.database import START


def test_an_image_stored_is_read_back_with_its_model_and_pixels(engine: Engine) -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    planes = planes_from_image(render_label(PROMOTION, model=model), has_accent=True)
    digest = content_hash(planes).hex()
    sessions = session_factory(engine)
    with sessions.begin() as session:
        images = ImageStore()
        images.remember(digest, model.id, planes)
        images.store_new(session, now=START)

    with sessions() as session:
        assert stored_planes(session, digest) == (model.id, planes)
        assert stored_planes(session, "0" * 32) is None
        # A controller started afresh finds the same planes as a delta base for the model.
        assert ImageStore().planes_of(session, digest, model_id=model.id) == planes
        assert ImageStore().planes_of(session, digest, model_id="2.13-bwr") is None
        # The console's preview draws those pixels in the model's colours.
        expected = preview_png(image_from_planes(planes, palette=model.palette))
        assert label_image_png(session, digest, model_id=model.id) == expected
        assert label_image_png(session, "0" * 32, model_id=model.id) is None
