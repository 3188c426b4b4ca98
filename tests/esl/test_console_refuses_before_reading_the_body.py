"""The console answers a request it refuses before reading its body (docs/console.md:
every page needs a signed-in session, every change the session's CSRF token, the preview
takes files up to 8 MiB). The API answers a keyless upload with 401 at once; the console
read (and Starlette spooled to temporary files) a body of any size from someone not
signed in before it sent them to sign in, and a signed-in browser's whole body before
its 403 (found by a hunter). Also: the sign-in form refuses a post from another site
(login CSRF: a page of another site signing the browser in under its own key)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from esl.ui.console_gate import FORM_BYTES, UPLOAD_FORM_BYTES
from tests.support.api import Api

BOUNDARY = "b0undary"
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nprices\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
    "Content-Type: text/csv\r\n\r\n"
).encode()
CHUNK = b"MLK-1,national,3.49,PLN\n" * 2730  # ~64 KiB


def _address(api: Api) -> tuple[str, int]:
    parts = urlsplit(str(api.client.base_url))
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def _signed_in(api: Api, role: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=str(api.client.base_url), timeout=30)
    assert client.post("/ui/sign-in", data={"api_key": api.keys[role]}).status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/publications").text)
    assert found is not None
    return client, found[1]


def _stream_until_answered(api: Api, head: str, *, sent_limit: int) -> tuple[bytes, int]:
    """Send `head` announcing 512 MiB, then the body in 64 KiB pieces until the server
    answers (or closes) or `sent_limit` bytes went: what it answered and how much went."""
    answer = b""
    sent = 0
    with socket.create_connection(_address(api), timeout=10) as sock:
        sock.sendall(
            f"{head}Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {512 * 2**20}\r\n\r\n".encode()
            + HEAD
        )
        deadline = time.monotonic() + 30
        while sent < sent_limit and time.monotonic() < deadline:
            sock.settimeout(0.001)
            try:
                answer = sock.recv(64)
            except TimeoutError:
                answer = b""
            except OSError:  # the server closed the connection: it stopped reading
                answer = b"closed"
            if answer:
                break
            sock.settimeout(10)
            try:
                sock.sendall(CHUNK)
            except OSError:
                answer = b"closed"
                break
            sent += len(CHUNK)
    return answer, sent


@pytest.mark.parametrize("path", ["/ui/publications/preview", "/ui/labels/L-1/bind"])
def test_an_upload_without_a_session_is_sent_to_sign_in_before_its_body_is_read(
    api: Api, path: str
) -> None:
    answer, sent = _stream_until_answered(
        api, f"POST {path} HTTP/1.1\r\nHost: x\r\n", sent_limit=48 * 2**20
    )
    assert answer.startswith(b"HTTP/1.1 303"), (
        f"{sent / 2**20:.0f} MiB of a body from a client with no session read, answer {answer!r}"
    )
    assert sent < 4 * 2**20


def test_an_api_upload_without_a_key_is_refused_at_once(api: Api) -> None:
    """The comparison: the API's key gate answers before the body."""
    answer, _ = _stream_until_answered(
        api, "POST /api/v1/imports/prices HTTP/1.1\r\nHost: x\r\n", sent_limit=48 * 2**20
    )
    assert answer.startswith(b"HTTP/1.1 401")


def test_a_wrong_csrf_header_is_refused_before_the_body_is_read(api: Api) -> None:
    client, _ = _signed_in(api, "pricing")
    cookie = client.cookies["esl_console"]
    client.close()
    answer, sent = _stream_until_answered(
        api,
        "POST /ui/publications/preview HTTP/1.1\r\nHost: x\r\n"
        f"Cookie: esl_console={cookie}\r\nX-CSRF-Token: not-the-token\r\n",
        sent_limit=48 * 2**20,
    )
    assert answer.startswith(b"HTTP/1.1 403"), answer
    assert sent < 4 * 2**20


def test_a_body_announced_larger_than_the_console_takes_is_refused_at_once(api: Api) -> None:
    client, csrf = _signed_in(api, "pricing")
    cookie = client.cookies["esl_console"]
    client.close()
    answer, sent = _stream_until_answered(
        api,
        "POST /ui/publications/preview HTTP/1.1\r\nHost: x\r\n"
        f"Cookie: esl_console={cookie}\r\nX-CSRF-Token: {csrf}\r\n",
        sent_limit=48 * 2**20,
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent < 4 * 2**20


def _chunks(total: int) -> Iterator[bytes]:
    yield HEAD
    for _ in range(total // len(CHUNK) + 1):
        yield CHUNK


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/ui/publications/preview", UPLOAD_FORM_BYTES), ("/ui/labels/L-1/bind", FORM_BYTES)],
)
def test_a_chunked_body_is_cut_at_the_bound_with_a_page_saying_why(
    api: Api, path: str, limit: int
) -> None:
    """Without a Content-Length the body is counted as it arrives: past the bound the
    browser gets 413 and a console page, not the route's answer to half a form."""
    api.add_labels({"L-1": "S01"})
    client, csrf = _signed_in(api, "admin")
    try:
        answer = client.post(
            path,
            content=_chunks(limit + len(CHUNK)),
            headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "X-CSRF-Token": csrf,
            },
        )
    finally:
        client.close()
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "larger than the console takes" in answer.text


def test_a_form_without_its_csrf_token_is_still_refused(api: Api) -> None:
    client, _ = _signed_in(api, "pricing")
    try:
        answer = client.post(
            "/ui/publications/preview",
            data={"kind": "prices"},
            files={"file": ("p.csv", "sku,zone,amount,currency\n", "text/csv")},
        )
    finally:
        client.close()
    assert answer.status_code == 403
    assert "stale or came from another site" in answer.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
def test_a_sign_in_from_another_site_is_refused_and_signs_no_one_in(
    api: Api, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=str(api.client.base_url), timeout=30) as client:
        answer = client.post("/ui/sign-in", data={"api_key": api.keys["admin"]}, headers=headers)
        assert answer.status_code == 403
        assert "came from another site" in answer.text
        assert "esl_console" not in client.cookies
        assert client.get("/ui/publications").status_code == 303


def test_a_sign_in_from_the_consoles_own_page_signs_in(api: Api) -> None:
    host = urlsplit(str(api.client.base_url)).netloc
    with httpx.Client(base_url=str(api.client.base_url), timeout=30) as client:
        for headers in (
            {"Sec-Fetch-Site": "same-origin", "Origin": f"http://{host}"},
            {"Origin": f"http://{host}"},
            {},
        ):
            client.cookies.clear()
            answer = client.post(
                "/ui/sign-in", data={"api_key": api.keys["admin"]}, headers=headers
            )
            assert answer.status_code == 303, headers
            assert client.get("/ui/publications").status_code == 200
