"""The one error root of the whole system, and the pricing engine's errors.

`EslError` lives here because `pricing` is the bottom of the dependency graph: every
other package (`rendering`, `gateways`, `firmware_sim`, `esl`) may import it, and this
package imports nothing of ours.

    EslError                      root: `except EslError` catches everything we raise
    +-- PricingError              pricing/: bad money, prices, promotions, windows
    +-- RenderingError            rendering/errors.py
    +-- ProtocolError             gateways/protocol/errors.py
    +-- GatewayError              gateways/errors.py
    +-- StoreOfRecordError        esl/errors.py (database, imports, publications)

Each error carries structured fields (`code`, plus whatever the subclass adds) so the API
layer can turn it into a 4xx body without parsing messages.
"""

from __future__ import annotations

__all__ = ["EslError", "PricingError"]


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
