"""The OpenAPI document a newcomer reads at /docs: every operation says what it does and
the main request bodies come with an example."""

from __future__ import annotations

from tests.support.api import openapi_document

DOCUMENT = openapi_document()


def test_every_operation_has_a_summary_and_a_description() -> None:
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary") or not operation.get("description")
    ]
    assert undocumented == []


def test_the_main_request_bodies_have_examples() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name in (
        "PublicationIn",
        "SetPriceItemIn",
        "UpsertPromotionItemIn",
        "ProductIn",
        "StoreIn",
        "LabelIn",
        "GatewayIn",
        "BindingIn",
    ):
        assert schemas[name].get("examples"), name
