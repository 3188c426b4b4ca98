"""Errors of the BLE transport, under `gateways.errors.GatewayError`.

    GatewayError                      gateways/errors.py
    +-- BleError                      the BLE transport could not do what was asked
        +-- UnknownLabelError         no BLE address known for that label
        +-- BleConnectError           the label could not be reached after every attempt
        +-- MalformedGattValueError   a label sent bytes that are not what the spec says
        +-- ControlPointRefusedError  the label answered a control point command with Error
        +-- TransferFailedError       the frame could not be moved to the label
        +-- AssociationFailedError    a label could not be configured
        +-- UnexpectedResponseError   a label answered a command with the wrong response
        +-- FrameWaitingError         a label holds a frame it was not told to carry out
        +-- PairingCodeError          a label's printed pairing code cannot be read

Each carries the label's BLE `address` (and `label_id` where known) in `EslError.fields`;
a refusal carries the ESL error code as `reason`, a `ReasonCode`. `final` says that
sending the same frame again cannot succeed (`gateways.ble.esl_service.FINAL_ESL_ERRORS`
and `FINAL_TRANSFER_ERRORS` list the refusals that are; an unknown label is too); every
other error may pass on a later try. One raised by a
command without a frame after the label carried out a frame it held carries that frame's
signed answer as `carried_out_answer`.
"""

from __future__ import annotations

from gateways.ble.esl_service import FINAL_ESL_ERRORS, FINAL_TRANSFER_ERRORS, TransferAttError
from gateways.errors import GatewayError
from gateways.protocol import ReasonCode

__all__ = [
    "AssociationFailedError",
    "BleConnectError",
    "BleError",
    "ControlPointRefusedError",
    "FrameWaitingError",
    "MalformedGattValueError",
    "PairingCodeError",
    "TransferFailedError",
    "UnexpectedResponseError",
    "UnknownLabelError",
]


class BleError(GatewayError):
    code = "ble_error"
    # Set when a command without a frame failed after the label carried out a whole
    # frame it held (`BleGateway.command`): the label's signed answer to that frame,
    # which its caller still owes the controller.
    carried_out_answer: bytes | None = None
    # Sending the same frame again cannot succeed (module docstring).
    final: bool = False


class UnknownLabelError(BleError):
    code = "ble_unknown_label"
    final = True  # until the label is provisioned here

    def __init__(self, *, label_id: str) -> None:
        super().__init__(f"no BLE address known for label {label_id}", label_id=label_id)


class BleConnectError(BleError):
    code = "ble_connect_failed"

    def __init__(self, *, address: str, attempts: int, reason: str) -> None:
        super().__init__(
            f"cannot connect to {address} after {attempts} attempt(s): {reason}",
            address=address,
            attempts=attempts,
            reason=reason,
        )


class MalformedGattValueError(BleError):
    code = "ble_malformed_value"

    def __init__(self, *, what: str, value: bytes) -> None:
        super().__init__(f"malformed {what}: {value.hex()}", what=what, value=value.hex())


class ControlPointRefusedError(BleError):
    """The ESL answered Error; `reason` is the ESL error code (same values as ReasonCode)."""

    code = "ble_command_refused"

    def __init__(self, *, address: str, command: str, reason: ReasonCode) -> None:
        super().__init__(
            f"{address} refused {command}: {reason.name}",
            address=address,
            command=command,
            reason=reason,
        )
        self.reason = reason
        self.final = reason in FINAL_ESL_ERRORS


class TransferFailedError(BleError):
    """`refusal`: the Frame Transfer error the label refused the frame with, if it did."""

    code = "ble_transfer_failed"

    def __init__(
        self, *, address: str, offset: int, reason: str, refusal: TransferAttError | None = None
    ) -> None:
        super().__init__(
            f"frame transfer to {address} stopped at byte {offset}: {reason}",
            address=address,
            offset=offset,
            reason=reason,
        )
        self.refusal = refusal
        self.final = refusal in FINAL_TRANSFER_ERRORS


class AssociationFailedError(BleError):
    code = "ble_association_failed"

    def __init__(self, *, address: str, reason: str) -> None:
        super().__init__(f"cannot associate {address}: {reason}", address=address, reason=reason)


class UnexpectedResponseError(BleError):
    code = "ble_unexpected_response"

    def __init__(self, *, address: str, command: str, response: str) -> None:
        super().__init__(
            f"{address} answered {command} with {response}",
            address=address,
            command=command,
            response=response,
        )


class FrameWaitingError(BleError):
    """The label holds a whole frame this driver did not send (or no longer knows) and
    has not carried it out: a command without a frame would make it refuse that frame,
    so none was sent. The frame's own sender finishes it by sending it again (the
    transfer resumes at its end)."""

    code = "ble_frame_waiting"

    def __init__(self, *, address: str, command: str, length: int) -> None:
        super().__init__(
            f"{address} holds a {length}-byte frame not yet carried out; {command} not sent "
            "so as not to cost it (sending that frame again finishes it)",
            address=address,
            command=command,
            length=length,
        )


class PairingCodeError(BleError):
    code = "ble_pairing_code"

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"unreadable pairing code: {reason}", reason=reason)
