"""Errors carry typed attributes a caller reads without parsing messages, and the API's
error JSON (`to_dict`) stays the shape it was: only what the raise named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from esl.errors import (
    InvalidItemError,
    NotFoundError,
    PublicationStateError,
)
from esl.services.amounts import require_minor_unit
from pricing.catalogue import Catalogue
from pricing.errors import InvalidGtinError, UnknownSkuError
from pricing.gtin import require_valid_gtin
from tests.support.api import Api


def test_not_found_names_the_entity_and_the_key() -> None:
    error = NotFoundError("publication", 7)
    assert (error.entity, error.key) == ("publication", "7")
    assert error.to_dict() == {
        "code": "not_found",
        "message": "no publication 7",
        "entity": "publication",
        "key": "7",
    }


def test_a_state_error_carries_what_was_named_and_its_json_leaves_out_the_rest() -> None:
    error = PublicationStateError("promotion P has already ended", promotion_id="P")
    assert (error.promotion_id, error.publication_id, error.status) == ("P", None, None)
    assert error.to_dict() == {
        "code": "publication_state",
        "message": "promotion P has already ended",
        "promotion_id": "P",
    }


def test_an_amount_finer_than_its_currency_names_the_field() -> None:
    with pytest.raises(InvalidItemError) as raised:
        require_minor_unit(Decimal("1.999"), "PLN", item=2)
    assert raised.value.field == "amount"
    assert raised.value.fields["item"] == 2


def test_a_wrong_gtin_says_which_check_digit_was_expected() -> None:
    with pytest.raises(InvalidGtinError) as raised:
        require_valid_gtin("5901234123450", sku="MLK-1")
    assert (raised.value.sku, raised.value.gtin) == ("MLK-1", "5901234123450")
    assert raised.value.expected_check_digit == 7
    with pytest.raises(InvalidGtinError) as short:
        require_valid_gtin("123", sku="MLK-1")
    assert short.value.expected_check_digit is None


def test_an_unknown_reference_names_its_kind_and_id() -> None:
    catalogue = Catalogue(products=(), stores=(), rules=(), currency="PLN")
    with pytest.raises(UnknownSkuError) as raised:
        catalogue.product("MLK-9")
    assert (raised.value.kind, raised.value.id) == ("sku", "MLK-9")


def test_the_api_error_json_keeps_its_shape(api: Api) -> None:
    response = api.client.get("/api/v1/publications/999999", headers=api.headers("pricing"))
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "no publication 999999",
        "entity": "publication",
        "key": "999999",
    }
