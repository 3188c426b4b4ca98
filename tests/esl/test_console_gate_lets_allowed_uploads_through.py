"""The console gate lets a signed-in user's allowed upload through."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx

from esl.ui.console_gate import UPLOAD_FILE_BYTES
from tests.support.api import Api

HEADER = b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"


def _signed_in(api: Api, role: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=str(api.client.base_url), timeout=120)
    assert client.post("/ui/sign-in", data={"api_key": api.keys[role]}).status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/publications").text)
    assert found is not None
    return client, found[1]


def _file(size: int) -> bytes:
    row = b"MLK-1,store,,S01,2.99,PLN,,\n"
    pad = b" " * 100 + b"\n"
    body = HEADER + row
    body += pad * ((size - len(body)) // len(pad))
    return body + b" " * (size - len(body))


def test_an_upload_of_exactly_8_mib_is_previewed_not_413(api: Api) -> None:
    client, csrf = _signed_in(api, "pricing")
    try:
        answer = client.post(
            "/ui/publications/preview",
            data={"csrf": csrf, "kind": "prices", "effective_at": ""},
            files={
                "file": ("a-long-file-name-" * 10 + ".csv", _file(UPLOAD_FILE_BYTES), "text/csv")
            },
        )
    finally:
        client.close()
    assert answer.status_code != 413, answer.text[-500:]
    assert "larger than the console takes" not in answer.text


def test_a_chunked_allowed_upload_with_a_session_and_no_origin_goes_through(api: Api) -> None:
    client, csrf = _signed_in(api, "pricing")
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nprices\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + _file(2 * 2**20)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for at in range(0, len(body), 65536):
            yield body[at : at + 65536]

    try:
        answer = client.post(
            "/ui/publications/preview",
            content=chunks(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    finally:
        client.close()
    assert answer.status_code in (200, 422), answer.text[-500:]
    assert "preview-summary" in answer.text or "problem" in answer.text.lower(), answer.text[-800:]
