"""API latency is recorded per operation, whatever a client sends (docs/operations.md:
`esl_api_request_duration_seconds{method,route,status}`, "the path template, not the
path"). The HTTP server passes any token on as a method, so the method label has to be
bounded too: else anyone who reaches the port, without a key, adds a series per request
and /metrics and the process's memory grow without bound (found by a hunter)."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

from tests.support.api import Api

METHOD_LABELS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}


def _raw_request(api: Api, request_line: str) -> bytes:
    parts = urlsplit(str(api.client.base_url))
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return sock.recv(64)


def _series(metrics: str) -> dict[tuple[str, str], float]:
    return {
        (method, route): float(count)
        for method, route, count in re.findall(
            r'^esl_api_request_duration_seconds_count\{method="([^"]*)",route="([^"]*)"'
            r',status="[^"]*"\} (\S+)',
            metrics,
            re.M,
        )
    }


def test_invented_methods_without_a_key_share_one_other_series(api: Api) -> None:
    for number in range(40):
        assert _raw_request(api, f"X{number}Y /api/v1/stores HTTP/1.1").startswith(b"HTTP/1.1 401")
    series = _series(api.client.get("/metrics").text)
    assert {method for method, _ in series} <= METHOD_LABELS, sorted(series)
    assert series[("other", "/api/v1/stores")] == 40


def test_paths_are_templates_or_unmatched_never_the_path_sent(api: Api) -> None:
    for path in ("/api/v1/labels/L-7", "/api/v1/labels/L-8", "/no/such/4711", "/ui/stores/S99"):
        assert _raw_request(api, f"GET {path} HTTP/1.1").startswith(b"HTTP/1.1 ")
    routes = {route for _, route in _series(api.client.get("/metrics").text)}
    assert "/api/v1/labels/{label_id}" in routes
    assert "unmatched" in routes
    assert not any(sent in route for route in routes for sent in ("L-7", "L-8", "4711", "S99"))
