"""The one error root of the whole system, and the pricing engine's errors.

`EslError` lives here because `pricing` is the bottom of the dependency graph: every
other package (`rendering`, `gateways`, `firmware_sim`, `esl`) may import it, and this
package imports nothing of ours.

    EslError                      root: `except EslError` catches everything we raise
    +-- PricingError              pricing/: bad money, prices, promotions, windows
    |   +-- InvalidAmountError            not a finite decimal (floats are refused too)
    |   |   +-- AmountTooLargeError       more digits than a Decimal holds once rounded
    |   +-- NegativeAmountError           money below zero
    |   +-- UnknownCurrencyError          not an ISO 4217 code the engine knows
    |   +-- CurrencyMismatchError         PLN + EUR
    |   +-- NonPositivePriceError         a price rule of zero or less
    |   +-- PercentOutOfRangeError        percent off outside (0, 100]
    |   +-- InvalidPromotionError         a promotion missing what its kind needs, or given more
    |   +-- PromotionPriceAboveRegularError   a "reduction" that would raise the price
    |   +-- PromotionSavesNothingError    a multi-buy or card price costing what the shelf does
    |   +-- EmptyValidityWindowError      valid_from >= valid_until
    |   +-- NaiveDatetimeError            a datetime without a timezone
    |   +-- InstantOutOfRangeError        an instant whose UTC falls outside years 1-9999
    |   +-- UnknownUnitError              a net-content unit outside g/kg/ml/l/m/pcs
    |   +-- InvalidProductError           product facts that cannot be true
    |   |   +-- InvalidGtinError          a GTIN of the wrong length or check digit
    |   +-- ScopeConflictError            a price rule scoped to a zone and a store at once
    |   +-- OverlappingWindowError        two rules in one scope valid at the same instant
    |   +-- DuplicateIdError              two rules/promotions/products/stores with one id
    |   +-- UnknownReferenceError         a rule naming a SKU, store or zone that is not there
    |   |   +-- UnknownSkuError
    |   |   +-- UnknownStoreError
    |   +-- NoApplicablePriceError        no rule applies to (SKU, channel, store, instant)
    |   +-- LedgerOrderError              an append that would rewrite the past
    |   +-- UnsupportedLocaleError        a label language the engine cannot write
    +-- RenderingError            rendering/errors.py
    +-- ProtocolError             gateways/protocol/errors.py
    +-- GatewayError              gateways/errors.py
    +-- StoreOfRecordError        esl/errors.py (database, imports, publications)
    +-- PipelineError             esl/pipeline/errors.py
    +-- QueryValueError           esl/api/errors.py: a query parameter the API refuses
    +-- DurationError             esl/audit/durations.py: not a duration like `30m`
    +-- AuditInstantError         esl/audit/gather.py: an audit of an instant not yet come
    +-- SettingsFileError         esl/settings.py: ESL_ENV_FILE names no readable file
    +-- UnknownSettingError       esl/settings.py: ESL_ENV_FILE sets an ESL_ name no setting has
    +-- DemoOutputInUseError      esl/demo/output_lock.py: another demo uses --out

Each error carries structured fields (`code`, plus whatever the subclass adds) so the API
layer can turn it into a 4xx body without parsing messages.
"""

from __future__ import annotations

__all__ = [
    "AmountTooLargeError",
    "CurrencyMismatchError",
    "DuplicateIdError",
    "EmptyValidityWindowError",
    "EslError",
    "InstantOutOfRangeError",
    "InvalidAmountError",
    "InvalidGtinError",
    "InvalidProductError",
    "InvalidPromotionError",
    "LedgerOrderError",
    "NaiveDatetimeError",
    "NegativeAmountError",
    "NoApplicablePriceError",
    "NonPositivePriceError",
    "OverlappingWindowError",
    "PercentOutOfRangeError",
    "PricingError",
    "PromotionPriceAboveRegularError",
    "PromotionSavesNothingError",
    "ScopeConflictError",
    "UnknownCurrencyError",
    "UnknownReferenceError",
    "UnknownSkuError",
    "UnknownStoreError",
    "UnknownUnitError",
    "UnsupportedLocaleError",
]


class EslError(Exception):
    """Root of every error this project raises on purpose."""

    code: str = "esl_error"

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, object] = fields

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.fields}


class PricingError(EslError):
    """A price, promotion or money value that the engine refuses."""

    code = "pricing_error"


class InvalidAmountError(PricingError):
    code = "invalid_amount"


class AmountTooLargeError(InvalidAmountError):
    """An `amount` of `currency` with more digits, rounded to its minor unit, than the
    decimal context's precision (`digits`, 28 by default: `Money.of("1" * 27, "PLN")`
    is 29 digits with its grosze). `decimal.InvalidOperation` escaped before; the API
    and the files refuse such numbers first, but `Money.of` is the engine's own door."""

    code = "amount_too_large"


class NegativeAmountError(PricingError):
    code = "negative_amount"


class UnknownCurrencyError(PricingError):
    code = "unknown_currency"


class CurrencyMismatchError(PricingError):
    code = "currency_mismatch"


class NonPositivePriceError(PricingError):
    code = "non_positive_price"


class PercentOutOfRangeError(PricingError):
    code = "percent_out_of_range"


class InvalidPromotionError(PricingError):
    code = "invalid_promotion"


class PromotionPriceAboveRegularError(PricingError):
    code = "promotion_price_above_regular"


class PromotionSavesNothingError(PricingError):
    """A conditional offer (multi-buy, loyalty price) whose unit costs what a regular
    price it can meet does: its badge would announce an offer that saves nothing, a
    misleading practice (Directive 2005/29/EC). `promotion_id`, `sku`, `rule_id`,
    `promotion_price`, `regular_price`."""

    code = "promotion_saves_nothing"


class EmptyValidityWindowError(PricingError):
    code = "empty_validity_window"


class NaiveDatetimeError(PricingError):
    code = "naive_datetime"


class InstantOutOfRangeError(PricingError):
    """An instant written with an offset that puts it outside the calendar in UTC
    (`9999-12-31T23:59:59-01:00` is year 10000): no datetime can hold it."""

    code = "instant_out_of_range"


class UnknownUnitError(PricingError):
    code = "unknown_unit"


class InvalidProductError(PricingError):
    code = "invalid_product"


class InvalidGtinError(InvalidProductError):
    """`sku`, `gtin`, `expected_check_digit` (None when the length is wrong)."""

    code = "invalid_gtin"

    def __init__(
        self,
        message: str,
        *,
        sku: str,
        gtin: str,
        expected_check_digit: int | None,
        **fields: object,
    ) -> None:
        super().__init__(
            message, sku=sku, gtin=gtin, expected_check_digit=expected_check_digit, **fields
        )
        self.sku = sku
        self.gtin = gtin
        self.expected_check_digit = expected_check_digit


class ScopeConflictError(PricingError):
    code = "scope_conflict"


class OverlappingWindowError(PricingError):
    code = "overlapping_window"


class DuplicateIdError(PricingError):
    code = "duplicate_id"


class UnknownReferenceError(PricingError):
    """Nothing of `kind` ("sku", "store", "zone", "channel", "promotion", ...) with `id`."""

    code = "unknown_reference"

    def __init__(self, message: str, *, kind: str, id: str, **fields: object) -> None:
        super().__init__(message, kind=kind, id=id, **fields)
        self.kind = kind
        self.id = id


class UnknownSkuError(UnknownReferenceError):
    code = "unknown_sku"


class UnknownStoreError(UnknownReferenceError):
    code = "unknown_store"


class NoApplicablePriceError(PricingError):
    code = "no_applicable_price"


class LedgerOrderError(PricingError):
    code = "ledger_order"


class UnsupportedLocaleError(PricingError):
    code = "unsupported_locale"
