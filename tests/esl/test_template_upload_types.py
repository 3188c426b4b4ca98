"""PUT /api/v1/templates/{name} with `"inverted": "false"` (a string) was stored and drawn
as an inverted box, the opposite of what it says; it is a 422 with the reason now and
nothing is stored. A definition stored before the check leaves its labels unplanned with
that reason (tests/pipeline/test_templates.py), never drawn as guessed."""

from __future__ import annotations

from sqlalchemy import func, select

from esl.db.engine import session_factory
from esl.db.template_models import LabelTemplateRow
from tests.support.api import Api

REGIONS = [
    {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
    {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.9, 0.7], "inverted": "false"},
]


def test_inverted_as_a_string_is_refused_with_the_reason(api: Api) -> None:
    response = api.client.put(
        "/api/v1/templates/poster", headers=api.headers("pricing"), json={"regions": REGIONS}
    )
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert "region 1: 'inverted' is true or false (JSON), not 'false'" in response.text
    with session_factory(api.engine)() as session:
        stored = session.scalar(select(func.count()).select_from(LabelTemplateRow))
    assert stored == 0
