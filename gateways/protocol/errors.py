"""Errors of the label wire protocol.

    EslError (pricing/errors.py)
    +-- ProtocolError             gateways/protocol/: bytes that are not a frame we accept
        +-- FrameRejectedError         a frame or response refused, with its `reason`
                                  (a `ReasonCode`, the code a label nacks with), and the
                                  `label_id` / `sequence` when the header could be read
        +-- ProvisioningRejectedError  a provisioning file with bad entries (`problems`)

A label turns `FrameRejectedError` into a nack carrying `reason`; the controller gets the same
exception when a response does not verify (a forged acknowledgement, for example).
"""

from __future__ import annotations

from gateways.protocol.reasons import ReasonCode
from pricing.errors import EslError

__all__ = ["FrameRejectedError", "ProtocolError", "ProvisioningRejectedError"]


class ProtocolError(EslError):
    """Bytes on the wire that do not form a frame this side accepts."""

    code = "protocol_error"


class FrameRejectedError(ProtocolError):
    """A frame refused for `reason`; `label_id`/`sequence` are None when unreadable."""

    code = "frame_rejected"

    def __init__(
        self,
        reason: ReasonCode,
        detail: str = "",
        *,
        label_id: str | None = None,
        sequence: int | None = None,
    ) -> None:
        message = f"frame rejected: {reason.name.lower()}" + (f" ({detail})" if detail else "")
        super().__init__(
            message, reason=reason.name.lower(), detail=detail, label_id=label_id, sequence=sequence
        )
        self.reason = reason
        self.detail = detail
        self.label_id = label_id
        self.sequence = sequence


class ProvisioningRejectedError(ProtocolError):
    """A provisioning file that cannot be used: every bad label as {"line", "reason"}."""

    code = "provisioning_rejected"

    def __init__(self, message: str, *, problems: list[dict[str, object]]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems
