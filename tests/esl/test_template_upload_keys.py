"""An uploaded template's top-level key the layout does not know (a typo of `size_class`,
a `min_text_px` meant for every region) is refused with the reason, as a region's unknown
key is, not stored and silently ignored (a `sizeclass: large` template was drawn on every
size); a definition stored before the check still loads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from esl.db.engine import session_factory
from esl.db.template_models import LabelTemplateRow
from esl.services.templates import load_templates
from rendering.display_models import SizeClass
from tests.support.api import Api
from tests.support.database import START

REGIONS = [
    {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
    {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.9, 0.7]},
]


def _templates(api: Api) -> int:
    with session_factory(api.engine)() as session:
        return session.scalar(select(func.count()).select_from(LabelTemplateRow)) or 0


@pytest.mark.parametrize(
    "extra",
    [{"sizeclass": "large"}, {"size-class": "large"}, {"min_text_px": 14}, {"region": []}],
    ids=["sizeclass", "size-class", "min_text_px", "region"],
)
def test_an_unknown_top_level_key_is_refused_and_nothing_stored(
    api: Api, extra: dict[str, Any]
) -> None:
    response = api.client.put(
        "/api/v1/templates/poster",
        headers=api.headers("pricing"),
        json={"regions": REGIONS, **extra},
    )
    assert response.status_code == 422, (response.status_code, response.text[:300])
    [key] = extra
    assert f"unknown keys [{key!r}]: a template has id, version, size_class, regions" in (
        response.text
    )
    assert _templates(api) == 0


def test_the_known_keys_are_stored(api: Api) -> None:
    response = api.client.put(
        "/api/v1/templates/poster",
        headers=api.headers("pricing"),
        json={"regions": REGIONS, "size_class": "large"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["size_class"] == "large"


def test_a_definition_stored_before_the_check_with_an_unknown_key_still_loads(api: Api) -> None:
    with session_factory(api.engine)() as session, session.begin():
        session.add(
            LabelTemplateRow(
                name="poster",
                version=1,
                size_class="large",
                definition={
                    "id": "poster",
                    "version": 1,
                    "size_class": "large",
                    "regions": REGIONS,
                    "note": "for the A-frame",
                },
                updated_at=START,
                updated_by="t",
            )
        )
    with session_factory(api.engine)() as session:
        template = load_templates(session, ["poster"])["poster"]
    assert template.size_class is SizeClass.LARGE
    assert [region.name for region in template.regions] == ["name", "price"]


def test_a_region_with_an_unknown_key_is_refused(api: Api) -> None:
    """What already holds one level down."""
    regions = [REGIONS[0], {**REGIONS[1], "wieght": "bold"}]
    response = api.client.put(
        "/api/v1/templates/poster", headers=api.headers("pricing"), json={"regions": regions}
    )
    assert response.status_code == 422
    assert _templates(api) == 0
