"""docs/console.md: a console URL or form the console cannot use gives "a page that says
why ... never the API's JSON". An id beyond a 64-bit integer in a console URL or the
publish form crashed (a bare 500, "Internal Server Error": SQLite's driver raised
OverflowError) or answered the API's JSON (PostgreSQL's DataError), where the API bounds
its ids (`le=2**62`, a 422); and a NUL in a store code or a scanned code answered the
API's JSON on PostgreSQL, which refuses NUL in text (found by a hunter)."""

from __future__ import annotations

import re
from contextlib import closing

import httpx
import pytest

from esl.db.engine import session_factory
from esl.services.labels import current_binding
from tests.support.api import Api

HUGE = "9" * 20  # beyond a 64-bit integer, as any client may type it


def _signed_in(api: Api, role: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=str(api.client.base_url), timeout=30)
    assert client.post("/ui/sign-in", data={"api_key": api.keys[role]}).status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/publications").text)
    assert found is not None
    return client, found[1]


def _page(answer: httpx.Response, status: int, says: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text[:200])
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert says in answer.text, answer.text[-800:]


@pytest.mark.parametrize(
    "path",
    [
        f"/ui/publications/{HUGE}",
        f"/ui/labels/L-1/actions/{HUGE}",
        f"/ui/publications/{2**62 + 1}",
    ],
)
def test_an_id_beyond_any_row_in_a_console_url_is_a_page_saying_there_is_no_such_page(
    api: Api, path: str
) -> None:
    api.add_labels({"L-1": "S01"})
    client, _ = _signed_in(api, "admin")
    with closing(client):
        _page(client.get(path), 404, "there is no such page")


@pytest.mark.parametrize("upload", [HUGE, str(2**62 + 1), "\u00b2"])
def test_a_publish_form_naming_an_upload_no_row_can_be_is_no_longer_kept(
    api: Api, upload: str
) -> None:
    """A number beyond any id, or a digit that is no ASCII digit (int() refused it)."""
    client, csrf = _signed_in(api, "pricing")
    with closing(client):
        answer = client.post(
            "/ui/publications/import", data={"csrf": csrf, "upload": upload, "digest": "0" * 64}
        )
    _page(answer, 422, "no longer kept")


@pytest.mark.parametrize("path", ["/ui/stores/%00", "/ui/stores/S01?q=%00", "/ui/labels/L%00"])
def test_a_nul_in_a_console_address_is_a_page_saying_so(api: Api, path: str) -> None:
    client, _ = _signed_in(api, "admin")
    with closing(client):
        _page(client.get(path), 422, "NUL character")


@pytest.mark.parametrize("field", ["code", "template"])
def test_a_nul_in_a_bind_form_is_a_page_saying_so_and_binds_nothing(api: Api, field: str) -> None:
    api.add_labels({"L-1": "S01"})
    client, csrf = _signed_in(api, "admin")
    with closing(client):
        form = {"csrf": csrf, "code": "MLK-1", field: "MLK\x00"}
        _page(client.post("/ui/labels/L-1/bind", data=form), 422, "NUL character")
    with session_factory(api.engine)() as session:
        assert current_binding(session, "L-1") is None


def test_the_api_still_answers_its_own_json(api: Api) -> None:
    answer = api.client.get(f"/api/v1/publications/{HUGE}", headers=api.headers("admin"))
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"
