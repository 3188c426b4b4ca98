"""Fuzz the API from its own OpenAPI schema (schemathesis): no input a client can send is a
500, and every answer conforms to the document (declared status, content type, schema,
headers; refused negative data; 405 with the right Allow header)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
import schemathesis.generation.dictionaries  # see below
import schemathesis.transport.asgi
import schemathesis.transport.requests
import schemathesis.transport.wsgi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.support.api import Api, openapi_document

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
# schemathesis imports these modules (its dictionaries and transports) lazily while
# Hypothesis generates or sends a case; a first import there, deep in the stack and under
# pytest's assertion rewriting, has raised CPython 3.11's "AST constructor recursion depth
# mismatch" (a flaky SystemError mid-run). Importing them up front avoids it.
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    allow_header_conformance,
    unsupported_method,
]
PRICES = "sku,scope,price,currency\nMLK-1,national,3.49,PLN\nCFE-1,zone,59.99,PLN\n"


def _cases(token: str) -> st.SearchStrategy[Any]:
    headers = {"X-API-Key": token}
    return st.one_of(
        SCHEMA.as_strategy(GenerationMode.POSITIVE, headers=headers),
        SCHEMA.as_strategy(GenerationMode.NEGATIVE, headers=headers),
    )


@pytest.mark.parametrize("role", ["admin", "store"])
def test_no_generated_request_gets_a_server_error(api: Api, role: str) -> None:
    pricing = api.headers("pricing")
    api.client.post(
        "/api/v1/imports/prices", files={"file": ("p.csv", PRICES, "text/csv")}, headers=pricing
    )
    base_url = str(api.client.base_url)
    seen: list[int] = []

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(api.keys[role]))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=30)
        seen.append(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        if response.status_code >= 400:
            body = response.json()
            assert set(body["error"]) >= {"code", "message"}, body
        case.validate_response(response, checks=CONFORMANCE)

    run()
    # The run reached the API's success paths as well as its refusals.
    assert any(code < 300 for code in seen)
    assert any(400 <= code < 500 for code in seen)
