"""A price file being imported does not hold up the other requests (docs/database.md,
Concurrency): while `POST /api/v1/imports/prices` or the console's preview waits for the
price writers' lock (or loads a chain's 42,000 rows, 9-17 s), a quote and the API's
description are answered. The import ran on the event loop, so every request of the API
(and, in the demo, the controller sharing that loop) waited until the file was in.

The test holds the price writers' lock itself, so the import provably cannot finish
while the other requests are asked; no timing of the import is measured."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import httpx
import pytest

from tests.support.api import Api
from tests.support.price_writes import price_writes_held

PRICES = "sku,scope,price,currency\nMLK-1,national,3.49,PLN\n"
# Far longer than a quote takes on a loaded machine, shorter than SQLite's busy timeout
# (10 s): before the fix the loop was held for all of the import's wait for the lock.
ANSWER_WITHIN_S = 5


Send = Callable[[], httpx.Response]


def _api_import(api: Api, client: httpx.Client) -> Send:
    return lambda: client.post(
        "/api/v1/imports/prices",
        files={"file": ("prices.csv", PRICES, "text/csv")},
        headers=api.headers("pricing"),
    )


def _console_preview(api: Api, client: httpx.Client) -> Send:
    # Signing in writes its session: done before the test takes the lock.
    assert client.post("/ui/sign-in", data={"api_key": api.keys["pricing"]}).status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/publications").text)
    assert csrf is not None
    return lambda: client.post(
        "/ui/publications/preview",
        data={"kind": "prices", "csrf": csrf[1]},
        files={"file": ("prices.csv", PRICES, "text/csv")},
    )


UPLOADS: dict[str, Callable[[Api, httpx.Client], Send]] = {
    "api import": _api_import,
    "console preview": _console_preview,
}


@pytest.mark.parametrize("upload", UPLOADS)
def test_a_quote_is_answered_while_a_price_file_waits_to_be_imported(api: Api, upload: str) -> None:
    answers: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=str(api.client.base_url), timeout=60) as client:
        send = UPLOADS[upload](api, client)
        worker = threading.Thread(target=lambda: answers.update(upload=send()))
        try:
            with price_writes_held(api.engine) as asked:
                worker.start()
                assert asked.wait(timeout=60), "the upload never reached the price writers' lock"
                try:
                    description = api.client.get("/openapi.json", timeout=ANSWER_WITHIN_S)
                    quote = api.client.get(
                        "/api/v1/quote",
                        params={"sku": "MLK-1", "store": "S01"},
                        headers=api.headers("store"),
                        timeout=ANSWER_WITHIN_S,
                    )
                except httpx.TimeoutException:
                    pytest.fail(f"a request waited for the {upload} of a price file to finish")
                # Still holding the lock: the import has not finished, yet both were answered.
                assert "upload" not in answers
        finally:
            if worker.ident is not None:  # its answer is read before the client closes
                worker.join(timeout=60)
    assert description.status_code == 200
    # Asked while the file was not in: the seeded chain has no price for the SKU yet.
    assert quote.json()["error"]["code"] == "no_applicable_price", quote.text
    assert answers["upload"].status_code == 200, answers["upload"].text
